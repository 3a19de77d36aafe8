import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as main from '../src/index.js';

describe('attribute constants', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('| attribute | where | becomes |'), readme.indexOf('## Options'));
  /** The attribute keys the README's table lists, in its order. */
  const listed = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);

  const constants: Array<[name: keyof typeof main, key: string]> = [
    ['ATTR_CIF_CONVERSATION_ID', 'cif.conversation.id'],
    ['ATTR_CIF_PROVIDER_SESSION_ID', 'cif.provider_session.id'],
    ['ATTR_CIF_CLIENT_SESSION_ID', 'cif.client_session.id'],
    ['ATTR_CIF_PARTICIPANT_ID', 'cif.participant.id'],
    ['ATTR_CIF_KPI_NAME', 'cif.kpi.name'],
    ['ATTR_CIF_KPI_REASON', 'cif.kpi.reason'],
    ['ATTR_CIF_KPI_ADDITIONAL_DATA', 'cif.kpi.additional_data'],
    ['ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION', 'cif.kpi.notification_response_action'],
    ['ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID', 'cif.kpi.external_correlation_id'],
    ['CIF_KPI_CUSTOM_PREFIX', 'cif.kpi.custom.'],
  ];
  constants.forEach(([name, key]) =>
    it(`exports ${name} from the main entry as '${key}'`, () => expect(main[name]).to.equal(key)),
  );

  it("lists in the README's table every key the constants name, and no other", () => {
    expect(listed).to.deep.equal(constants.map(([, key]) => (key.endsWith('.') ? `${key}<column>` : key)));
  });
});
