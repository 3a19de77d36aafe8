// recordKpiEvent and emitKpiEvent write a value the trace SDK refuses as JSON text, the same way
// (src/recording/kpi-event-attributes.ts `attributeValue`); emitKpiEvent's `time` past what a Date
// holds is the record's observedTimestamp too, and a valid one is not; a throw after the KPI event
// was handed over is said as one that "may not be" written. Through the real trace and logs SDKs,
// wired as the README says.
import { context, diag, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifKpiEventDetails } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** The one KPI event an authoring API's exporter sent (`undefined` if none), and its unserializable_value count. */
interface Outcome {
  event: Record<string, unknown> | undefined;
  unserializable: number;
}

async function throughSpan(details: CifKpiEventDetails): Promise<Outcome> {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
  withCifSession(CALL, () => {
    const span = provider.getTracer('softphone').startSpan('call');
    recordKpiEvent(span, 'CallAccepted', details);
    span.end();
  });
  await provider.forceFlush();
  await exporter.forceFlush();
  const stats = exporter.getStats();
  expectBalanced(stats);
  return { event: client.payloads().flatMap((data) => data.events)[0] as Record<string, unknown> | undefined, unserializable: stats.droppedFields.unserializable_value };
}

async function throughLogger(details: CifKpiEventDetails): Promise<Outcome> {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
  withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', details));
  await provider.forceFlush();
  await exporter.forceFlush();
  const stats = exporter.getStats();
  expectBalanced(stats);
  return { event: client.payloads().flatMap((data) => data.events)[0] as Record<string, unknown> | undefined, unserializable: stats.droppedFields.unserializable_value };
}

describe('recordKpiEvent given values the trace SDK refuses', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  // A Map has no own keys, which the mapping writes as none: its entries are written instead.
  const maps: Array<[what: string, details: CifKpiEventDetails, field: 'additionalData' | 'customData']> = [
    ['additionalData given as a Map', { additionalData: new Map([['queue', 'billing']]) as never }, 'additionalData'],
    ['a customData value given as a Map', { customData: { msdyn_customattribute1: new Map([['tier', 'gold']]) as never } }, 'customData'],
  ];
  maps.forEach(([what, details, field]) =>
    it(`does not lose ${what} unsaid: it is sent as JSON text or counted in droppedFields`, async () => {
      const { event, unserializable } = await throughSpan(details);
      expect(event?.[field] !== undefined || unserializable > 0, `${field} sent or counted in droppedFields.unserializable_value; sent ${JSON.stringify(event)}`).to.equal(true);
    }),
  );

  // The logs SDK drops a value that is no AnyValue (a bigint, an object holding a Date or a Map, a
  // String object): both APIs write it as text first, so that both send the same.
  const values: Array<[what: string, value: unknown]> = [
    ['a bigint', 10n],
    ['an object holding a Date', { since: new Date(Date.parse('2026-11-25T10:15:30.123Z')) }],
    ['an object holding a Map', { tiers: new Map([['gold', 1]]) }],
    ['a String object', Object('billing')],
  ];
  values.forEach(([what, value]) =>
    it(`sends a customData value given as ${what} with recordKpiEvent as emitKpiEvent sends it`, async () => {
      const details = { customData: { msdyn_customattribute1: value as never } };
      const emitted = await throughLogger(details);
      const recorded = await throughSpan(details);
      expect(recorded.event?.['customData'], 'recordKpiEvent').to.deep.equal(emitted.event?.['customData']);
    }),
  );
});

describe('emitKpiEvent and recordKpiEvent saying what was written', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  // "may not be recorded" is for a throw out of addEvent() (a processor after the exporter's); details
  // whose getter throws before anything is handed over leave the KPI event certainly not recorded.
  it('says a KPI event whose details throw before it is written was not recorded, not that it may not be', () => {
    const lines = captureLevels();
    const provider = shutDownAfterTest(new BasicTracerProvider());
    const span: Span = provider.getTracer('softphone').startSpan('call');
    const details = Object.defineProperty({}, 'reason', { get: () => { throw new Error('reason trap'); } }) as CifKpiEventDetails;
    recordKpiEvent(span, 'CallHold', details);
    span.end();
    expect(lines.map((line) => line.replace(/ Error: .*/s, ''))).to.deep.equal(["error KPI event 'CallHold' not recorded"]);
  });

  // A record the widget emits itself with a timestamp gets the logs SDK's observed time, the time it
  // was emitted, and so does emitKpiEvent's, for every exporter of the provider (OTLP too).
  it('leaves the observed time of a record emitted with a valid time to the logs SDK, as for a record the widget emits itself', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] }));
    const logger = provider.getLogger('softphone');
    const hourAgo = new Date(Date.now() - 3_600_000);
    logger.emit({ eventName: 'Own', attributes: { 'cif.kpi.name': 'Own' }, timestamp: hourAgo });
    emitKpiEvent(logger, 'CallAccepted', undefined, { time: hourAgo });
    await provider.forceFlush();
    const [own, emitted] = memory.getFinishedLogRecords();
    const minute = (hr: readonly [number, number]) => Math.round(hr[0] / 60);
    expect(minute(emitted!.hrTimeObserved), 'observed minute of the emitted record').to.equal(minute(own!.hrTimeObserved));
  });
});
