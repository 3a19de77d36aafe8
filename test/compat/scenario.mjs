// The end-to-end scenario every compatibility fixture runs against the packed package.
// It imports no package itself: each fixture hands in its own copies, so that everything
// resolves from the fixture's node_modules and never from this repository's.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

/**
 * @typedef {object} Line
 * @property {string} name e.g. 'OpenTelemetry JS 3.x'
 * @property {typeof import('@opentelemetry/api')} api the fixture's API copy
 * @property {{ enable(): unknown, disable(): unknown }} contextManager
 * @property {Function} CifSpanExporter from the installed package
 * @property {(traceId: string) => string} traceIdToGuid from the installed package
 * @property {(exporter: object, processor: 'simple' | 'batch', resource: object, idGenerator: object) => any} createProvider
 * @property {boolean} anyValueAttributes whether the SDK keeps map and mixed-array span attributes
 * @property {Function} withCifSession from the installed package
 * @property {Function} CifDelivery from the installed package's main entry
 * @property {LogsLine} [logs] log-based events, where the fixture installs a logs SDK
 * @property {InstrumentationLine} [instrumentation] the CIF instrumentation with this line's `registerInstrumentations`
 */

/**
 * @typedef {object} InstrumentationLine
 * @property {Function} CifInstrumentation from the installed `opentelemetry-exporter-cif/instrumentation`
 * @property {Function} registerInstrumentations from the fixture's `@opentelemetry/instrumentation`
 * @property {Function} installFakeCIFramework from the installed `opentelemetry-exporter-cif/testing`
 */

/**
 * @typedef {object} LogsLine
 * @property {typeof import('opentelemetry-exporter-cif/logs')} cif the installed `opentelemetry-exporter-cif/logs`
 * @property {(processors: object[], resource: object) => any} createLoggerProvider
 * @property {(exporter: object, processor: 'simple' | 'batch') => object} createProcessor
 */

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const T3 = '2026-11-25T10:17:45.500Z';
const IDENTITY = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
const RESOURCE = { 'service.name': 'softphone', 'cif.participant.id': 'agent-7' };
const SENT_IDENTITY = { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' };
/** Every trace gets this id, so the tests expect its GUID as a literal. */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_GUID = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';
let spans = 0;
const FIXED_TRACE_ID = {
  generateTraceId: () => TRACE_ID,
  generateSpanId: () => (++spans).toString(16).padStart(16, '0'),
};

/** The KPI events of one call, as CIF receives them, whether recorded as span events or log-based events. */
const CALL_KPI_EVENTS = [
  {
    data: {
      ...SENT_IDENTITY,
      events: [
        {
          kpiEventName: 'CallAccepted',
          eventTimestamp: T1,
          kpiEventReason: 'inbound',
          notificationResponseAction: 'accepted',
        },
      ],
    },
    eventName: 'CallAccepted',
    correlationId: TRACE_GUID,
  },
  {
    data: {
      ...SENT_IDENTITY,
      events: [{ kpiEventName: 'CallHold', eventTimestamp: T2, kpiEventReason: 'customer asked' }],
    },
    eventName: 'CallHold',
    correlationId: TRACE_GUID,
  },
];

function recordingClient(onCall = () => {}) {
  const calls = [];
  return {
    calls,
    logAnalyticsEvent(data, eventName, correlationId) {
      calls.push({ data, eventName, correlationId });
      onCall();
      return Promise.resolve('ok');
    },
  };
}

/** @param {Line} line */
export function describeScenario(line) {
  describe(`opentelemetry-exporter-cif with ${line.name}`, () => {
    const providers = [];
    function setup(processor, onCall) {
      const client = recordingClient(onCall);
      const exporter = new line.CifSpanExporter({ client });
      const provider = line.createProvider(exporter, processor, RESOURCE, FIXED_TRACE_ID);
      providers.push(provider);
      return { client, exporter, provider, tracer: provider.getTracer('softphone') };
    }

    before(() => line.api.context.setGlobalContextManager(line.contextManager.enable()));
    after(() => line.api.context.disable());
    afterEach(async () => {
      await Promise.all(providers.splice(0).map((p) => p.shutdown()));
    });

    ['simple', 'batch'].forEach((processor) =>
      it(`sends the KPI events of a call span through a ${processor} span processor`, async () => {
        const { client, exporter, provider, tracer } = setup(processor);
        const span = tracer.startSpan('inbound call', { attributes: { ...IDENTITY, 'cif.kpi.reason': 'inbound' } });
        span.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' }, new Date(T1));
        span.addEvent('CallHold', { 'cif.kpi.reason': 'customer asked' }, new Date(T2));
        tracer.startSpan('GET /crm').end();
        span.end();
        await provider.forceFlush();

        assert.deepEqual(client.calls, CALL_KPI_EVENTS);
        assert.match(TRACE_GUID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        const stats = exporter.getStats();
        assert.deepEqual(
          [stats.spansSeen, stats.cifSpans, stats.kpiEventsSent, stats.callsMade, stats.callsFailed],
          [2, 1, 2, 2, 0],
        );
      }),
    );

    it('writes array attributes of spans and span events as JSON', async () => {
      const { client, provider, tracer } = setup('simple');
      const span = tracer.startSpan('transfer', {
        attributes: { ...IDENTITY, 'cif.kpi.custom.msdyn_customattribute1': ['billing', 'fr'] },
      });
      span.addEvent('CallTransferred', { 'cif.kpi.custom.msdyn_customattribute2': [3, 5, 8] }, new Date(T1));
      span.end();
      await provider.forceFlush();

      assert.deepEqual(client.calls, [
        {
          data: {
            ...SENT_IDENTITY,
            events: [
              {
                kpiEventName: 'CallTransferred',
                eventTimestamp: T1,
                customData: [
                  { attribute: 'msdyn_customattribute1', value: '["billing","fr"]' },
                  { attribute: 'msdyn_customattribute2', value: '[3,5,8]' },
                ],
              },
            ],
          },
          eventName: 'CallTransferred',
          correlationId: TRACE_GUID,
        },
      ]);
    });

    // 3.x keeps maps, mixed arrays and byte arrays on span attributes; 2.x drops them before any exporter
    // sees them. Either way the KPI event goes out, with or without those fields.
    const title = line.anyValueAttributes
      ? 'writes span attributes holding maps and mixed arrays as JSON, and bytes as base64'
      : 'sends the KPI event without the map, mixed-array and byte attributes the SDK drops';
    it(title, async () => {
      const { client, provider, tracer } = setup('batch');
      // Started before T3: a span that ends before it starts is cut to no duration at its start.
      const span = tracer.startSpan('wrap-up', {
        startTime: new Date(T1),
        attributes: {
          ...IDENTITY,
          'cif.kpi.name': 'WrapUpCompleted',
          'cif.kpi.additional_data': {
            queue: 'billing',
            skills: ['fr', 'en'],
            transfer: { count: 2, warm: true, token: new Uint8Array([1, 2, 3]) },
          },
          'cif.kpi.custom.msdyn_customattribute1': [1, 'two', true, null],
          'cif.kpi.custom.msdyn_customattribute2': 'plain',
          'cif.kpi.custom.msdyn_customattribute3': new Uint8Array([104, 105]),
        },
      });
      span.end(new Date(T3));
      await provider.forceFlush();

      const kpiEvent = { kpiEventName: 'WrapUpCompleted', eventTimestamp: T3 };
      const expected = line.anyValueAttributes
        ? {
            ...kpiEvent,
            additionalData: '{"queue":"billing","skills":["fr","en"],"transfer":{"count":2,"warm":true,"token":"AQID"}}',
            customData: [
              { attribute: 'msdyn_customattribute1', value: '[1,"two",true,null]' },
              { attribute: 'msdyn_customattribute2', value: 'plain' },
              { attribute: 'msdyn_customattribute3', value: 'aGk=' },
            ],
          }
        : { ...kpiEvent, customData: [{ attribute: 'msdyn_customattribute2', value: 'plain' }] };
      assert.deepEqual(client.calls, [
        {
          data: { ...SENT_IDENTITY, events: [expected] },
          eventName: 'WrapUpCompleted',
          correlationId: TRACE_GUID,
        },
      ]);
    });

    it('exports traceIdToGuid, which writes a trace id as a GUID', () => {
      assert.equal(line.traceIdToGuid(TRACE_ID), TRACE_GUID);
    });

    it("calls the host with tracing suppressed, through the fixture's own API and context manager", async () => {
      let hostSpanRecording;
      const { client, provider, tracer } = setup('simple', () => {
        hostSpanRecording = provider.getTracer('host').startSpan('postMessage').isRecording();
      });
      const span = tracer.startSpan('inbound call', { attributes: IDENTITY });
      span.addEvent('CallAccepted', new Date(T1));
      const outside = tracer.startSpan('outside');
      span.end();
      await provider.forceFlush();

      assert.equal(client.calls.length, 1);
      assert.equal(hostSpanRecording, false);
      assert.equal(outside.isRecording(), true);
      outside.end();
    });

    if (line.logs) describeLogBasedEvents(line, line.logs, { setup, providers });
    if (line.instrumentation) describeInstrumentation(line, line.instrumentation, providers);
  });
}

/**
 * The CIF instrumentation registered with this line's `registerInstrumentations` and provider:
 * the spans of the widget's CIF calls and handlers, and none of the exporter's calls.
 * @param {Line} line
 * @param {InstrumentationLine} cif
 */
function describeInstrumentation(line, cif, providers) {
  describe('the CIF instrumentation', () => {
    let target;
    let fake;
    let unregister;
    let finished;
    let provider;
    const shown = (span) => ({
      id: span.spanContext().spanId,
      name: span.name,
      kind: span.kind,
      parent: span.parentSpanContext?.spanId ?? span.parentSpanId,
      status: span.status,
      attributes: span.attributes,
      events: span.events.map((event) => event.name),
    });
    const OK = { code: 0 };
    const call = (method, parent, status = OK, events = []) => ({
      name: `Microsoft.CIFramework/${method}`,
      kind: line.api.SpanKind.CLIENT,
      parent,
      status,
      attributes: { 'rpc.system.name': 'ciframework', 'rpc.method': `Microsoft.CIFramework/${method}` },
      events,
    });

    beforeEach(() => {
      finished = [];
      const spans = { export: (batch, done) => (finished.push(...batch.map(shown)), done({ code: 0 })), shutdown: async () => {} };
      provider = line.createProvider(spans, 'simple', RESOURCE, FIXED_TRACE_ID);
      providers.push(provider);
      target = new EventTarget();
      unregister = cif.registerInstrumentations({ instrumentations: [new cif.CifInstrumentation({ target })], tracerProvider: provider });
    });
    afterEach(() => {
      unregister();
      fake?.uninstall();
    });

    /** The library arrives after the instrumentation, with CIFInitDone, as in a page. */
    function loadLibrary() {
      const answers = { setPresence: () => Promise.resolve(true), createSession: (...args) => Promise.resolve(args), getMode: () => Promise.reject(new Map([['message', 'Provider not active']])) };
      target.Microsoft = { CIFramework: answers };
      fake = cif.installFakeCIFramework(target);
      return target.Microsoft.CIFramework;
    }

    it('traces the calls of a library that arrives late: names, kinds, parents, status, arguments, answers and the correlationId', async () => {
      const library = loadLibrary();
      const tracer = provider.getTracer('widget');
      const answered = await tracer.startActiveSpan('accept call', async (span) => {
        const results = [await library.setPresence('On call'), await library.createSession({ templateName: 'chat' })];
        results.push(await library.getMode().catch((error) => error.get('message')));
        span.end();
        return results;
      });
      assert.deepEqual(answered, [true, [{ templateName: 'chat' }, TRACE_GUID], 'Provider not active']);
      const accept = finished.pop();
      assert.equal(accept.name, 'accept call');
      assert.deepEqual(finished.map(({ id: _id, ...span }) => span), [
        call('setPresence', accept.id),
        call('createSession', accept.id),
        call('getMode', accept.id, { code: 2, message: 'Provider not active' }, ['exception']),
      ]);
    });

    it("runs the host's calls of a handler inside a span naming the event, and leaves the exporter's calls untraced", async () => {
      const library = loadLibrary();
      const widget = provider.getTracer('widget');
      const handler = () => widget.startSpan('show session').end();
      library.addHandler('onsessionswitched', handler);
      await fake.fireEvent('onsessionswitched', { sessionId: 'session-2', focused: true });
      assert.equal(await library.removeHandler('onsessionswitched', handler), true);
      await fake.fireEvent('onsessionswitched', { sessionId: 'session-1', focused: true });

      // The exporter calls the instrumented library itself, with tracing suppressed.
      const kpiExporter = new line.CifSpanExporter({ client: library });
      const kpiProvider = line.createProvider(kpiExporter, 'simple', RESOURCE, FIXED_TRACE_ID);
      providers.push(kpiProvider);
      const span = kpiProvider.getTracer('widget').startSpan('hold', { attributes: IDENTITY });
      span.addEvent('CallHold', new Date(T2));
      span.end();
      await kpiProvider.forceFlush();

      const session = finished.find((s) => s.name === 'Microsoft.CIFramework onsessionswitched');
      assert.deepEqual(finished.map(({ id: _id, ...rest }) => rest), [
        call('addHandler', undefined),
        { name: 'show session', kind: line.api.SpanKind.INTERNAL, parent: session.id, status: OK, attributes: {}, events: [] },
        { name: 'Microsoft.CIFramework onsessionswitched', kind: line.api.SpanKind.INTERNAL, parent: undefined, status: OK, attributes: { 'ciframework.event': 'onsessionswitched' }, events: [] },
        call('removeHandler', undefined),
      ]);
      assert.deepEqual(fake.client.calls.map((c) => [c.eventName, c.correlationId]), [['CallHold', TRACE_GUID]]);
    });

    it('puts the original functions back when disabled, and wraps them once when enabled twice', async () => {
      const library = loadLibrary();
      // The library's own functions are inherited from the CIFramework the page loaded: the wrappers shadow them.
      const loaded = Object.getPrototypeOf(library);
      unregister();
      unregister();
      assert.deepEqual(Object.getOwnPropertyNames(library).sort(), ['addHandler', 'getFocusedSession', 'getPresence', 'getSession', 'logAnalyticsEvent', 'removeHandler', 'setPresence']);
      assert.equal(library.getMode, loaded.getMode);
      await library.logAnalyticsEvent({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'CallHold');
      assert.deepEqual(fake.client.calls.map((c) => c.correlationId), [undefined]);
      const again = new cif.CifInstrumentation({ target });
      again.setTracerProvider(provider);
      again.enable();
      await library.setPresence('Available');
      again.disable();
      await library.setPresence('Away');
      assert.deepEqual(finished.map(({ id: _id, ...rest }) => rest), [call('setPresence', undefined)]);
    });
  });
}

/**
 * Log-based events on this line's logs SDK: the same KPI events reach CIF as from span events.
 * @param {Line} line
 * @param {LogsLine} logs
 */
function describeLogBasedEvents(line, logs, { setup, providers }) {
  const { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } = logs.cif;
  const SESSION = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

  /** A logger provider with the session processor first, then the exporter's processor. */
  function loggerProvider(exporter, processor) {
    const provider = logs.createLoggerProvider(
      [new CifSessionLogRecordProcessor(), logs.createProcessor(exporter, processor)],
      RESOURCE,
    );
    providers.push(provider);
    return provider;
  }

  /**
   * The call of the span scenario, recorded twice inside one active span: as span events, and as
   * log-based events (`emitKpiEvent`, then a raw `logger.emit`) under `withCifSession`.
   */
  function recordCall(tracer, logger) {
    tracer.startActiveSpan('inbound call', { attributes: { ...IDENTITY, 'cif.kpi.reason': 'inbound' } }, (span) => {
      span.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' }, new Date(T1));
      span.addEvent('CallHold', { 'cif.kpi.reason': 'customer asked' }, new Date(T2));
      line.withCifSession(SESSION, () => {
        emitKpiEvent(logger, 'CallAccepted', { reason: 'inbound', notificationResponseAction: 'accepted' }, { time: new Date(T1) });
        logger.emit({
          eventName: 'CallHold',
          body: 'the customer asked to hold; never sent',
          attributes: { 'cif.kpi.reason': 'customer asked' },
          timestamp: new Date(T2),
        });
        // Stamped with the session, but neither an event name nor cif.kpi.name: not a KPI event.
        logger.emit({ body: 'ringing stopped', attributes: { 'call.leg': 'inbound' } });
      });
      // An event outside any CIF session, without cif.* attributes: left alone.
      logger.emit({ eventName: 'page.visible', timestamp: new Date(T3) });
      span.end();
    });
  }

  describe('log-based events', () => {
    ['simple', 'batch'].forEach((processor) =>
      it(`sends the KPI events a call span sends, from log records through a ${processor} log record processor`, async () => {
        const spans = setup('simple');
        const client = recordingClient();
        const exporter = new CifLogRecordExporter({ client });
        const provider = loggerProvider(exporter, processor);

        recordCall(spans.tracer, provider.getLogger('softphone'));
        await Promise.all([spans.provider.forceFlush(), provider.forceFlush()]);

        assert.deepEqual(client.calls, CALL_KPI_EVENTS);
        assert.deepEqual(client.calls, spans.client.calls);
        const stats = exporter.getStats();
        assert.deepEqual(
          [stats.logRecordsSeen, stats.cifLogRecords, stats.kpiEventsSent, stats.kpiEventsDelivered, stats.callsMade, stats.callsFailed],
          [4, 3, 2, 2, 2, 0],
        );
      }),
    );

    it('sends the span and log-based KPI events of a page through one shared CifDelivery, under its one set of limits', async () => {
      assert.equal(logs.cif.CifDelivery, line.CifDelivery, 'one CifDelivery class behind both entries');
      // The host answers only when told to; one call at a time and two KPI events pending (in flight
      // or waiting), for both exporters together.
      const answers = [];
      const client = recordingClient(() => {});
      const logAnalyticsEvent = client.logAnalyticsEvent;
      client.logAnalyticsEvent = (...args) => {
        logAnalyticsEvent(...args);
        return new Promise((resolve) => answers.push(() => resolve('ok')));
      };
      const delivery = new line.CifDelivery({ client, maxConcurrentCalls: 1, maxQueueSize: 2 });
      const spanExporter = new line.CifSpanExporter({ delivery });
      const logExporter = new CifLogRecordExporter({ delivery });
      const tracerProvider = line.createProvider(spanExporter, 'simple', RESOURCE, FIXED_TRACE_ID);
      providers.push(tracerProvider);
      const provider = loggerProvider(logExporter, 'simple');
      const tracer = tracerProvider.getTracer('softphone');
      const logger = provider.getLogger('softphone');

      tracer.startActiveSpan('inbound call', { attributes: { ...IDENTITY, 'cif.kpi.reason': 'inbound' } }, (span) => {
        span.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' }, new Date(T1));
        span.end(); // exported at once: its call goes to the host, which does not answer yet
        line.withCifSession(SESSION, () => {
          emitKpiEvent(logger, 'CallHold', { reason: 'customer asked' }, { time: new Date(T2) });
          emitKpiEvent(logger, 'CallResumed', {}, { time: new Date(T3) });
        });
      });
      assert.deepEqual(client.calls.map((call) => call.eventName), ['CallAccepted']);
      // Answer each call the host receives, until both providers have flushed. The SDK's flush
      // reports the export that failed (queue_full), so its outcome is not the point here.
      let flushed = false;
      const flushing = Promise.allSettled([tracerProvider.forceFlush(), provider.forceFlush()]).then(() => (flushed = true));
      for (let turn = 0; !flushed; turn++) {
        assert.ok(turn < 1000, 'the providers flush once the host answers');
        answers.splice(0).forEach((answer) => answer());
        await new Promise((resolve) => setImmediate(resolve));
      }
      await flushing;

      // The log-based CallHold waited behind the span's call; CallResumed found the shared queue full.
      assert.deepEqual(client.calls, CALL_KPI_EVENTS);
      const [fromSpans, fromLogs] = [spanExporter.getStats(), logExporter.getStats()];
      const delivered = (stats) => [stats.kpiEventsSent, stats.kpiEventsDelivered, stats.callsMade, stats.dropped.queue_full];
      assert.deepEqual(delivered(fromSpans), [3, 2, 2, 1]);
      assert.deepEqual(delivered(fromLogs), delivered(fromSpans));
      assert.deepEqual([fromSpans.spansSeen, fromLogs.logRecordsSeen], [1, 2]);
    });
  });
}
