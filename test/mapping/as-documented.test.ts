import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY, event, makeSpan } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
/** A map attribute (OpenTelemetry JS 3.x) that refers to itself, which JSON cannot write. */
const CYCLIC: Record<string, unknown> = {};
CYCLIC['self'] = CYCLIC;

function exportOnce(exporter: CifSpanExporter, spans: ReturnType<typeof makeSpan>[]): Promise<void> {
  return new Promise((resolve) => exporter.export(spans, () => resolve()));
}

// docs/mapping.md
describe('how spans become KPI events, as docs/mapping.md says', () => {
  afterEach(() => diag.disable());

  it('warns of a CIF span missing its ids once per exporter: each of two exporters warns once', async () => {
    const messages = captureDiag();
    const lacking = () => makeSpan({ attributes: { 'cif.kpi.reason': 'x' }, events: [event('A', T1)] });
    const exporters = [0, 1].map(() => shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), outbox: false })));
    for (const exporter of exporters) {
      await exportOnce(exporter, [lacking()]);
      await exportOnce(exporter, [lacking()]);
    }
    const warning =
      "opentelemetry-exporter-cif KPI events dropped: span 'call' has no cif.conversation.id and cif.provider_session.id. Counted in getStats().dropped.missing_identity; shown once.";
    expect(messages).to.deep.equal([warning, warning]);
    expect(exporters.map((exporter) => exporter.getStats().dropped.missing_identity)).to.deep.equal([2, 2]);
  });

  it("counts a span's value JSON cannot write once for each of its KPI events, also for one that has a value of its own, which is sent", async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const span = makeSpan({
      attributes: { ...IDENTITY, 'cif.kpi.additional_data': CYCLIC as never },
      events: [event('A', T1), event('B', T2, { 'cif.kpi.additional_data': 'own' })],
    });
    await exportOnce(exporter, [span]);
    expect(client.payloads().map((payload) => payload.events)).to.deep.equal([
      [{ kpiEventName: 'A', eventTimestamp: T1 }],
      [{ kpiEventName: 'B', eventTimestamp: T2, additionalData: 'own' }],
    ]);
    expect(exporter.getStats().droppedFields.unserializable_value).to.equal(2);
  });
});
