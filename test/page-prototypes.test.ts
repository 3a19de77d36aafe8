import { context, diag, DiagLogLevel, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import {
  ATTR_CIF_CLIENT_SESSION_ID,
  ATTR_CIF_CONVERSATION_ID,
  ATTR_CIF_KPI_ADDITIONAL_DATA,
  ATTR_CIF_PARTICIPANT_ID,
  ATTR_CIF_PROVIDER_SESSION_ID,
  CifDelivery,
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  setCifSession,
  withCifSession,
  type CifAnalyticsData,
  type CifKpiEventDetails,
  type CifSpanExporterOptions,
} from '../src/index.js';
import { decode, encode } from '../src/delivery/outbox-store.js';
import type { CifCall } from '../src/types.js';
import { emitKpiEvent } from '../src/logs.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureDiag } from './helpers/diag.js';
import { logPipeline, spanPipeline } from './helpers/pipelines.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { IDENTITY, TRACE_GUID } from './helpers/spans.js';

/** Adds enumerable `properties` to `target` as old page libraries do, and returns how to take them away. */
function extend(target: object, properties: Record<string, unknown>): () => void {
  Object.assign(target, properties);
  return () => {
    for (const key of Object.keys(properties)) Reflect.deleteProperty(target, key);
  };
}

/** Exports one span with one KPI event through a batch processor to `client`; returns the exporter. */
async function exportOneKpiEvent(client: RecordingCifClient, options = {}, details?: CifKpiEventDetails): Promise<CifSpanExporter> {
  const exporter = new CifSpanExporter({ client, ...options });
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
  const span = provider.getTracer('widget').startSpan('call');
  span.setAttributes({ [ATTR_CIF_CONVERSATION_ID]: 'c1', [ATTR_CIF_PROVIDER_SESSION_ID]: 'p1' });
  recordKpiEvent(span, 'CallAccepted', details);
  span.end();
  await provider.forceFlush();
  return exporter;
}

describe('a page whose old libraries added enumerable properties to Object.prototype', () => {
  let restore: () => void = () => {};
  afterEach(() => {
    restore();
    diag.disable();
  });

  it('sends no KPI field that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { 'cif.kpi.reason': 'from the page', 'cif.kpi.custom.msdyn_customattribute2': 'page' });
    const client = new RecordingCifClient();
    await exportOneKpiEvent(client);
    expect(client.payloads().flatMap((data) => data.events)).to.deep.equal([
      { kpiEventName: 'CallAccepted', eventTimestamp: client.payloads()[0]!.events[0]!.eventTimestamp },
    ]);
  });

  it('warns of no counter that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { count: 7 });
    const messages = captureDiag(DiagLogLevel.DEBUG);
    const exporter = await exportOneKpiEvent(new RecordingCifClient());
    expect(messages.filter((line) => line.includes('count'))).to.deep.equal([]);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });

  it('takes no option without a default that only Object.prototype holds: ready, retry.maxBackoffMillis, the outbox store and name', async () => {
    const refusing = { then: (_resolve: unknown, reject: (reason: unknown) => void) => reject(new Error('the page')) };
    restore = extend(Object.prototype, { ready: refusing, maxBackoffMillis: 1, store: 'no store', name: 7 });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });

  it('takes no id that only Object.prototype holds, for a span outside a session or in one without that id', async () => {
    restore = extend(Object.prototype, { conversationId: 'page', providerSessionId: 'page', participantId: 'page' });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(exporter)] }));
    const tracer = provider.getTracer('widget');
    const outside = tracer.startSpan('call');
    recordKpiEvent(outside, 'CallOffered');
    outside.end();
    withCifSession({ conversationId: 'c1', providerSessionId: 'p1' }, () => {
      const inside = tracer.startSpan('call');
      recordKpiEvent(inside, 'CallAccepted');
      inside.end();
    });
    await provider.forceFlush();
    expect(client.payloads().map(({ events, ...identity }) => [identity, events.map((e) => e.kpiEventName)])).to.deep.equal([
      [{ conversationId: 'c1', providerSessionId: 'p1' }, ['CallAccepted']],
    ]);
    expect(exporter.getStats().dropped.missing_identity).to.equal(1);
    context.disable();
  });

  it('records no KPI detail, time or context that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { reason: 'page', customData: { msdyn_customattribute1: 'page' }, time: 0 });
    const client = new RecordingCifClient();
    await exportOneKpiEvent(client, {}, {});
    const records: unknown[] = [];
    // Not while the span is made: a `context` on Object.prototype breaks the OpenTelemetry API itself.
    const restoreContext = extend(Object.prototype, { context: 'page' });
    try {
      emitKpiEvent({ emit: (record) => void records.push(record) }, 'CallHold', {}, {});
    } finally {
      restoreContext();
    }
    expect(client.payloads()[0]!.events.map((event) => Object.keys(event))).to.deep.equal([['kpiEventName', 'eventTimestamp']]);
    // Its times its own, unset: the logs SDK reads them of its copy of the record, which inherits Object.prototype's.
    expect(records.map((record) => ({ ...(record as object) }))).to.deep.equal([{ eventName: 'CallHold', attributes: { 'cif.kpi.name': 'CallHold' }, timestamp: undefined, observedTimestamp: undefined }]);
  });

  const T1 = '2026-11-25T10:15:30.123Z';
  const inheritedTimes: Array<[key: string, value: unknown, time?: number]> = [
    ['observedTimestamp', 'yesterday', Date.parse(T1)],
    ['timestamp', new Date('2001-01-01T00:00:00.000Z')],
  ];
  inheritedTimes.forEach(([key, value, time]) =>
    it(`sends emitKpiEvent's KPI event at its own time, ${time ? 'given' : 'now'}, though Object.prototype has a \`${key}\` the logs SDK would read`, async () => {
      const { client, logger, flush } = logPipeline();
      const before = Date.now();
      restore = extend(Object.prototype, { [key]: value });
      emitKpiEvent(logger, 'CallAccepted', undefined, { context: setCifSession(ROOT_CONTEXT, { conversationId: 'conv-1', providerSessionId: 'prov-1' }), ...(time && { time }) });
      restore();
      await flush();
      const [stamped] = client.payloads().map((data) => data.events[0]!.eventTimestamp);
      if (time) expect(stamped).to.equal(T1);
      else expect(Date.parse(stamped!)).to.be.at.least(before);
    }),
  );

  it('takes no delivery, nor a delivery option beside a shared one, that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { delivery: {}, timeoutMillis: 1 });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
    expect(() => new CifSpanExporter({ delivery: new CifDelivery({ client }) })).not.to.throw();
  });

  it("sends no custom column for customAttributes['__proto__'], as a JSON config may hold it", async () => {
    const { client, tracer, flush } = spanPipeline({ customAttributes: JSON.parse('{"__proto__": "msdyn_customattribute1"}') as Record<string, string> });
    restore = extend(Object.prototype, { pageLibrary: 'from the page' });
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await flush();
    restore();
    expect(client.payloads().flatMap((data) => data.events.map((kpiEvent) => kpiEvent.customData))).to.deep.equal([undefined]);
  });

  it('keeps an option given with the value Object.prototype holds under its name', async () => {
    restore = extend(Object.prototype, { conversationId: 'conv-1' });
    const client = new RecordingCifClient();
    const session = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, session }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
    const span = provider.getTracer('widget').startSpan('call');
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.payloads().map(({ events, ...identity }) => [identity, events.map((e) => e.kpiEventName)])).to.deep.equal([[session, ['CallAccepted']]]);
  });

  it('takes no option that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { outbox: 5, dataFormat: 'xml', eventFilter: () => false });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });
});

const pageToJson: Array<[what: string, target: object, toJSON: (this: unknown) => unknown]> = [
  [
    // Writes `["a", undefined, "b"]` as the string `'["a", "b"]'`: each item as JSON, those JSON writes nothing of left out.
    'arrays a toJSON that writes a string, as Prototype.js 1.6 did',
    Array.prototype,
    function (this: unknown) {
      return `[${(this as unknown[]).map((item) => JSON.stringify(item)).filter((item) => item !== undefined).join(', ')}]`;
    },
  ],
  ['Object.prototype a toJSON that answers undefined', Object.prototype, () => undefined],
  ['Object.prototype a toJSON that answers an empty object', Object.prototype, () => ({})],
];

// Beyond the promise (docs/delivery.md): a read-only or accessor property of Object.prototype changes what assigning its
// name does. Where it is a payload field's, the loss is what the docs say, and no other span's.
describe("a page that made a payload field's name read-only or an accessor on Object.prototype", () => {
  let restore: () => void = () => {};
  afterEach(() => restore());

  /** Gives Object.prototype `descriptor` at `name` until the test ends. */
  function define(name: string, descriptor: PropertyDescriptor): void {
    Object.defineProperty(Object.prototype, name, { ...descriptor, configurable: true });
    restore = () => Reflect.deleteProperty(Object.prototype, name);
  }

  it('counts a span whose payload sets a read-only name as invalid_span, or sends it without that field, and sends a span whose payload does not', async () => {
    define('kpiEventReason', { value: undefined });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client, {}, { reason: 'inbound', additionalData: 'queue 2' });
    await exportOneKpiEvent(client);
    // Strict code (an ES module) throws at the assignment; sloppy code (a bundle without "use strict") skips it.
    const { invalid_span } = exporter.getStats().dropped;
    const fields = client.payloads().map((data) => Object.keys(data.events[0]!));
    const other = ['kpiEventName', 'eventTimestamp'];
    expect([invalid_span, fields]).to.deep.equal(invalid_span ? [1, [other]] : [0, [[...other, 'additionalData'], other]]);
  });

  it('sends the KPI event without a field whose name has a setter on Object.prototype', async () => {
    let taken: unknown;
    define('kpiEventReason', { set: (value: unknown) => void (taken = value) });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client, {}, { reason: 'inbound', additionalData: 'queue 2' });
    expect([client.payloads()[0]!.events[0]!.additionalData, Object.keys(client.payloads()[0]!.events[0]!), taken, exporter.getStats().kpiEventsDelivered]).to.deep.equal([
      'queue 2',
      ['kpiEventName', 'eventTimestamp', 'additionalData'],
      'inbound',
      1,
    ]);
  });
});

pageToJson.forEach(([what, target, toJSON]) => describe(`a page whose old library gave ${what}`, () => {
  /** Runs `fn` while the page's library has given `target` its `toJSON`. */
  async function withPageToJson<T>(fn: () => T | Promise<T>): Promise<T> {
    const restore = extend(target, { toJSON });
    try {
      return await fn();
    } finally {
      restore();
    }
  }

  /** Sends one KPI event whose additionalData is the array attribute `['a', 'b']`, arrays having that `toJSON` from the span's end. */
  async function sendArrayAttribute(options: CifSpanExporterOptions = {}): Promise<RecordingCifClient> {
    const { client, tracer, flush } = spanPipeline(options);
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted', { [ATTR_CIF_KPI_ADDITIONAL_DATA]: ['a', 'b'] });
    await withPageToJson(async () => {
      span.end();
      await flush();
    });
    return client;
  }

  it('writes an array attribute as the JSON of its items', async () => {
    const client = await sendArrayAttribute();
    expect(client.payloads().map((data) => data.events[0]!.additionalData)).to.deep.equal(['["a","b"]']);
  });

  it("writes a payload's events as an array with dataFormat json", async () => {
    const client = await sendArrayAttribute({ dataFormat: 'json' });
    const data = JSON.parse(client.calls[0]!.data as string) as CifAnalyticsData;
    expect([Array.isArray(data.events), data.events[0]?.additionalData]).to.deep.equal([true, '["a","b"]']);
  });

  it('keeps KPI events of different ids in calls of their own, with maxEventsPerCall', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false, maxEventsPerCall: 10 });
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
    // Two spans of one trace, so of one correlationId.
    const tracer = provider.getTracer('softphone');
    const call = tracer.startSpan('call', { attributes: { ...IDENTITY, [ATTR_CIF_CLIENT_SESSION_ID]: 'x' } });
    const hold = tracer.startSpan('hold', { attributes: { ...IDENTITY, [ATTR_CIF_PARTICIPANT_ID]: 'x' } }, trace.setSpan(context.active(), call));
    for (const span of [hold, call]) {
      span.addEvent('CallAccepted');
      span.end();
    }
    // One batch of both spans.
    await withPageToJson(() => provider.forceFlush());
    expect(client.payloads().map((data) => [data.clientSessionId, data.participantId, data.events.length])).to.have.deep.members([
      ['x', undefined, 1],
      [undefined, 'x', 1],
    ]);
  });

  it('gives traceless log records of one conversation and provider session one correlationId', async () => {
    const { client, logger, flush } = logPipeline();
    logger.emit({ eventName: 'CallAccepted', attributes: IDENTITY });
    await flush();
    await withPageToJson(async () => {
      logger.emit({ eventName: 'CallEnded', attributes: IDENTITY });
      await flush();
    });
    const [first, second] = client.calls.map((call) => call.correlationId);
    expect(second).to.equal(first);
  });

  it('stores a call in the outbox in a form the next page reads', async () => {
    const call: CifCall = {
      data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
      eventName: 'CallHold',
      correlationId: TRACE_GUID,
    };
    const stored = await withPageToJson(() => encode({ at: 1, call }));
    expect(decode(stored)).to.deep.equal({ at: 1, call });
  });
}));
