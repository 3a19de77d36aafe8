// The session processors and spans or log records that already carry an id the mapping reads as
// absent: an empty value, or one inherited from a `__proto__` map a server answer held.
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifAnalyticsData } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** What came of one KPI event: the identity of each call, and the drops of the mapping. */
interface Outcome {
  sent: Array<Omit<CifAnalyticsData, 'events'>>;
  dropped: Record<string, number>;
  lines: string[];
}

function outcome(client: RecordingCifClient, dropped: Record<string, number>, lines: string[]): Outcome {
  return {
    sent: client.payloads().map(({ events: _events, ...identity }) => identity),
    dropped: Object.fromEntries(Object.entries(dropped).filter(([, count]) => count > 0)),
    lines,
  };
}

/** Emits one record with the logger of the SDK wired as the README says, under the CIF session CALL. */
async function emitUnderSession(attributes: Record<string, unknown>): Promise<Outcome> {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
  const lines = captureLevels();
  withCifSession(CALL, () => provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes: attributes as never }));
  await provider.forceFlush();
  await exporter.forceFlush();
  diag.disable();
  const stats = exporter.getStats();
  expectBalanced(stats);
  return outcome(client, stats.dropped, lines);
}

describe('CifSessionLogRecordProcessor and log attributes parsed from a server answer', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  // JSON.parse makes `__proto__` an own key; the logs SDK copies it onto the record's attributes, where it sets their
  // prototype. The mapping reads own attributes only (docs/mapping.md), so the ids in that map are none.
  const answers: Array<[what: string, json: string]> = [
    ['the conversation id', '{"__proto__": {"cif.conversation.id": "forged"}}'],
    ['both ids the docs require', '{"__proto__": {"cif.conversation.id": "forged", "cif.provider_session.id": "forged"}}'],
  ];
  answers.forEach(([what, json]) =>
    it(`stamps the session's ids on a record whose attributes hold a __proto__ map with ${what}, and sends its KPI event with them`, async () => {
      const { sent, dropped } = await emitUnderSession(JSON.parse(json) as Record<string, unknown>);
      // Shown together: with both ids in the map, the record is no CIF record, and its KPI event is counted nowhere.
      expect({ sent, dropped }).to.deep.equal({ sent: [CALL], dropped: {} });
    }),
  );
});

describe('the session processors and an id the span or record holds as an empty value', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  // The mapping leaves out empty arrays, empty maps and empty byte arrays as it leaves out '' (docs/mapping.md, Values);
  // the processors fill an id held as '' (docs/session-context.md), so the same goes for these.
  const empties: Array<[what: string, value: unknown]> = [
    ['an empty array', []],
    ['an empty map', {}],
    ['an empty byte array', new Uint8Array(0)],
  ];
  empties.forEach(([what, value]) =>
    it(`fills the conversation id of a log record emitted with it as ${what}, as one emitted as ''`, async () => {
      const result = await emitUnderSession({ 'cif.conversation.id': value });
      expect(result.sent).to.deep.equal([CALL]);
    }),
  );

  it('fills the conversation id of a span started with it as an empty array, as one started with it as ""', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
    const lines = captureLevels();
    withCifSession(CALL, () => {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: { 'cif.conversation.id': [] as string[] } });
      recordKpiEvent(span, 'CallAccepted');
      span.end();
    });
    await provider.forceFlush();
    await exporter.forceFlush();
    diag.disable();
    expectBalanced(exporter.getStats());
    expect(outcome(client, exporter.getStats().dropped, lines).sent).to.deep.equal([CALL]);
  });
});
