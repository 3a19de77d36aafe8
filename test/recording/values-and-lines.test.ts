// recordKpiEvent and emitKpiEvent write a value the trace SDK refuses as JSON text, the same way
// (src/recording/kpi-event-attributes.ts `attributeValue`); emitKpiEvent's `time` past what a Date
// holds is the record's observedTimestamp too, and a valid one is not; a throw after the KPI event
// was handed over is said as one that "may not be" written. Through the real trace and logs SDKs,
// wired as the README says.
import { context, diag, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifKpiEventDetails } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import type { kpiEventAttributes } from '../../src/recording/kpi-event-attributes.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** The KPI events one authoring API's exporter sent, its unserializable_value count, and the library's diag lines. */
interface Outcome {
  events: Array<Record<string, unknown>>;
  unserializable: number;
  invalidTimestamps: number;
  lines: string[];
}

type Api = 'recordKpiEvent' | 'emitKpiEvent';
const APIS: Api[] = ['recordKpiEvent', 'emitKpiEvent'];

/** Writes the KPI event 'CallAccepted' with `details` (and `time`, if given) through `api`, under a CIF session, and its SDK wired as the README says. */
async function send(api: Api, details?: CifKpiEventDetails, time?: number | Date): Promise<Outcome> {
  const lines = captureLevels();
  const client = new RecordingCifClient();
  let exporter: CifSpanExporter | CifLogRecordExporter;
  let provider: BasicTracerProvider | LoggerProvider;
  if (api === 'recordKpiEvent') {
    exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const tracers = (provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] })));
    withCifSession(CALL, () => {
      const span = tracers.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallAccepted', details, time);
      span.end();
    });
  } else {
    exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
    const loggers = (provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] })));
    withCifSession(CALL, () => emitKpiEvent(loggers.getLogger('softphone'), 'CallAccepted', details, time === undefined ? undefined : { time }));
  }
  await provider.forceFlush();
  await exporter.forceFlush();
  diag.disable();
  const stats = exporter.getStats();
  expectBalanced(stats);
  const events = client.payloads().flatMap((data) => data.events) as unknown as Array<Record<string, unknown>>;
  return { events, unserializable: stats.droppedFields.unserializable_value, invalidTimestamps: stats.dropped.invalid_timestamp, lines };
}

/** The value of custom column msdyn_customattribute1 in `event`. */
const customValue = (event: Record<string, unknown> | undefined): unknown =>
  (event?.['customData'] as Array<{ attribute: string; value: unknown }> | undefined)?.find((item) => item.attribute === 'msdyn_customattribute1')?.value;

describe('recordKpiEvent and emitKpiEvent given values the trace SDK refuses', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  // A Map has no own keys, which the mapping writes as none: the JSON of its entries is written
  // instead, which keys of any kind (1 and '1', an object with no string form) can neither merge
  // nor fail; a Date (when a call was accepted, say) is its ISO time.
  const sent: Array<[what: string, value: unknown, text: string]> = [
    ['a Map', new Map([['tier', 'gold']]), '[["tier","gold"]]'],
    ["a Map whose keys 1 and '1' differ", new Map<unknown, string>([[1, 'one'], ['1', 'uno']]), '[[1,"one"],["1","uno"]]'],
    ['a Map whose key has no string form', new Map([[Object.create(null) as object, 'gold']]), '[[{},"gold"]]'],
    ['a Date', new Date(Date.parse('2026-11-25T10:15:30.123Z')), '2026-11-25T10:15:30.123Z'],
  ];
  APIS.forEach((api) =>
    sent.forEach(([what, value, text]) =>
      it(`${api} sends ${what} as additionalData and as a customData value as ${text}`, async () => {
        const { events, lines } = await send(api, { additionalData: value as never, customData: { msdyn_customattribute1: value as never } });
        expect(events.map((event) => [event['additionalData'], customValue(event)])).to.deep.equal([[text, text]]);
        expect(lines.filter((line) => line.startsWith('error'))).to.deep.equal([]);
      }),
    ),
  );

  // An untyped caller's object or mixed array: sent as JSON text by both.
  const objects: Array<[what: string, details: CifKpiEventDetails, field: string, expected: unknown]> = [
    ['additionalData given as an object', { additionalData: { queue: 'billing', waitSeconds: 3 } as never }, 'additionalData', '{"queue":"billing","waitSeconds":3}'],
    ['additionalData given as an array of mixed values', { additionalData: ['billing', 3] as never }, 'additionalData', '["billing",3]'],
    ['a customData value given as an object', { customData: { msdyn_customattribute1: { tier: 'gold' } as never } }, 'customData', [{ attribute: 'msdyn_customattribute1', value: '{"tier":"gold"}' }]],
  ];
  objects.forEach(([what, given, field, expected]) =>
    it(`sends ${what} as JSON text with recordKpiEvent, as emitKpiEvent sends it`, async () => {
      for (const api of APIS) expect((await send(api, given)).events[0]?.[field], api).to.deep.equal(expected);
    }),
  );

  // A value with no text is never handed to an SDK: the logs SDK reads what it is given, and one
  // whose getter throws there would lose the whole KPI event. Both APIs send the KPI event without
  // it, and say so once, then at DEBUG.
  const unwritable: Array<[what: string, value: () => unknown]> = [
    ['an object whose getter throws', () => ({ queue: 'billing', get waitSeconds(): number { throw new Error('getter trap'); } })],
    ['an object holding itself', () => { const value: Record<string, unknown> = { queue: 'billing' }; value['self'] = value; return value; }],
    ['a Proxy whose every trap throws', () => new Proxy({}, { get: () => { throw new Error('get trap'); }, ownKeys: () => { throw new Error('keys trap'); }, getPrototypeOf: () => { throw new Error('prototype trap'); } })],
    ['a revoked Proxy', () => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; }],
    ['an invalid Date', () => new Date(Number.NaN)],
    ['a function', () => () => 'billing'],
  ];
  APIS.forEach((api) =>
    unwritable.forEach(([what, value]) =>
      it(`${api} sends the KPI event without an additionalData or customData value given as ${what}, and says so once`, async () => {
        const first = await send(api, { reason: 'inbound', additionalData: value() as never });
        const second = await send(api, { reason: 'inbound', customData: { msdyn_customattribute1: value() as never } });
        expect([...first.events, ...second.events]).to.deep.equal([
          { kpiEventName: 'CallAccepted', eventTimestamp: first.events[0]?.['eventTimestamp'], kpiEventReason: 'inbound' },
          { kpiEventName: 'CallAccepted', eventTimestamp: second.events[0]?.['eventTimestamp'], kpiEventReason: 'inbound' },
        ]);
        // At WARN or DEBUG: the warning is once per page, and other tests may have given it (below).
        const told = (lines: string[]) => lines.filter((line) => line.includes('has no text')).map((line) => line.replace(/^(warn|debug) /, '').replace(/\. Shown once\.$/, '.'));
        expect([told(first.lines), told(second.lines)]).to.deep.equal([
          ["KPI event 'CallAccepted': `additionalData` has no text to send; it is left out."],
          ["KPI event 'CallAccepted': `customData.msdyn_customattribute1` has no text to send; it is left out."],
        ]);
      }),
    ),
  );
  it('warns of the first details value with no text to send, and tells the later ones at DEBUG', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have given it.
    const url = new URL(`../../src/recording/kpi-event-attributes.ts?left-out-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { kpiEventAttributes: typeof kpiEventAttributes };
    const lines = captureLevels();
    const attributes = [
      copy.kpiEventAttributes('CallAccepted', { additionalData: Symbol('data') as never, customData: { msdyn_customattribute1: {} as never, msdyn_customattribute2: undefined as never } }),
      copy.kpiEventAttributes('CallHold', { reason: (() => 'hold') as never, customData: new Map([['msdyn_customattribute3', new Map()]]) as never }),
    ];
    expect(attributes).to.deep.equal([{ 'cif.kpi.name': 'CallAccepted' }, { 'cif.kpi.name': 'CallHold' }]);
    expect(lines).to.deep.equal([
      "warn KPI event 'CallAccepted': `additionalData` has no text to send; it is left out. Shown once.",
      "debug KPI event 'CallAccepted': `customData.msdyn_customattribute1` has no text to send; it is left out.",
      "debug KPI event 'CallHold': `reason` has no text to send; it is left out.",
      "debug KPI event 'CallHold': `customData.msdyn_customattribute3` has no text to send; it is left out.",
    ]);
  });

  // A key that names no detail (a payload field's name, or a typo) would else be lost unsaid, as plain JavaScript has no type to catch it.
  APIS.forEach((api) =>
    it(`${api} sends the KPI event without a details key that names no detail, and says which keys do`, async () => {
      const { events, lines } = await send(api, { kpiEventReason: 'inbound', reason: 'hold', additonalData: 'x' } as never);
      expect(events).to.deep.equal([{ kpiEventName: 'CallAccepted', eventTimestamp: events[0]?.['eventTimestamp'], kpiEventReason: 'hold' }]);
      // At WARN or DEBUG: the warning is once per page, and other tests may have given it (below).
      expect(lines.filter((line) => line.includes('names no detail')).map((line) => line.replace(/^(warn|debug) /, '').replace(/\. Shown once\.$/, '.'))).to.deep.equal([
        "KPI event 'CallAccepted': `kpiEventReason` names no detail (reason, additionalData, notificationResponseAction, externalCorrelationId, customData); it is left out.",
      ]);
    }),
  );
  it('warns of the first details key that names no detail, and tells the later ones at DEBUG', async () => {
    const url = new URL(`../../src/recording/kpi-event-attributes.ts?no-detail-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { kpiEventAttributes: typeof kpiEventAttributes };
    const lines = captureLevels();
    const attributes = [
      copy.kpiEventAttributes('CallAccepted', { customData: { msdyn_customattribute1: 'gold' }, customdata: {} } as never),
      copy.kpiEventAttributes('CallHold', { externalCorrelationID: 'A-1' } as never),
      // Keys that cannot be listed: the details are read as before.
      copy.kpiEventAttributes('CallEnded', new Proxy({ reason: 'done' }, { ownKeys: () => { throw new Error('keys trap'); } })),
    ];
    expect(attributes).to.deep.equal([
      { 'cif.kpi.name': 'CallAccepted', 'cif.kpi.custom.msdyn_customattribute1': 'gold' },
      { 'cif.kpi.name': 'CallHold' },
      { 'cif.kpi.name': 'CallEnded', 'cif.kpi.reason': 'done' },
    ]);
    const known = '(reason, additionalData, notificationResponseAction, externalCorrelationId, customData)';
    expect(lines).to.deep.equal([
      `warn KPI event 'CallAccepted': \`customdata\` names no detail ${known}; it is left out. Shown once.`,
      `debug KPI event 'CallHold': \`externalCorrelationID\` names no detail ${known}; it is left out.`,
    ]);
  });

  // Numbers and Dates the SDKs take as times, none of them one Dataverse can store.
  const T1 = Date.parse('2026-11-25T10:15:30.123Z');
  const times: Array<[what: string, time: () => number | Date]> = [
    ['a time in nanoseconds, taken for milliseconds', () => T1 * 1e6],
    ['NaN, as from a failed Date.parse', () => Number.NaN],
    ['Infinity', () => Infinity],
    ['an invalid Date, as new Date(garbage) gives', () => new Date(Number.NaN)],
  ];
  times.forEach(([what, time]) =>
    it(`counts in dropped.invalid_timestamp a KPI event given to emitKpiEvent at ${what}, as recordKpiEvent counts it, never sending it at another time`, async () => {
      for (const api of APIS) {
        const { events, invalidTimestamps } = await send(api, undefined, time());
        expect({ sent: events, invalid_timestamp: invalidTimestamps }, api).to.deep.equal({ sent: [], invalid_timestamp: 1 });
      }
    }),
  );

  // Epoch milliseconds, as the docs take a number, but below 1e11 (before 1973) a performance.now()
  // reading: the SDKs draw the line elsewhere (the logs SDK at half the page's time origin, the trace
  // SDK at 0), which would send a time in 1990 as one in 2047, and one before 1753 as one Dataverse stores.
  const epochMillis: Array<[what: string, time: number, sent: string[], invalid: number]> = [
    ['a time an hour before the page loaded', T1 - 3_600_000, ['2026-11-25T09:15:30.123Z'], 0],
    ['a time in 1973, past 1e11', 1e11, ['1973-03-03T09:46:40.000Z'], 0],
    ['a time in 1966, -1e11', -1e11, ['1966-10-31T14:13:20.000Z'], 0],
    ['a time in 1990', Date.parse('1990-06-01T08:30:00.000Z'), ['1990-06-01T08:30:00.000Z'], 0],
    ['a time in 1700, which Dataverse cannot store', Date.parse('1700-01-01T00:00:00.000Z'), [], 1],
  ];
  epochMillis.forEach(([what, time, sent, invalid]) =>
    it(`takes a number given to either API as epoch milliseconds: ${what}`, async () => {
      for (const api of APIS) {
        const { events, invalidTimestamps } = await send(api, undefined, time);
        expect({ sent: events.map((event) => event.eventTimestamp), invalid_timestamp: invalidTimestamps }, api).to.deep.equal({ sent, invalid_timestamp: invalid });
      }
    }),
  );

  it('takes a number within 1e11 of 0 given to either API as a performance.now() reading, as OpenTelemetry reads one: a negative one too, from before the page loaded', async () => {
    for (const api of APIS) {
      for (const reading of [-(1e11 - 1), -1_500, 0, 2_000.5, 1e11 - 1]) {
        const { events } = await send(api, undefined, reading);
        const sent = events.map((event) => Date.parse(event.eventTimestamp as string));
        expect(sent, `${api} at ${reading}`).to.have.length(1);
        expect(Math.abs(sent[0]! - (performance.timeOrigin + reading)), `${api} at ${reading}`).to.be.below(2);
      }
    }
  });

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
      const emitted = await send('emitKpiEvent', details);
      const recorded = await send('recordKpiEvent', details);
      expect(customValue(recorded.events[0]), 'recordKpiEvent').to.equal(customValue(emitted.events[0])).and.to.be.a('string');
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
  // was emitted, and so does emitKpiEvent's with a valid time, a Date or an HrTime, for every
  // exporter of the provider (OTLP too).
  it('leaves the observed time of a record emitted with a valid time, a Date or an HrTime, to the logs SDK, as for a record the widget emits itself', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] }));
    const logger = provider.getLogger('softphone');
    const hourAgo = Date.now() - 3_600_000;
    logger.emit({ eventName: 'Own', attributes: { 'cif.kpi.name': 'Own' }, timestamp: new Date(hourAgo) });
    emitKpiEvent(logger, 'AsDate', undefined, { time: new Date(hourAgo) });
    emitKpiEvent(logger, 'AsHrTime', undefined, { time: [Math.floor(hourAgo / 1000), (hourAgo % 1000) * 1e6] });
    await provider.forceFlush();
    // Observed an hour after the time given: at emit.
    const observedLater = memory.getFinishedLogRecords().map((record) => [record.eventName, record.hrTimeObserved[0] * 1000 > hourAgo + 1_800_000]);
    expect(observedLater).to.deep.equal([
      ['Own', true],
      ['AsDate', true],
      ['AsHrTime', true],
    ]);
  });
  it('sets observedTimestamp only for a time past what a Date holds, at its edge too', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] }));
    const logger = provider.getLogger('softphone');
    for (const time of [8.64e15, -8.64e15, 8.64e15 + 1, -8.64e15 - 1]) emitKpiEvent(logger, String(time), undefined, { time });
    await provider.forceFlush();
    // The SDK stamps the time of emit, this century, where the record has no observedTimestamp of its own.
    expect(memory.getFinishedLogRecords().map((record) => [record.eventName, Math.abs(record.hrTimeObserved[0]) < 1e10])).to.deep.equal([
      ['8640000000000000', true],
      ['-8640000000000000', true],
      ['8640000000000001', false],
      ['-8640000000000001', false],
    ]);
  });
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
