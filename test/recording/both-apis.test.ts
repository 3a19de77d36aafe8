// recordKpiEvent and emitKpiEvent given the same input by an untyped caller (an odd time, values
// of other types), and a logger whose provider has a processor of its own after the exporting one.
import { context, diag, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifKpiEventDetails } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const T1 = Date.parse('2026-11-25T10:15:30.123Z');
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** What one authoring API's exporter sent, counted and said. */
interface Outcome {
  events: unknown[];
  invalidTimestamps: number;
  lines: string[];
}

/** Records one KPI event with recordKpiEvent on a span of the SDK wired as the README says, under a CIF session. */
async function throughSpan(record: (span: Span) => void): Promise<Outcome> {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
  const lines = captureLevels();
  withCifSession(CALL, () => {
    const span = provider.getTracer('softphone').startSpan('call');
    record(span);
    span.end();
  });
  await provider.forceFlush();
  await exporter.forceFlush();
  diag.disable();
  const stats = exporter.getStats();
  expectBalanced(stats);
  return { events: client.payloads().flatMap((data) => data.events), invalidTimestamps: stats.dropped.invalid_timestamp, lines };
}

/** Emits one KPI event with emitKpiEvent on a logger of the SDK wired as the README says, under a CIF session. */
async function throughLogger(emit: (logger: ReturnType<LoggerProvider['getLogger']>) => void): Promise<Outcome> {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
  const lines = captureLevels();
  withCifSession(CALL, () => emit(provider.getLogger('softphone')));
  await provider.forceFlush();
  await exporter.forceFlush();
  diag.disable();
  const stats = exporter.getStats();
  expectBalanced(stats);
  return { events: client.payloads().flatMap((data) => data.events), invalidTimestamps: stats.dropped.invalid_timestamp, lines };
}

describe('recordKpiEvent and emitKpiEvent given the same odd time', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  // Numbers and Dates the SDKs take as times, none of them one Dataverse can store.
  const times: Array<[what: string, time: () => number | Date]> = [
    ['a time in nanoseconds, taken for milliseconds', () => T1 * 1e6],
    ['NaN, as from a failed Date.parse', () => Number.NaN],
    ['Infinity', () => Infinity],
    ['an invalid Date, as new Date(garbage) gives', () => new Date(Number.NaN)],
  ];
  times.forEach(([what, time]) =>
    it(`counts in dropped.invalid_timestamp a KPI event given to emitKpiEvent at ${what}, as recordKpiEvent counts it, never sending it at another time`, async () => {
      const recorded = await throughSpan((span) => recordKpiEvent(span, 'CallAccepted', undefined, time()));
      const emitted = await throughLogger((logger) => emitKpiEvent(logger, 'CallAccepted', undefined, { time: time() }));
      expect(recorded.events, 'recordKpiEvent sent').to.deep.equal([]);
      expect(recorded.invalidTimestamps, 'recordKpiEvent counted').to.equal(1);
      expect({ sent: emitted.events, invalid_timestamp: emitted.invalidTimestamps }, 'emitKpiEvent').to.deep.equal({ sent: [], invalid_timestamp: 1 });
    }),
  );
});

describe('recordKpiEvent and emitKpiEvent given details of other types by an untyped caller', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  const details: Array<[what: string, details: CifKpiEventDetails, field: string, expected: unknown]> = [
    ['additionalData given as an object', { additionalData: { queue: 'billing', waitSeconds: 3 } as never }, 'additionalData', '{"queue":"billing","waitSeconds":3}'],
    ['additionalData given as an array of mixed values', { additionalData: ['billing', 3] as never }, 'additionalData', '["billing",3]'],
    ['a customData value given as an object', { customData: { msdyn_customattribute1: { tier: 'gold' } as never } }, 'customData', [{ attribute: 'msdyn_customattribute1', value: '{"tier":"gold"}' }]],
  ];
  details.forEach(([what, given, field, expected]) =>
    it(`sends ${what} as JSON text with recordKpiEvent, as emitKpiEvent sends it`, async () => {
      const emitted = await throughLogger((logger) => emitKpiEvent(logger, 'CallAccepted', given));
      expect((emitted.events[0] as Record<string, unknown>)[field], 'emitKpiEvent').to.deep.equal(expected);
      const recorded = await throughSpan((span) => recordKpiEvent(span, 'CallAccepted', given));
      expect((recorded.events[0] as Record<string, unknown>)[field], 'recordKpiEvent').to.deep.equal(expected);
    }),
  );
});

describe('emitKpiEvent on a logger whose provider has a processor of its own after the exporting one', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  it('does not tell the user a KPI event it delivered was not emitted, when a processor after the exporting one throws', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
    // Another library's processor, registered last, with a bug of its own.
    const buggy: LogRecordProcessor = {
      onEmit() {
        throw new Error('audit processor bug');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter }), buggy] }));
    const lines = captureLevels();
    expect(() => withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted'))).not.to.throw();
    await provider.forceFlush();
    await exporter.forceFlush();
    diag.disable();
    expect(exporter.getStats().kpiEventsDelivered, 'delivered').to.equal(1);
    expect(lines.filter((line) => line.includes("KPI event 'CallAccepted' not emitted")), 'lines').to.deep.equal([]);
  });
});
