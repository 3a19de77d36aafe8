import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { ROOT_CONTEXT, context, diag, DiagLogLevel, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { StackContextManager, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
// What a bundler resolves `BatchSpanProcessor` to in a page: the one that flushes on page hide.
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CifDelivery,
  CifExportError,
  CifHostError,
  CifNotLoadedError,
  CifQueueFullError,
  CifShutdownError,
  CifSpanExporter,
  CifSessionSpanProcessor,
  CifTimeoutError,
  recordKpiEvent,
  recordedKpiEventsOnly,
  setCifSession,
  type CifDropReason,
  type CifSpanExporterOptions,
} from '../../src/index.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import {
  expectBalanced,
  hangs,
  installCifWithoutInitDone,
  kpiNames,
  later,
  pageWindow,
  removePageCif,
  seededRandom,
  throws,
  timedClient,
  type Answer,
} from '../helpers/fake-client.js';
import { captureDiag, captureLevels, installActingDiag, installThrowingDiag } from '../helpers/diag.js';
import { FIXED_TRACE_ID, IDENTITY, TRACE_GUID, event, makeSpan } from '../helpers/spans.js';
import { DEFAULT_OPTIONS } from '../../src/options.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { shutDownDeliveryAfterTest } from '../helpers/shut-down-delivery.js';
import { PAGE_HIDES, listening, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';

/** Every result the callback got, once every call of the exporter has settled. */
async function exportOnce(exporter: CifSpanExporter, spans: ReturnType<typeof makeSpan>[]): Promise<ExportResult[]> {
  const results: ExportResult[] = [];
  await new Promise<void>((resolve) =>
    exporter.export(spans, (result) => {
      results.push(result);
      resolve();
    }),
  );
  // A second callback would have to come from calls still settling: let them all settle first.
  await exporter.forceFlush();
  return results;
}

const T1 = '2026-11-25T10:15:30.123Z';

describe('CifSpanExporter with the OpenTelemetry SDK', () => {
  const providers: Array<{ shutdown(): Promise<void> }> = [];
  function setup(
    Provider: typeof BasicTracerProvider | typeof WebTracerProvider,
    processor: 'simple' | 'batch',
    options: CifSpanExporterOptions = {},
  ) {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, ...options });
    const spanProcessor = processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    const provider = new Provider({
      idGenerator: FIXED_TRACE_ID,
      resource: resourceFromAttributes({ 'service.name': 'softphone', 'cif.participant.id': 'agent-7' }),
      spanProcessors: [spanProcessor],
    });
    providers.push(provider);
    return { client, exporter, provider, tracer: provider.getTracer('softphone') };
  }
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.shutdown()));
  });

  it('calls the export() of a subclass, which can add to the one it overrides', async () => {
    const seen: number[] = [];
    class CountingExporter extends CifSpanExporter {
      override export(spans: Parameters<CifSpanExporter['export']>[0], done: (result: ExportResult) => void): void {
        seen.push(spans.length);
        super.export(spans, done);
      }
    }
    const client = new RecordingCifClient();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new CountingExporter({ client }))] });
    providers.push(provider);
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await provider.forceFlush();
    expect(seen).to.deep.equal([1]);
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted']);
  });

  const matrix = [
    [BasicTracerProvider, 'simple'],
    [BasicTracerProvider, 'batch'],
    [WebTracerProvider, 'simple'],
    [WebTracerProvider, 'batch'],
  ] as const;
  matrix.forEach(([Provider, processor]) =>
    it(`sends the KPI events of a call span through ${Provider.name} and a ${processor} span processor`, async () => {
      const { client, provider, tracer } = setup(Provider, processor);
      const span = tracer.startSpan('inbound call', {
        attributes: { ...IDENTITY, 'cif.kpi.reason': 'inbound' },
      });
      span.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' }, new Date(T1));
      span.addEvent('CallHold', { 'cif.kpi.reason': 'customer asked' }, new Date('2026-11-25T10:16:00.000Z'));
      tracer.startSpan('GET /crm').end();
      span.end();
      await provider.forceFlush();

      const identity = { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' };
      expect(client.calls).to.deep.equal([
        {
          data: {
            ...identity,
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
            ...identity,
            events: [
              { kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:16:00.000Z', kpiEventReason: 'customer asked' },
            ],
          },
          eventName: 'CallHold',
          correlationId: TRACE_GUID,
        },
      ]);
    }),
  );

  it('sends JSON text when dataFormat is json', async () => {
    const { client, provider, tracer } = setup(BasicTracerProvider, 'simple', { dataFormat: 'json' });
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted', {}, new Date(T1));
    span.end();
    await provider.forceFlush();
    expect(client.calls).to.have.length(1);
    expect(JSON.parse(client.calls[0]!.data as string)).to.deep.equal({
      conversationId: 'conv-1',
      providerSessionId: 'prov-1',
      participantId: 'agent-7',
      events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }],
    });
  });

  it('implements the SDK SpanExporter interface', () => {
    const exporter: SpanExporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    expect(exporter.forceFlush).to.be.a('function');
  });
});

describe('CifSpanExporter results', () => {
  afterEach(() => diag.disable());

  it('calls back SUCCESS once for an empty batch, without calling the host', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
    expect(await exportOnce(exporter, [])).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls).to.have.length(0);
  });

  it('calls back SUCCESS once without calling the host when no span is a CIF span', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
    const results = await exportOnce(exporter, [makeSpan({ events: [event('click', T1)] })]);
    expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls).to.have.length(0);
    expect(exporter.getStats()).to.include({ spansSeen: 1, cifSpans: 0, callsMade: 0 });
  });

  const rejections: Array<[string, () => Answer, string]> = [
    ['an Error', () => Promise.reject(new Error('Provider not active')), 'Provider not active'],
    ['a Map holding message', () => Promise.reject(new Map([['message', 'Not allowed']])), 'Not allowed'],
    ['a string', () => Promise.reject('host busy'), 'host busy'],
    ['a synchronous throw', () => throws(new Error('sync failure')), 'sync failure'],
  ];
  rejections.forEach(([what, answer, message]) =>
    it(`calls back FAILED once with a readable Error when the host answers every attempt with ${what}`, async () => {
      const exporter = shutDownAfterTest(new CifSpanExporter({
        client: timedClient(answer),
        retry: { maxAttempts: 2, initialBackoffMillis: 1 },
      }));
      const span = makeSpan({ attributes: IDENTITY, events: [event('A', T1), event('B', T1)] });
      const results = await exportOnce(exporter, [span]);
      expect(results).to.have.length(1);
      expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
      expect(results[0]!.error).to.be.instanceOf(Error);
      expect(results[0]!.error!.message).to.equal(`2 of 2 logAnalyticsEvent calls failed: ${message}`);
      expect(exporter.getStats()).to.include({ callsMade: 4, callsRetried: 2, callsFailed: 2, kpiEventsSent: 2 });
      expect(exporter.getStats().dropped.host_error).to.equal(2);
      expectBalanced(exporter.getStats());
    }),
  );

  it('fails with "CIF library not loaded" when CIF is not ready within readyTimeoutMillis', async () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({ readyTimeoutMillis: 10 }));
    const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error!.message).to.equal(
      '1 of 1 logAnalyticsEvent calls failed: CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 10 ms',
    );
    expect(exporter.getStats().dropped.cif_not_loaded).to.equal(1);
    expect(exporter.getStats().callsMade).to.equal(0);
  });

  it('uses Microsoft.CIFramework when it appears after the exporter was created', async () => {
    const exporter = shutDownAfterTest(new CifSpanExporter());
    const { client, uninstall } = installFakeCIFramework();
    try {
      const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
      expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(client.calls).to.have.length(1);
    } finally {
      uninstall();
    }
  });

  it('fails every export after shutdown, counting its KPI events as dropped', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    await exporter.shutdown();
    await exporter.shutdown();
    const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error!.message).to.equal('CifSpanExporter is shut down');
    expect(client.calls).to.have.length(0);
    expect(exporter.getStats()).to.include({ kpiEventsSent: 1, callsFailed: 1 });
    expect(exporter.getStats().dropped.after_shutdown).to.equal(1);
    expectBalanced(exporter.getStats());
  });

  it('waits in forceFlush and shutdown for calls still in flight', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      let answer!: (value: string) => void;
      const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: () => new Promise((r) => (answer = r)) }) });
      const done: ExportResult[] = [];
      exporter.export([makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })], (r) => done.push(r));
      let flushed = false;
      let shutDown = false;
      const flush = exporter.forceFlush().then(() => (flushed = true));
      const shutdown = exporter.shutdown().then(() => (shutDown = true));
      // Up to the moment before the call's deadline: only the host's answer can end the waits.
      await clock.tickAsync(DEFAULT_OPTIONS.timeoutMillis - 1);
      expect([flushed, shutDown]).to.deep.equal([false, false]);
      answer('ok');
      await clock.tickAsync(0);
      expect([flushed, shutDown]).to.deep.equal([true, true]);
      await Promise.all([flush, shutdown]);
      expect(done).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
    } finally {
      clock.uninstall();
    }
  });

  it('calls back the exports whose calls time out together in the order their calls went to the host', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      // The first call is answered, and frees the slot before the others; they never are.
      const client = new RecordingCifClient({ answer: (_call, i) => (i === 0 ? 'ok' : new Promise<string>(() => {})) });
      const exporter = new CifSpanExporter({ client, outbox: false, maxConcurrentCalls: 4, timeoutMillis: 1000, retry: { maxAttempts: 1 } });
      const order: string[] = [];
      for (const name of ['A', 'B', 'C', 'D']) {
        exporter.export([makeSpan({ attributes: IDENTITY, events: [event(name, T1)] })], (result) => order.push(`${name}:${result.code}`));
      }
      await clock.tickAsync(1000);
      expect(order).to.deep.equal(['A:0', 'B:1', 'C:1', 'D:1']);
      expect(exporter.getStats().callsTimedOut).to.equal(3);
    } finally {
      clock.uninstall();
    }
  });

  it('holds Node open with one timer while forceFlush waits and one more while shutdown does, and with none once they resolve', async () => {
    // Timers that keep the event loop alive; the timers of calls in flight do not.
    const openTimers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    let answer!: (value: string) => void;
    const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: () => new Promise((r) => (answer = r)) }) });
    // Mocha arms this test's own timeout once the test function first awaits.
    await new Promise((resolve) => setImmediate(resolve));
    const before = openTimers();
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })], () => {});
    const counts = [openTimers() - before];
    const flushed = exporter.forceFlush();
    counts.push(openTimers() - before);
    // shutdown waits with a deadline of its own, beside forceFlush's wait.
    const shutDown = exporter.shutdown();
    counts.push(openTimers() - before);
    answer('ok');
    await Promise.all([flushed, shutDown]);
    counts.push(openTimers() - before);
    expect(counts).to.deep.equal([0, 1, 2, 0]);
  });

  it('never throws out of export, even when handed something that is not an array', async () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    const results: ExportResult[] = [];
    expect(() => exporter.export(null as never, (r) => results.push(r))).to.not.throw();
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
  });

  it('keeps Node running while forceFlush waits for a retry', async function () {
    // A Node.js process of its own: about 1 s idle, 3 s on a busy core.
    this.timeout(60_000);
    // A script that ends with `await forceFlush()`: the backoff timer alone would not keep it alive.
    const script = `
      import { CifSpanExporter } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      import { IDENTITY, event, makeSpan } from ${JSON.stringify(new URL('../helpers/spans.ts', import.meta.url).href)};
      let attempts = 0;
      const client = { logAnalyticsEvent: () => (++attempts === 1 ? Promise.reject(new Error('busy')) : Promise.resolve('ok')) };
      const exporter = new CifSpanExporter({ client, retry: { initialBackoffMillis: 300 } });
      exporter.export([makeSpan({ attributes: IDENTITY, events: [event('A', '${T1}')] })], (r) => console.log('result', r.code));
      await exporter.forceFlush();
      console.log('attempts', attempts);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    expect(stdout.trim().split('\n')).to.deep.equal([`result ${ExportResultCode.SUCCESS}`, 'attempts 2']);
  });

  for (const [kind, callback] of [
    ['throws', () => { throw new Error('callback bug'); }],
    ['rejects (an async one)', async () => { throw new Error('callback bug'); }],
  ] as const) {
    it(`reports a result callback that ${kind} through diag, with no unhandled rejection`, async () => {
      const messages = captureDiag();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
      let called = 0;
      const unhandled = await unhandledRejectionsOf(async () => {
        exporter.export([makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })], () => {
          called++;
          return callback();
        });
        await exporter.forceFlush();
        await new Promise((r) => setImmediate(r));
      });
      expect(called).to.equal(1);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(/export result callback threw.*callback bug/);
      expect(unhandled).to.deep.equal([]);
    });
  }

  it('returns a copy from getStats, not the live counters', () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    const stats = exporter.getStats();
    stats.spansSeen = 99;
    stats.dropped.host_error = 99;
    stats.truncated.customData = 99;
    stats.droppedFields.invalid_custom_column = 99;
    exporter.export([], () => {});
    const live = exporter.getStats();
    expect(live).to.include({ spansSeen: 0 });
    expect([live.dropped.host_error, live.truncated.customData, live.droppedFields.invalid_custom_column]).to.deep.equal([0, 0, 0]);
  });

  const warned: Array<[reason: CifDropReason, span: () => ReturnType<typeof makeSpan>, message: RegExp]> = [
    ['missing_identity', () => makeSpan({ attributes: { 'cif.kpi.reason': 'x' }, events: [event('A', T1)] }), /span 'call' has no cif\.conversation\.id and cif\.provider_session\.id\./],
    ['identity_too_long', () => makeSpan({ attributes: { ...IDENTITY, 'cif.participant.id': 'p'.repeat(101) }, events: [event('A', T1)] }), /span 'call' has cif\.participant\.id over 100 characters\./],
    ['missing_kpi_name', () => makeSpan({ attributes: IDENTITY, events: [event('', T1)] }), /a span event, or a span by its cif\.kpi\.name, has no name\./],
    ['invalid_timestamp', () => makeSpan({ attributes: IDENTITY, events: [{ name: 'A', time: [1e13, 0] }] }), /span 'call' has 'A' at a time Dataverse cannot store\./],
    ['invalid_span', () => ({ ...makeSpan({ attributes: IDENTITY }), events: null }) as never, /A span that is not a ReadableSpan was skipped\./],
  ];
  warned.forEach(([reason, span, message]) =>
    it(`warns once through diag, not once per span, about ${reason}`, async () => {
      const messages = captureDiag();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
      await exportOnce(exporter, [span(), span()]);
      await exportOnce(exporter, [span()]);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(message);
      expect(messages[0]).to.include(`getStats().dropped.${reason}`);
      expect(exporter.getStats().dropped[reason]).to.equal(3);
    }),
  );

  it('warns under its own diag namespace, naming the span and the ids it lacks', async () => {
    const messages = captureDiag();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    await exportOnce(exporter, [makeSpan({ attributes: { 'cif.kpi.reason': 'x' }, events: [event('A', T1)] })]);
    expect(messages).to.deep.equal([
      "opentelemetry-exporter-cif KPI events dropped: span 'call' has no cif.conversation.id and cif.provider_session.id. " +
        'Counted in getStats().dropped.missing_identity; shown once.',
    ]);
  });

  it("says each drop after its reason's first at DEBUG: a delivery drop as its given up line, a mapping drop as its warning", async () => {
    const lines: string[] = [];
    const keep = (level: string) => (...args: unknown[]) => lines.push(`${level} ${args.join(' ')}`);
    diag.setLogger({ error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: () => {} }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) }), retry: { maxAttempts: 1 } });
    const provider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      const tracer = provider.getTracer('softphone');
      const cut = { ...IDENTITY, 'cif.kpi.reason': 'r'.repeat(101) };
      for (const attributes of [IDENTITY, {}, IDENTITY, {}, cut, IDENTITY, cut]) {
        const span = tracer.startSpan('call', { attributes });
        recordKpiEvent(span, 'CallHold');
        span.end();
        // One span at a time, so the lines come in its order; it rejects with the failed export.
        await provider.forceFlush().catch(() => {});
      }
      expect(lines.filter((line) => line.includes('opentelemetry-exporter-cif'))).to.deep.equal([
        "debug opentelemetry-exporter-cif call 'CallHold' given up as host_error: Provider not active",
        'warn opentelemetry-exporter-cif KPI events dropped: Provider not active. Counted in getStats().dropped.host_error; shown once.',
        "warn opentelemetry-exporter-cif KPI events dropped: span 'call' has no cif.conversation.id and cif.provider_session.id. Counted in getStats().dropped.missing_identity; shown once.",
        "debug opentelemetry-exporter-cif call 'CallHold' given up as host_error: Provider not active",
        "debug opentelemetry-exporter-cif KPI events dropped: span 'call' has no cif.conversation.id and cif.provider_session.id. Counted in getStats().dropped.missing_identity.",
        'warn opentelemetry-exporter-cif A value was cut to its Dataverse column size. Counted in getStats().truncated.kpiEventReason; shown once.',
        "debug opentelemetry-exporter-cif call 'CallHold' given up as host_error: Provider not active",
        "debug opentelemetry-exporter-cif call 'CallHold' given up as host_error: Provider not active",
        'debug opentelemetry-exporter-cif A value was cut to its Dataverse column size. Counted in getStats().truncated.kpiEventReason.',
        "debug opentelemetry-exporter-cif call 'CallHold' given up as host_error: Provider not active",
      ]);
      expect(exporter.getStats().dropped).to.include({ host_error: 5, missing_identity: 2 });
      expect(exporter.getStats().truncated.kpiEventReason).to.equal(2);
    } finally {
      await provider.shutdown();
      diag.disable();
    }
  });

  it('calls back FAILED with every distinct host error of the batch, separated by semicolons', async () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({
      client: new RecordingCifClient({ answer: (call) => Promise.reject(new Error(`${call.eventName} refused`)) }),
      retry: { maxAttempts: 1 },
    }));
    const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1), event('B', T1)] })]);
    expect(results.map((r) => [r.code, r.error?.message])).to.deep.equal([
      [ExportResultCode.FAILED, '2 of 2 logAnalyticsEvent calls failed: A refused; B refused'],
    ]);
  });

  it('calls the host with tracing suppressed, so instrumentation never traces the exporter', async () => {
    const contextManager = new StackContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const inner = new RecordingCifClient();
    let innerSpanRecording: boolean | undefined;
    const provider = new BasicTracerProvider({ spanProcessors: [] });
    const client = new RecordingCifClient({
      answer: () => {
        innerSpanRecording = provider.getTracer('host').startSpan('postMessage').isRecording();
        return inner.logAnalyticsEvent({ conversationId: '', providerSessionId: '', events: [] }, 'x');
      },
    });
    const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
    try {
      await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
      expect(innerSpanRecording).to.equal(false);
    } finally {
      context.disable();
    }
  });

  it('counts the KPI events the SDK dropped over eventCountLimit, and says so once', async () => {
    const messages = captureDiag();
    try {
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client });
      const provider = new BasicTracerProvider({ spanLimits: { eventCountLimit: 2, attributeCountLimit: 3 }, spanProcessors: [new SimpleSpanProcessor(exporter)] });
      for (let round = 0; round < 2; round++) {
        const span = provider.getTracer('softphone').startSpan('call', { attributes: { ...IDENTITY, 'call.queue': 'billing', 'call.kind': 'inbound' } });
        for (let i = 0; i < 5; i++) span.addEvent(`K${i}`, { 'cif.kpi.reason': 'r' });
        span.end();
      }
      await provider.forceFlush();
      const stats = exporter.getStats();
      expect(client.calls).to.have.length(4);
      expect(stats.dropped.sdk_event_limit).to.equal(6);
      expect(stats.droppedFields.sdk_attribute_limit).to.equal(2);
      expect(stats.kpiEventsSent).to.equal(stats.kpiEventsDelivered);
      // The SDK warns too, once per span; the exporter once in all.
      const ours = messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'));
      expect(ours).to.have.length(2);
      expect(ours[0]).to.match(/the SDK dropped span events over spanLimits\.eventCountLimit\. Counted in getStats\(\)\.dropped\.sdk_event_limit/);
      expect(ours[1]).to.equal('opentelemetry-exporter-cif Fields lost: the SDK dropped attributes over spanLimits.attribute*CountLimit, or of a type it does not keep. Counted in getStats().droppedFields.sdk_attribute_limit; shown once.');
      await provider.shutdown();
    } finally {
      diag.disable();
    }
  });

  it('counts the fields the SDK dropped from a KPI event over attributePerEventCountLimit, which attributeCountLimit does not set, and names both', async () => {
    const messages = captureDiag();
    try {
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client });
      const provider = shutDownAfterTest(new BasicTracerProvider({ spanLimits: { attributeCountLimit: 2, attributePerEventCountLimit: 2 }, spanProcessors: [new SimpleSpanProcessor(exporter)] }));
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallAccepted', { reason: 'queue', additionalData: 'lost', notificationResponseAction: 'accepted' }, new Date(T1));
      span.end();
      await provider.forceFlush();
      expect(client.payloads().map((data) => data.events)).to.deep.equal([[{ kpiEventName: 'CallAccepted', eventTimestamp: T1, kpiEventReason: 'queue' }]]);
      expect(exporter.getStats().droppedFields.sdk_attribute_limit).to.equal(2);
      expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal([
        'opentelemetry-exporter-cif Fields lost: the SDK dropped attributes over spanLimits.attribute*CountLimit, or of a type it does not keep. Counted in getStats().droppedFields.sdk_attribute_limit; shown once.',
      ]);
    } finally {
      diag.disable();
    }
  });

  it('warns once, in words, about a field whose value JSON cannot write', async () => {
    const messages = captureDiag();
    try {
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
      const cyclic: Record<string, unknown> = {};
      cyclic['self'] = cyclic;
      const attributes = { ...IDENTITY, 'cif.kpi.additional_data': cyclic as never };
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('A', T1)] })]);
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('B', T1)] })]);
      expect(messages).to.deep.equal([
        'opentelemetry-exporter-cif A field was left out: its value cannot be read or written as JSON. Counted in getStats().droppedFields.unserializable_value; shown once.',
      ]);
    } finally {
      diag.disable();
    }
  });

  it('warns once per reason about cut values, invalid custom columns and callbacks that failed', async () => {
    const messages = captureDiag();
    try {
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), eventName: () => { throw new Error('bug'); } }));
      const attributes = { ...IDENTITY, 'cif.kpi.reason': 'r'.repeat(101), 'cif.kpi.custom.MyColumn': 'x' };
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('A', T1), event('B', T1)] })]);
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('C', T1)] })]);
      expect(messages).to.have.length(3);
      expect(messages).to.include(
        "opentelemetry-exporter-cif 'cif.kpi.custom.MyColumn' left out: it names no field or custom column of msdyn_kpieventdata. Counted in getStats().droppedFields.invalid_custom_column; shown once.",
      );
      expect(messages.join('\n')).to.match(/ A value was cut to its Dataverse column size\. Counted in getStats\(\)\.truncated\.kpiEventReason; shown once\./);
      expect(messages).to.include('opentelemetry-exporter-cif The `eventName` callback threw: bug; its default was used. Counted in getStats().callbackErrors; shown once.');
    } finally {
      diag.disable();
    }
  });

  it('tells at DEBUG each later export that moves a counter already warned about, and nothing for one that moves none', async () => {
    const messages = captureDiag(DiagLogLevel.DEBUG);
    try {
      const eventName = ({ kpiEventName }: { kpiEventName: string }): string => {
        if (kpiEventName === 'D') return kpiEventName;
        throw new Error('bug');
      };
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), eventName }));
      const attributes = { ...IDENTITY, 'cif.kpi.reason': 'r'.repeat(101), 'cif.kpi.custom.MyColumn': 'x' };
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('A', T1), event('B', T1)] })]);
      messages.length = 0;
      await exportOnce(exporter, [makeSpan({ attributes, events: [event('C', T1)] })]);
      await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('D', T1)] })]);
      expect(messages.map((line) => line.replace('opentelemetry-exporter-cif ', ''))).to.have.members([
        "'cif.kpi.custom.MyColumn' left out: it names no field or custom column of msdyn_kpieventdata. Counted in getStats().droppedFields.invalid_custom_column.",
        'A value was cut to its Dataverse column size. Counted in getStats().truncated.kpiEventReason.',
        'The `eventName` callback threw: bug; its default was used. Counted in getStats().callbackErrors.',
      ]);
    } finally {
      diag.disable();
    }
  });

  it('tells the lines a logger causes while it handles a line after it, and nothing they cause, so one that records a span at every line cannot recurse without end', () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    // Without ids: each span is dropped as missing_identity when it ends, at once.
    const recordOne = () => {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: { 'cif.kpi.reason': 'inbound' } });
      span.addEvent('CallAccepted');
      span.end();
    };
    const lines: string[] = [];
    const restore = installActingDiag((_level, line) => {
      lines.push(line);
      recordOne();
    });
    try {
      recordOne();
      recordOne();
    } finally {
      restore();
    }
    // Each of the page's two lines causes one that is told after it; the spans recorded at those are counted, not told.
    const again = 'Counted in getStats().dropped.missing_identity.';
    expect(lines.map((line) => line.split('. ')[1])).to.deep.equal(['Counted in getStats().dropped.missing_identity; shown once.', again, again, again]);
    const stats = exporter.getStats();
    expect([stats.spansSeen, stats.dropped.missing_identity]).to.deep.equal([6, 6]);
  });

  it('fails with a CifExportError whose errors a caller can tell apart, each an exported class', async () => {
    const client = new RecordingCifClient({ answer: (call) => (call.eventName === 'A' ? Promise.reject(new Map([['message', 'Provider not active']])) : hangs()) });
    const exporter = new CifSpanExporter({ client, timeoutMillis: 50, retry: { maxAttempts: 1 } });
    const [result] = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1), event('B', T1)] })]);
    expect(result!.code).to.equal(ExportResultCode.FAILED);
    const error = result!.error as CifExportError;
    expect(error).to.be.instanceOf(CifExportError);
    expect(error.message).to.match(/^2 of 2 logAnalyticsEvent calls failed: Provider not active; logAnalyticsEvent did not answer within 50 ms/);
    expect(error.errors.map((e) => e.constructor)).to.deep.equal([CifHostError, CifTimeoutError]);
    expect((error.errors[0] as CifHostError).cause).to.be.instanceOf(Map);
    expect([CifNotLoadedError, CifQueueFullError, CifShutdownError].every((c) => new c(1 as never) instanceof Error)).to.equal(true);
    await exporter.shutdown();
  });

  it('fails a batch that is not an array with an Error, and keeps spansSeen a number', async () => {
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    const results: ExportResult[] = [];
    exporter.export({ length: 3 } as never, (result) => results.push(result));
    exporter.export(null as never, (result) => results.push(result));
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED, ExportResultCode.FAILED]);
    expect(results.every((r) => r.error instanceof Error)).to.equal(true);
    expect(exporter.getStats().spansSeen).to.equal(0);
  });

  it('refuses whole a batch whose iteration throws part way: nothing counted, nothing sent', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
    const span = makeSpan({ attributes: IDENTITY, events: [event('A', T1)] });
    const batch = (function* () {
      yield span;
      throw new Error('the batch cannot be read further');
    })();
    const results: ExportResult[] = [];
    exporter.export(batch as never, (result) => results.push(result));
    await exporter.forceFlush();
    expect(results.map((r) => [r.code, r.error?.message])).to.deep.equal([[ExportResultCode.FAILED, 'CifSpanExporter: export() needs an array']]);
    expect([exporter.getStats().spansSeen, exporter.getStats().kpiEventsSent, client.calls.length]).to.deep.equal([0, 0, 0]);
  });

  it('exports, calls back once and leaves no unhandled rejection when the installed diag logger throws', async () => {
    const restore = installThrowingDiag();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject('once') : 'ok') });
      const exporter = shutDownAfterTest(new CifSpanExporter({ client, sesion: {} } as CifSpanExporterOptions));
      const spans = [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] }), makeSpan({ attributes: { 'cif.x': 1 }, events: [event('B', T1)] })];
      let called = 0;
      exporter.export(spans, () => {
        called++;
        throw new Error('callback bug');
      });
      await exporter.forceFlush();
      await new Promise((r) => setImmediate(r));
      expect(called).to.equal(1);
      expect(exporter.getStats()).to.include({ kpiEventsDelivered: 1 });
      expect(exporter.getStats().dropped.missing_identity).to.equal(1);
      expect(unhandled).to.deep.equal([]);
    } finally {
      restore();
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('CifSpanExporter under a diag logger that acts on what it is told', () => {
  const SESSION = setCifSession(ROOT_CONTEXT, { conversationId: 'conv-1', providerSessionId: 'prov-1' });
  const drops: Array<[reason: CifDropReason, options: (hold: Promise<string>) => CifSpanExporterOptions, shutDown: boolean]> = [
    ['host_error', () => ({ client: new RecordingCifClient({ answer: () => Promise.reject(new Error('refused')) }), retry: { maxAttempts: 1 } }), false],
    ['queue_full', (hold) => ({ client: new RecordingCifClient({ answer: () => hold }), maxQueueSize: 1 }), false],
    ['after_shutdown', () => ({ client: new RecordingCifClient() }), true],
  ];
  const triggers = [
    ['at each warning', (level: string, line: string) => level === 'warn' && line.includes('KPI events dropped'), false],
    ["at the first drop's DEBUG line", (level: string, line: string) => level === 'debug' && line.includes('given up as'), true],
  ] as const;
  drops.forEach(([reason, options, shutDown]) => triggers.forEach(([when, trigger, once]) =>
    it(`counts a KPI event dropped as ${reason} before it says so: getStats() balances at every line, and a logger that records a KPI event ${when} is warned once`, async () => {
      let release!: (answer: string) => void;
      const exporter = new CifSpanExporter(options(new Promise((resolve) => (release = resolve))));
      const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
      const recordOne = () => {
        const span = provider.getTracer('softphone').startSpan('call', {}, SESSION);
        recordKpiEvent(span, 'CallAccepted');
        span.end();
      };
      if (shutDown) await exporter.shutdown();
      const unbalanced: string[] = [];
      const warnings: string[] = [];
      let acted = 0;
      const restore = installActingDiag((level, line) => {
        try {
          expectBalanced(exporter.getStats());
        } catch (error) {
          unbalanced.push(`${line}: ${(error as Error).message}`);
        }
        if (level === 'warn' && line.includes('KPI events dropped')) warnings.push(line);
        // At most a few, so that a warning repeated at every drop shows as such, not as a stack overflow.
        if (trigger(level, line) && acted < (once ? 1 : 4)) {
          acted++;
          recordOne();
        }
      });
      try {
        recordOne();
        recordOne();
        release('ok');
        await exporter.forceFlush();
      } finally {
        restore();
      }
      const stats = exporter.getStats();
      expect([unbalanced, warnings.length, stats.spansSeen, stats.dropped[reason] + stats.kpiEventsDelivered]).to.deep.equal([[], 1, 3, 3]);
    }),
  ));
});

describe('CifSpanExporter delivery through the OpenTelemetry SDK', () => {
  afterEach(removePageCif);

  /** A span with `events` KPI events named `${prefix}.${i}`. */
  function kpiSpan(tracer: Tracer, prefix: string, events: number): void {
    const span = tracer.startSpan(prefix, { attributes: IDENTITY });
    for (let i = 0; i < events; i++) span.addEvent(`${prefix}.${i}`);
    span.end();
  }

  it('delivers every KPI event exactly once while exports, forceFlush and shutdown race', async () => {
    // On fake timers, which call meets which answer follows from the seed alone, not from the machine.
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    /** `promise`, once the fake clock has run every timer the calls set. */
    const settled = async <T>(promise: Promise<T>): Promise<T> => {
      await clock.runAllAsync();
      return promise;
    };
    try {
      const random = seededRandom(7);
      const delivered = new Map<string, number>();
      const client = new RecordingCifClient({
        answer: (call) => {
          const fail = random() < 0.25;
          if (!fail) for (const name of kpiNames(call)) delivered.set(name, (delivered.get(name) ?? 0) + 1);
          return later(Math.floor(random() * 3), fail ? () => Promise.reject(new Map([['message', 'busy']])) : 'ok');
        },
      });
      const exporter = new CifSpanExporter({
        client,
        maxConcurrentCalls: 4,
        retry: { maxAttempts: 10, initialBackoffMillis: 1, maxBackoffMillis: 4 },
      });
      const provider = new BasicTracerProvider({
        spanProcessors: [
          new BatchSpanProcessor(exporter, { maxExportBatchSize: 7, maxQueueSize: 5_000, scheduledDelayMillis: 1 }),
        ],
      });
      const tracer = provider.getTracer('softphone');
      const results: Array<{ id: string; result: ExportResult }> = [];
      const direct = (id: string) =>
        exporter.export([makeSpan({ attributes: IDENTITY, events: [event(id, T1)] })], (result) =>
          results.push({ id, result }),
        );

      for (let i = 0; i < 150; i++) kpiSpan(tracer, `span${i}`, 2);
      direct('direct.0');
      const flushes = [provider.forceFlush(), exporter.forceFlush(), exporter.forceFlush()];
      for (let i = 150; i < 300; i++) kpiSpan(tracer, `span${i}`, 2);
      direct('direct.1');
      flushes.push(provider.forceFlush());
      await settled(Promise.all(flushes));
      const shutdowns = [provider.shutdown(), exporter.shutdown()];
      direct('after.shutdown');
      await settled(Promise.all(shutdowns));
      await settled(exporter.shutdown());

      const expected = [
        ...Array.from({ length: 300 }, (_, i) => [`span${i}.0`, `span${i}.1`]).flat(),
        'direct.0',
        'direct.1',
      ];
      expect([...delivered.keys()].sort()).to.deep.equal(expected.sort());
      expect([...delivered.values()].every((n) => n === 1)).to.equal(true);
      expect(results.map((r) => [r.id, r.result.code])).to.have.deep.members([
        ['direct.0', ExportResultCode.SUCCESS],
        ['direct.1', ExportResultCode.SUCCESS],
        ['after.shutdown', ExportResultCode.FAILED],
      ]);
      const stats = exporter.getStats();
      expectBalanced(stats);
      expect(stats).to.include({ kpiEventsSent: 603, kpiEventsDelivered: 602, kpiEventsPending: 0, callsFailed: 1 });
      expect(stats.dropped.after_shutdown).to.equal(1);
      expect(stats.callsRetried).to.be.greaterThan(100);
    } finally {
      clock.uninstall();
    }
  });

  it('settles, by exporter.forceFlush() after provider.forceFlush(), the calls of a full batch the BatchSpanProcessor exported before the flush', async () => {
    const client = new RecordingCifClient({ answer: () => later(1, 'ok') });
    const exporter = new CifSpanExporter({ client });
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
    // 512 spans, the default maxExportBatchSize: exported as the last one ends, before any flush.
    const tracer = provider.getTracer('softphone');
    for (let i = 0; i < 512; i++) kpiSpan(tracer, `span${i}`, 1);
    await provider.forceFlush();
    await exporter.forceFlush();
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ kpiEventsSent: 512, kpiEventsDelivered: 512, kpiEventsPending: 0 });
  });

  it('holds KPI events ended before the CIF library loaded until CIFInitDone, then delivers them', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const page = pageWindow();
    try {
      const exporter = new CifSpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const tracer = provider.getTracer('softphone');
      kpiSpan(tracer, 'early', 2);
      const flushed = provider.forceFlush();
      const client = new RecordingCifClient();
      installCifWithoutInitDone(client);
      // Up to the moment before the wait for CIF runs out: only CIFInitDone can release the calls.
      await clock.tickAsync(DEFAULT_OPTIONS.readyTimeoutMillis - 1);
      expect(client.calls).to.have.length(0);
      expect(exporter.getStats()).to.include({ callsQueued: 2, kpiEventsPending: 2 });
      page.fire('CIFInitDone');
      await clock.tickAsync(0);
      await flushed;
      expect(client.calls.map(kpiNames)).to.deep.equal([['early.0'], ['early.1']]);
      expect(exporter.getStats()).to.include({ kpiEventsDelivered: 2, callsQueued: 0 });
      const closed = provider.shutdown();
      await clock.tickAsync(0);
      await closed;
    } finally {
      page.restore();
      clock.uninstall();
    }
  });

  it('waits for the ready promise the page passes before calling the host', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      let ready!: () => void;
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client, ready: new Promise<void>((r) => (ready = r)) });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      kpiSpan(provider.getTracer('softphone'), 'held', 1);
      // Up to the moment before the wait for CIF runs out: only the promise can release the call.
      await clock.tickAsync(DEFAULT_OPTIONS.readyTimeoutMillis - 1);
      expect(client.calls).to.have.length(0);
      ready();
      const flushed = provider.forceFlush();
      await clock.tickAsync(0);
      await flushed;
      expect(client.calls.map(kpiNames)).to.deep.equal([['held.0']]);
      const closed = provider.shutdown();
      await clock.tickAsync(0);
      await closed;
    } finally {
      clock.uninstall();
    }
  });

  it('bounds what a host that never answers can make it hold, and still shuts down', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      const client = new RecordingCifClient({ answer: hangs });
      const exporter = new CifSpanExporter({ client, maxConcurrentCalls: 2, maxQueueSize: 20, timeoutMillis: 200 });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const tracer = provider.getTracer('softphone');
      for (let i = 0; i < 500; i++) kpiSpan(tracer, `k${i}`, 1);
      const stats = exporter.getStats();
      expect(stats).to.include({ callsInFlight: 2, callsQueued: 18, kpiEventsPending: 20 });
      expect(stats.dropped.queue_full).to.equal(480);
      expect(client.calls).to.have.length(2);
      let shutDown = false;
      const closed = provider.shutdown().then(() => (shutDown = true));
      // shutdown waits timeoutMillis for the calls, not one timeoutMillis per call the host leaves hanging.
      await clock.tickAsync(199);
      expect(shutDown).to.equal(false);
      await clock.tickAsync(1);
      expect(shutDown).to.equal(true);
      await closed;
      const settled = exporter.getStats();
      expectBalanced(settled);
      expect(settled).to.include({ callsInFlight: 0, callsQueued: 0, kpiEventsPending: 0, kpiEventsDelivered: 0 });
    } finally {
      clock.uninstall();
    }
  });

  describe('in a page, with the browser BatchSpanProcessor', () => {
    const document = usePageDocument();
    PAGE_HIDES.forEach(([when, hide]) =>
      it(`hands the KPI events to the host before returning when ${when}`, async () => {
        const client = new RecordingCifClient();
        const exporter = new CifSpanExporter({ client });
        const provider = new BasicTracerProvider({
          spanProcessors: [new BrowserBatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 })],
        });
        kpiSpan(provider.getTracer('softphone'), 'unload', 3);
        expect(client.calls).to.have.length(0);
        hide(document());
        expect(client.calls.map(kpiNames)).to.deep.equal([['unload.0'], ['unload.1'], ['unload.2']]);
        await provider.shutdown();
      }),
    );

    const processors: Array<[string, (exporter: CifSpanExporter) => SpanProcessor, string[]]> = [
      ['the browser BatchSpanProcessor', (exporter) => new BrowserBatchSpanProcessor({ exporter }), ['visibilitychange', 'pagehide']],
      ['the browser BatchSpanProcessor with disableAutoFlushOnDocumentHide', (exporter) => new BrowserBatchSpanProcessor({ exporter, disableAutoFlushOnDocumentHide: true }), []],
      ["Node's BatchSpanProcessor", (exporter) => new BatchSpanProcessor(exporter), []],
    ];
    processors.forEach(([what, make, expected]) =>
      it(`finds ${what} listening on document for ${expected.join(' and ') || 'nothing'}, and for nothing once shut down`, async () => {
        const listeners = listening(document());
        const provider = new BasicTracerProvider({ spanProcessors: [make(new CifSpanExporter({ client: new RecordingCifClient() }))] });
        expect(listeners()).to.deep.equal(expected);
        await provider.shutdown();
        expect(listeners()).to.deep.equal([]);
      }),
    );

    it('does not flush when the page becomes visible again', async () => {
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client });
      const provider = new BasicTracerProvider({
        spanProcessors: [new BrowserBatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 })],
      });
      kpiSpan(provider.getTracer('softphone'), 'visible', 1);
      document().dispatchEvent(new Event('visibilitychange'));
      expect(client.calls).to.have.length(0);
      await provider.shutdown();
      expect(client.calls).to.have.length(1);
    });
  });
});

describe('CifSpanExporter under default options, with a host that answers in 2 ms', () => {
  let clock: InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => clock.uninstall());

  /** A span with 4 KPI events, named `${name}.0` to `${name}.3`. */
  function burstSpan(tracer: Tracer, name: string): void {
    const span = tracer.startSpan(name, { attributes: IDENTITY });
    for (let i = 0; i < 4; i++) span.addEvent(`${name}.${i}`);
    span.end();
  }
  const expectedNames = (spans: number) => Array.from({ length: spans }, (_, s) => [0, 1, 2, 3].map((i) => `s${s}.${i}`)).flat();

  it('delivers a whole export of 512 spans with 4 KPI events each, the BatchSpanProcessor default batch', async () => {
    const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
    const exporter = new CifSpanExporter({ client });
    const spans = Array.from({ length: 512 }, (_, s) =>
      makeSpan({ attributes: IDENTITY, events: [0, 1, 2, 3].map((i) => event(`s${s}.${i}`, T1)) }),
    );
    const results: ExportResult[] = [];
    exporter.export(spans, (result) => results.push(result));
    await clock.tickAsync(10_000);
    expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.map(kpiNames).flat()).to.deep.equal(expectedNames(512));
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ kpiEventsSent: 2048, kpiEventsDelivered: 2048, callsFailed: 0 });
    await exporter.shutdown();
  });

  it('delivers the 2048 spans of a BatchSpanProcessor at its defaults, 4 KPI events each, flushed at once', async () => {
    const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
    const exporter = new CifSpanExporter({ client });
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer('softphone');
    for (let s = 0; s < 2048; s++) burstSpan(tracer, `s${s}`);
    let flushed = false;
    void provider.forceFlush().then(() => (flushed = true));
    await clock.tickAsync(10_000);
    expect(flushed).to.equal(true);
    expect(client.calls.map(kpiNames).flat().sort()).to.deep.equal(expectedNames(2048).sort());
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ spansSeen: 2048, kpiEventsSent: 8192, kpiEventsDelivered: 8192, callsFailed: 0 });
    const closed = provider.shutdown();
    await clock.tickAsync(0);
    await closed;
  });
});

describe('CifSpanExporter when the wall clock is set mid-call', () => {
  let clock: InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: Date.parse(T1) });
  });
  afterEach(() => clock.uninstall());

  const HOUR = 3_600_000;
  const steps: Array<[string, number]> = [
    ['back an hour', -HOUR],
    ['forward an hour', HOUR],
  ];
  steps.forEach(([how, step]) =>
    it(`still times out a call at 300 ms, and its forceFlush resolves, when the wall clock steps ${how}`, async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const exporter = new CifSpanExporter({ client, timeoutMillis: 300 });
      const results: ExportResult[] = [];
      exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], (result) => results.push(result));
      let flushed = false;
      void exporter.forceFlush().then(() => (flushed = true));
      await clock.tickAsync(100);
      clock.setSystemTime(Date.now() + step);
      await clock.tickAsync(199);
      expect(results).to.deep.equal([]);
      await clock.tickAsync(1);
      expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
      expect(flushed).to.equal(true);
      expect(exporter.getStats()).to.include({ callsTimedOut: 1, kpiEventsPending: 0 });
      const closed = exporter.shutdown();
      await clock.tickAsync(0);
      await closed;
    }),
  );

  it('keeps the wall-clock time of the event as eventTimestamp, whatever the monotonic clock says', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    clock.setSystemTime(Date.now() - HOUR);
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], () => {});
    await clock.tickAsync(0);
    expect(client.calls.map((c) => (c.data as { events: Array<{ eventTimestamp: string }> }).events[0]!.eventTimestamp)).to.deep.equal([T1]);
    await exporter.shutdown();
  });
});

describe('CifSpanExporter behind the SDK at its defaults', () => {
  let clock: InstalledClock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => clock.uninstall());

  /** Shuts `provider` down while the fake clock runs. */
  async function shutDown(provider: { shutdown(): Promise<void> }): Promise<void> {
    const closed = provider.shutdown();
    await clock.runAllAsync();
    await closed;
  }

  it('exports a span 5 s after it ends through a BatchSpanProcessor at its defaults', async () => {
    const client = new RecordingCifClient();
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new CifSpanExporter({ client }))] });
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await clock.tickAsync(4_999);
    expect(client.calls).to.have.length(0);
    await clock.tickAsync(1);
    expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    await shutDown(provider);
  });

  it('counts nothing for a span that has not ended: spansSeen stays 0', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    const flushed = provider.forceFlush();
    await clock.tickAsync(10_000);
    await flushed;
    expect(exporter.getStats()).to.include({ spansSeen: 0, cifSpans: 0, kpiEventsSent: 0 });
    expect(client.calls).to.have.length(0);
    span.end();
    await shutDown(provider);
  });

  it("rejects provider.forceFlush() with the SDK's array of errors, a CifExportError, when no CIF library came within readyTimeoutMillis", async () => {
    // Quiet: in Node no window can raise CIFInitDone, which the exporter warns about.
    captureDiag();
    try {
      const exporter = new CifSpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
      const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
      span.addEvent('CallAccepted');
      span.end();
      let rejection: unknown;
      const flushed = provider.forceFlush().catch((errors: unknown) => (rejection = errors));
      await clock.tickAsync(19_999);
      expect(rejection).to.equal(undefined);
      await clock.tickAsync(1);
      await flushed;
      expect(rejection).to.be.an('array').with.length(1);
      const [error] = rejection as unknown[];
      expect(error).to.be.instanceOf(CifExportError);
      expect((error as CifExportError).errors.map((e) => e.constructor)).to.deep.equal([CifNotLoadedError]);
      expect(exporter.getStats().dropped.cif_not_loaded).to.equal(1);
      await shutDown(provider);
    } finally {
      diag.disable();
    }
  });

  it("stops a BatchSpanProcessor's flush after its exportTimeoutMillis of 30 s, while the call still settles and is counted", async () => {
    const client = new RecordingCifClient({ answer: () => later(40_000, 'ok') });
    const exporter = new CifSpanExporter({ client, timeoutMillis: 60_000 });
    const processor = new BatchSpanProcessor(exporter);
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    let rejection: unknown;
    const flushed = processor.forceFlush().catch((error: unknown) => (rejection = error));
    await clock.tickAsync(29_999);
    expect(rejection).to.equal(undefined);
    await clock.tickAsync(1);
    await flushed;
    expect(rejection).to.be.instanceOf(Error);
    expect(exporter.getStats()).to.include({ kpiEventsPending: 1, callsInFlight: 1 });
    await clock.tickAsync(10_000);
    const stats = exporter.getStats();
    expect(stats).to.include({ kpiEventsDelivered: 1, kpiEventsPending: 0, callsInFlight: 0 });
    expectBalanced(stats);
    await shutDown(provider);
  });
});

describe('CifSpanExporter behind the SDK span limits', () => {
  it('sends the last 128 events of a span at the default eventCountLimit, and counts the first ones as sdk_event_limit', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const messages = captureDiag();
    try {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      for (let i = 0; i < 130; i++) span.addEvent(`K${i}`);
      span.end();
      await provider.forceFlush();
    } finally {
      diag.disable();
    }
    // The SDK keeps a span's latest events: the first ones are lost.
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(Array.from({ length: 128 }, (_, i) => `K${i + 2}`));
    expect(exporter.getStats().dropped.sdk_event_limit).to.equal(2);
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.have.length(1);
    await provider.shutdown();
  });

  it('counts as sdk_event_limit, and warns of, the KPI event the SDK pushed off a span whose ids are on the resource, and no span of another resource', async () => {
    const lines = captureLevels();
    const client = new RecordingCifClient();
    // The README's attribute table: the ids may be on the resource; only recorded KPI events are sent.
    const exporter = new CifSpanExporter({ client, outbox: false, eventFilter: recordedKpiEventsOnly });
    const widget = new BasicTracerProvider({ resource: resourceFromAttributes(IDENTITY), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const other = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      for (const provider of [widget, other]) {
        const span = provider.getTracer('softphone').startSpan('call');
        recordKpiEvent(span, 'CallAccepted');
        // Another library's events on the same long span: the SDK keeps the last 128 (spanLimits.eventCountLimit).
        for (let i = 0; i < 128; i++) span.addEvent('audio level');
        span.end();
      }
      await exporter.forceFlush();
    } finally {
      diag.disable();
    }
    expect(client.calls).to.deep.equal([]);
    expect(exporter.getStats()).to.deep.include({ spansSeen: 2, cifSpans: 0 });
    expect(exporter.getStats().dropped.sdk_event_limit).to.equal(1);
    expect(lines.filter((line) => line.includes('getStats().dropped.sdk_event_limit'))).to.have.length(1);
    await Promise.all([widget.shutdown(), other.shutdown(), exporter.shutdown()]);
  });

  it('sends ids and cif.kpi.* values as the SDK attributeValueLengthLimit cut them, counting no cut', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = new BasicTracerProvider({ spanLimits: { attributeValueLengthLimit: 4 }, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('softphone').startSpan('call', { attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' } });
    span.addEvent('CallHold', { 'cif.kpi.reason': 'customer asked' }, new Date(T1));
    span.end();
    await provider.forceFlush();
    expect(client.calls.map((c) => c.data)).to.deep.equal([
      { conversationId: 'conv', providerSessionId: 'prov', events: [{ kpiEventName: 'CallHold', kpiEventReason: 'cust', eventTimestamp: T1 }] },
    ]);
    const stats = exporter.getStats();
    expect(Object.values(stats.truncated).every((n) => n === 0)).to.equal(true);
    expect(Object.values(stats.droppedFields).every((n) => n === 0)).to.equal(true);
    await provider.shutdown();
  });
});

describe("CifSpanExporter on a page whose own objects throw", () => {
  let messages: string[];
  const g = globalThis as Record<string, unknown>;
  beforeEach(() => (messages = captureDiag()));
  afterEach(() => {
    diag.disable();
    delete g['addEventListener'];
    delete g['removeEventListener'];
    removePageCif();
  });

  function throwingListeners(): void {
    g['addEventListener'] = () => {
      throw new Error('sandboxed');
    };
    g['removeEventListener'] = () => {};
  }

  const constructors: Array<[string, () => unknown]> = [
    ['CifSpanExporter', () => shutDownAfterTest(new CifSpanExporter())],
    ['CifDelivery', () => shutDownDeliveryAfterTest(new CifDelivery())],
  ];
  constructors.forEach(([name, make]) =>
    it(`constructs a ${name} when addEventListener throws, and warns once that it cannot hear CIFInitDone`, () => {
      throwingListeners();
      expect(make).not.to.throw();
      expect(messages.filter((m) => m.includes('CIFInitDone'))).to.have.length(1);
      expect(messages[0]).to.include('addEventListener threw: sandboxed');
    }),
  );

  const finds: Array<[string, boolean]> = [
    ['at the first call', true],
    ['when the wait for CIF runs out', false],
  ];
  finds.forEach(([when, before]) =>
    it(`still finds Microsoft.CIFramework ${when} when addEventListener throws`, async () => {
      throwingListeners();
      const client = new RecordingCifClient();
      if (before) installCifWithoutInitDone(client);
      const exporter = new CifSpanExporter({ readyTimeoutMillis: 10 });
      const results: ExportResult[] = [];
      exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], (r) => results.push(r));
      if (!before) installCifWithoutInitDone(client);
      await exporter.forceFlush();
      expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
      await exporter.shutdown();
    }),
  );

  it('times out a call started while performance.now threw, its deadline on the scale of the readings before and after', async () => {
    const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: hangs }), timeoutMillis: 50 });
    const results: ExportResult[] = [];
    const now = performance.now;
    performance.now = () => {
      throw new Error('replaced by the page');
    };
    try {
      exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], (r) => results.push(r));
    } finally {
      performance.now = now;
    }
    await exporter.forceFlush();
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
    expect(exporter.getStats().dropped.timed_out).to.equal(1);
    await exporter.shutdown();
  });

  [undefined, Number.NaN, 'soon', Infinity].forEach((reading) =>
    it(`times out a hanging call at timeoutMillis, on one timer, when the page's performance.now gives ${String(reading)}`, async () => {
      const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const now = performance.now;
      performance.now = () => reading as number;
      try {
        const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: hangs }), timeoutMillis: 300 });
        const results: ExportResult[] = [];
        exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], (r) => results.push(r));
        const start = Date.now();
        expect(clock.countTimers()).to.equal(1);
        await clock.nextAsync();
        expect(Date.now() - start).to.equal(300);
        await clock.tickAsync(0);
        expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
        expect(exporter.getStats()).to.include({ callsTimedOut: 1, kpiEventsPending: 0 });
        const closed = exporter.shutdown();
        await clock.runAllAsync();
        await closed;
      } finally {
        performance.now = now;
        clock.uninstall();
      }
    }),
  );

  it("delivers through a real provider where the page's setTimeout sets the timer but returns nothing", async () => {
    const realSetTimeout = globalThis.setTimeout;
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    // A wrapper that forgets to return the handle: the timer runs, the page gets undefined.
    globalThis.setTimeout = ((callback: () => void, millis?: number) => {
      timers.push(realSetTimeout(callback, millis));
    }) as unknown as typeof setTimeout;
    try {
      const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallAccepted');
      span.end();
      await provider.forceFlush();
    } finally {
      globalThis.setTimeout = realSetTimeout;
      timers.forEach((timer) => clearTimeout(timer));
    }
    expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ kpiEventsDelivered: 1, callsFailed: 0 });
    expect(messages).to.deep.equal([]);
  });

  it('neither throws nor loses a KPI event when the page took performance away', async () => {
    const ended = new InMemorySpanExporter();
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] }));
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
    const results: ExportResult[] = [];
    withPageGlobals({ performance: undefined }, () => {
      expect(() => exporter.export(ended.getFinishedSpans(), (result) => results.push(result))).not.to.throw();
    });
    await exporter.forceFlush();
    expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted']]);
    expectBalanced(exporter.getStats());
  });

  it('retries a rejected call within maxBackoffMillis when the page stubbed Math.random to return nothing', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const random = Math.random;
    try {
      const client = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('busy')) : 'ok') });
      const exporter = new CifSpanExporter({ client });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallAccepted');
      // As `sinon.stub(Math, 'random')` leaves it.
      Math.random = (() => undefined) as unknown as () => number;
      span.end();
      await clock.tickAsync(5_000);
      expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted'], ['CallAccepted']]);
      const stats = exporter.getStats();
      expectBalanced(stats);
      expect(stats).to.include({ kpiEventsDelivered: 1, kpiEventsPending: 0, callsRetried: 1 });
      const closed = provider.shutdown();
      await clock.tickAsync(0);
      await closed;
    } finally {
      Math.random = random;
      clock.uninstall();
    }
  });

  it('gives calls up as no_timer when setTimeout throws, calls back once, warns once, and recovers with the page', async () => {
    const realSetTimeout = globalThis.setTimeout;
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const results: ExportResult[] = [];
    const spans = [makeSpan({ attributes: IDENTITY, events: [event('A', T1), event('B', T1)] })];
    globalThis.setTimeout = (() => {
      throw new Error('timers are off');
    }) as unknown as typeof setTimeout;
    try {
      expect(() => exporter.export(spans, (r) => results.push(r))).not.to.throw();
      await exporter.forceFlush();
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    await new Promise((resolve) => realSetTimeout(resolve, 0));
    expect(results).to.have.length(1);
    const error = results[0]!.error as CifExportError;
    expect(error.errors.map((e) => [e.name, e.message])).to.deep.equal([
      ['CifTimerError', 'setTimeout failed (timers are off), so calls cannot be timed: given up'],
    ]);
    expect(client.calls).to.deep.equal([]);
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ kpiEventsPending: 0, callsMade: 0, callsFailed: 2 });
    expect(stats.dropped.no_timer).to.equal(2);
    expect(messages.filter((m) => m.includes('no_timer'))).to.have.length(1);
    // Once the page's timers work again, so does delivery.
    expect(await exportOnce(exporter, spans)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.map(kpiNames)).to.deep.equal([['A'], ['B']]);
    await exporter.shutdown();
  });
});
