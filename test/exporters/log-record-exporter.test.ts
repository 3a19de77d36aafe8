import { context, diag, DiagLogLevel, trace, type Tracer } from '@opentelemetry/api';
import type { Logger } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
// What a bundler resolves `BatchLogRecordProcessor` to in a page: the one that flushes on page hide.
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import {
  CifDelivery,
  CifExportError,
  CifHostError,
  CifQueueFullError,
  CifSessionSpanProcessor,
  CifShutdownError,
  CifSpanExporter,
  recordKpiEvent,
  recordedKpiEventsOnly,
  withCifSession,
  type CifAnalyticsData,
  type CifKpiEventDetails,
} from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent, type CifLogRecordExporterOptions } from '../../src/logs.js';
import { RecordingCifClient, installFakeCIFramework, type RecordedCifCall } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced, kpiNames } from '../helpers/fake-client.js';
import { PAGE_HIDES, listening, usePageDocument } from '../helpers/page-document.js';
import { FIXED_TRACE_ID, TRACE_GUID } from '../helpers/spans.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { shutDownDeliveryAfterTest } from '../helpers/shut-down-delivery.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const T3 = '2026-11-25T10:17:45.500Z';
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const RESOURCE = { 'service.name': 'softphone', 'cif.participant.id': 'agent-7' };

type Closeable = { shutdown(): Promise<void> };

/** Lets every pending promise callback and I/O turn run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A host that answers nothing until told to: `release()` answers the oldest held call. */
function holdingHost() {
  const held: Array<() => void> = [];
  let answered = 0;
  let maxInFlight = 0;
  const client = new RecordingCifClient({
    answer: () => new Promise<string>((resolve) => held.push(() => resolve('ok'))),
    onCall: () => {
      maxInFlight = Math.max(maxInFlight, client.calls.length - answered);
    },
  });
  return {
    client,
    get maxInFlight() {
      return maxInFlight;
    },
    async release() {
      const answer = held.shift();
      expect(answer, 'a held call to answer').to.not.equal(undefined);
      answered++;
      answer!();
      await settle();
    },
  };
}

/** Exports once and waits for every call to settle, so a second callback would be seen. */
async function exportAll(exporter: CifLogRecordExporter | CifSpanExporter, items: unknown[]): Promise<ExportResult[]> {
  const results: ExportResult[] = [];
  await new Promise<void>((resolve) =>
    (exporter as CifLogRecordExporter).export(items as ReadableLogRecord[], (result) => {
      results.push(result);
      resolve();
    }),
  );
  await exporter.forceFlush();
  await settle();
  return results;
}

/** The counters both exporters have, without those only one source has. */
function commonCounters(stats: object): Record<string, unknown> {
  const copy = structuredClone(stats) as Record<string, unknown> & { dropped: Record<string, number> };
  for (const key of ['spansSeen', 'cifSpans', 'logRecordsSeen', 'cifLogRecords']) delete copy[key];
  for (const key of ['invalid_span', 'sdk_event_limit', 'invalid_log_record']) delete copy.dropped[key];
  return copy;
}

describe('CifLogRecordExporter with the OpenTelemetry logs SDK', () => {
  const closeables: Closeable[] = [];
  beforeEach(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterEach(async () => {
    await Promise.all(closeables.splice(0).map((c) => c.shutdown()));
    context.disable();
    diag.disable();
  });

  function tracerProvider(exporter?: CifSpanExporter): { provider: BasicTracerProvider; tracer: Tracer } {
    const spanProcessors = exporter ? [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] : [];
    const provider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, resource: resourceFromAttributes(RESOURCE), spanProcessors });
    closeables.push(provider);
    return { provider, tracer: provider.getTracer('softphone') };
  }

  function loggerProvider(exporter: CifLogRecordExporter | InMemoryLogRecordExporter, processor: 'simple' | 'batch', stamp = true) {
    const exporting = processor === 'simple' ? new SimpleLogRecordProcessor({ exporter }) : new BatchLogRecordProcessor({ exporter });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes(RESOURCE),
      processors: stamp ? [new CifSessionLogRecordProcessor(), exporting] : [exporting],
    });
    closeables.push(provider);
    return { provider, logger: provider.getLogger('softphone') };
  }

  /** Log records as the SDK hands them to exporters, emitted by `emit` under the call's session and span. */
  async function sdkLogRecords(emit: (logger: Logger) => void): Promise<ReadableLogRecord[]> {
    const memory = new InMemoryLogRecordExporter();
    const { provider, logger } = loggerProvider(memory, 'simple');
    const { tracer } = tracerProvider();
    withCifSession(CALL, () => tracer.startActiveSpan('inbound call', (span) => (emit(logger), span.end())));
    await provider.forceFlush();
    return [...memory.getFinishedLogRecords()];
  }

  async function sdkSpans(record: (tracer: Tracer) => void): Promise<ReadableSpan[]> {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      idGenerator: FIXED_TRACE_ID,
      resource: resourceFromAttributes(RESOURCE),
      spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(memory)],
    });
    closeables.push(provider);
    withCifSession(CALL, () => record(provider.getTracer('softphone')));
    await provider.forceFlush();
    return [...memory.getFinishedSpans()];
  }

  /** One widget flow: accept, hold across an await, end; `kpi` records each KPI event one way. */
  async function widgetFlow(tracer: Tracer, kpi: (name: string, details: CifKpiEventDetails | undefined, iso: string) => void): Promise<void> {
    await withCifSession(CALL, () =>
      tracer.startActiveSpan('inbound call', async (span) => {
        kpi('CallAccepted', { notificationResponseAction: 'accepted', reason: 'inbound' }, T1);
        await new Promise((resolve) => setTimeout(resolve, 1));
        kpi('CallHold', { reason: 'customer asked', customData: { msdyn_customattribute1: 'billing' } }, T2);
        await Promise.resolve();
        kpi('CallEnded', { additionalData: '{"duration":135}' }, T3);
        span.end();
      }),
    );
  }

  const identity = { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' };
  const expectedFlow: RecordedCifCall[] = [
    {
      data: { ...identity, events: [{ kpiEventName: 'CallAccepted', kpiEventReason: 'inbound', eventTimestamp: T1, notificationResponseAction: 'accepted' }] },
      eventName: 'CallAccepted',
      correlationId: TRACE_GUID,
    },
    {
      data: {
        ...identity,
        events: [{ kpiEventName: 'CallHold', kpiEventReason: 'customer asked', eventTimestamp: T2, customData: [{ attribute: 'msdyn_customattribute1', value: 'billing' }] }],
      },
      eventName: 'CallHold',
      correlationId: TRACE_GUID,
    },
    {
      data: { ...identity, events: [{ kpiEventName: 'CallEnded', eventTimestamp: T3, additionalData: '{"duration":135}' }] },
      eventName: 'CallEnded',
      correlationId: TRACE_GUID,
    },
  ];

  (['simple', 'batch'] as const).forEach((processor) =>
    it(`sends the same calls and counts the same for a widget instrumented with log-based events (${processor} processor) as with span events`, async () => {
      const spanClient = new RecordingCifClient();
      const spanExporter = new CifSpanExporter({ client: spanClient });
      const { tracer: spanTracer, provider: spanProvider } = tracerProvider(spanExporter);
      await widgetFlow(spanTracer, (name, details, iso) => recordKpiEvent(trace.getActiveSpan(), name, details, new Date(iso)));
      await spanProvider.forceFlush();
      await spanExporter.forceFlush();

      const logClient = new RecordingCifClient();
      const logExporter = new CifLogRecordExporter({ client: logClient });
      const { logger, provider: logProvider } = loggerProvider(logExporter, processor);
      const { tracer } = tracerProvider();
      await widgetFlow(tracer, (name, details, iso) => {
        if (name === 'CallHold') {
          // The way of the OpenTelemetry guidance, without the library's function.
          logger.emit({
            eventName: name,
            timestamp: new Date(iso),
            attributes: { 'cif.kpi.reason': details!.reason!, 'cif.kpi.custom.msdyn_customattribute1': 'billing' },
            body: 'agent put the customer on hold: card 4111 1111 1111 1111',
          });
        } else {
          emitKpiEvent(logger, name, details, { time: new Date(iso) });
        }
      });
      await logProvider.forceFlush();
      await logExporter.forceFlush();

      expect(logClient.calls).to.deep.equal(expectedFlow);
      expect(spanClient.calls).to.deep.equal(expectedFlow);
      expect(JSON.stringify(logClient.calls)).not.to.include('4111');
      const spanStats = spanExporter.getStats();
      const logStats = logExporter.getStats();
      expect(commonCounters(logStats)).to.deep.equal(commonCounters(spanStats));
      expect(logStats).to.include({ kpiEventsSent: 3, kpiEventsDelivered: 3, callsMade: 3, logRecordsSeen: 3, cifLogRecords: 3 });
    }),
  );

  it('stamps the session on records emitted after an await, through AsyncLocalStorage, and not on records outside it', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client });
    const { logger, provider } = loggerProvider(exporter, 'batch');
    await withCifSession({ ...CALL, clientSessionId: 'client-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await Promise.resolve();
      emitKpiEvent(logger, 'CallAccepted', undefined, { time: new Date(T1) });
    });
    emitKpiEvent(logger, 'Outside', undefined, { time: new Date(T2) });
    await provider.forceFlush();
    await exporter.forceFlush();

    expect(client.calls).to.have.length(1);
    const { correlationId, ...rest } = client.calls[0]!;
    expect(rest).to.deep.equal({
      data: { ...CALL, clientSessionId: 'client-1', participantId: 'agent-7', events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] },
      eventName: 'CallAccepted',
    });
    expect(correlationId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(exporter.getStats().dropped.missing_identity).to.equal(1);
  });

  it('calls the export result callback once with SUCCESS when the host accepts every call', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client }));
    const records = await sdkLogRecords((logger) => {
      emitKpiEvent(logger, 'CallAccepted');
      emitKpiEvent(logger, 'CallHold');
    });
    expect(await exportAll(exporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted', 'CallHold']);
  });

  it('retries a call the host rejected and reports SUCCESS once it is accepted', async () => {
    const client = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, retry: { maxAttempts: 3, initialBackoffMillis: 0, maxBackoffMillis: 0 } }));
    const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'CallAccepted'));
    expect(await exportAll(exporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted', 'CallAccepted']);
    expect(exporter.getStats()).to.include({ callsMade: 2, callsRetried: 1, callsFailed: 0, kpiEventsDelivered: 1 });
  });

  it('calls the export result callback once with FAILED and a CifExportError when the host keeps rejecting', async () => {
    const rejection = new Error('Provider not active');
    const client = new RecordingCifClient({ answer: () => Promise.reject(rejection) });
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, retry: { maxAttempts: 2, initialBackoffMillis: 0, maxBackoffMillis: 0 } }));
    const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'CallAccepted'));
    const results = await exportAll(exporter, records);
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    const error = results[0]!.error as CifExportError;
    expect(error).to.be.instanceOf(CifExportError);
    expect(error.message).to.equal('1 of 1 logAnalyticsEvent calls failed: Provider not active');
    expect(error.errors).to.have.length(1);
    expect(error.errors[0]).to.be.instanceOf(CifHostError).and.include({ message: 'Provider not active', cause: rejection });
    const stats = exporter.getStats();
    expect(stats).to.include({ callsMade: 2, callsRetried: 1, callsFailed: 1, kpiEventsDelivered: 0 });
    expect(stats.dropped.host_error).to.equal(1);
    expectBalanced(stats);
  });

  it('sends only the KPI events of emitKpiEvent with eventFilter recordedKpiEventsOnly, not other log events of the session', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, eventFilter: recordedKpiEventsOnly });
    closeables.push(exporter);
    const records = await sdkLogRecords((logger) => {
      emitKpiEvent(logger, 'CallAccepted');
      logger.emit({ eventName: 'browser.page_view', attributes: { 'url.path': '/softphone' } });
    });
    expect(await exportAll(exporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats()).to.include({ logRecordsSeen: 2, cifLogRecords: 2, kpiEventsSent: 1, callbackErrors: 0 });
  });

  it('counts a KPI event emitted with an empty or absent name as missing its name, with eventFilter recordedKpiEventsOnly', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, eventFilter: recordedKpiEventsOnly });
    closeables.push(exporter);
    const records = await sdkLogRecords((logger) => {
      emitKpiEvent(logger, '');
      emitKpiEvent(logger, undefined as unknown as string);
    });
    expect(await exportAll(exporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect([client.calls, exporter.getStats().dropped.missing_kpi_name]).to.deep.equal([[], 2]);
  });

  it('sends through the page CIF library when given no client', async () => {
    const fake = installFakeCIFramework();
    try {
      const exporter = new CifLogRecordExporter();
      const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'CallAccepted', undefined, { time: new Date(T1) }));
      expect(await exportAll(exporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(fake.client.calls).to.deep.equal([{ ...expectedFlow[0]!, data: { ...identity, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] } }]);
      await exporter.shutdown();
    } finally {
      fake.uninstall();
    }
  });

  describe('sharing one CifDelivery with CifSpanExporter', () => {
    function sharedPair(client: RecordingCifClient, options: ConstructorParameters<typeof CifDelivery>[0] = {}) {
      const delivery = new CifDelivery({ client, ...options });
      const spanExporter = new CifSpanExporter({ delivery });
      const logExporter = new CifLogRecordExporter({ delivery });
      closeables.push(spanExporter, logExporter);
      return { spanExporter, logExporter };
    }

    it('keeps at most maxConcurrentCalls calls in flight across both exporters', async () => {
      const host = holdingHost();
      const { spanExporter, logExporter } = sharedPair(host.client, { maxConcurrentCalls: 1 });
      const spanResults: ExportResult[] = [];
      const logResults: ExportResult[] = [];
      const spans = await sdkSpans((tracer) =>
        tracer.startActiveSpan('inbound call', (span) => {
          recordKpiEvent(span, 'SpanA');
          recordKpiEvent(span, 'SpanB');
          span.end();
        }),
      );
      const records = await sdkLogRecords((logger) => {
        emitKpiEvent(logger, 'LogA');
        emitKpiEvent(logger, 'LogB');
      });
      spanExporter.export(spans, (r) => spanResults.push(r));
      logExporter.export(records as never, (r) => logResults.push(r));
      await settle();

      expect(host.client.calls).to.have.length(1);
      for (const stats of [spanExporter.getStats(), logExporter.getStats()]) {
        expect(stats).to.include({ callsInFlight: 1, callsQueued: 3, kpiEventsSent: 4, kpiEventsPending: 4 });
      }
      for (let answered = 1; answered <= 4; answered++) {
        await host.release();
        expect(host.client.calls).to.have.length(Math.min(answered + 1, 4));
      }
      expect(host.maxInFlight).to.equal(1);
      expect(host.client.calls.flatMap(kpiNames).sort()).to.deep.equal(['LogA', 'LogB', 'SpanA', 'SpanB']);
      expect(spanResults).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(logResults).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(commonCounters(spanExporter.getStats())).to.deep.equal(commonCounters(logExporter.getStats()));
      expect(logExporter.getStats()).to.include({ kpiEventsDelivered: 4, kpiEventsPending: 0, callsMade: 4 });
    });

    it("waits in either exporter's forceFlush for the calls of the other", async () => {
      const host = holdingHost();
      const { spanExporter, logExporter } = sharedPair(host.client);
      const spans = await sdkSpans((tracer) =>
        tracer.startActiveSpan('inbound call', (span) => {
          recordKpiEvent(span, 'SpanA');
          span.end();
        }),
      );
      const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'LogA'));
      spanExporter.export(spans, () => {});
      logExporter.export(records as never, () => {});
      await settle();
      const flushed: string[] = [];
      const flushes = [
        logExporter.forceFlush().then(() => flushed.push('log exporter')),
        spanExporter.forceFlush().then(() => flushed.push('span exporter')),
      ];
      await host.release();
      expect(flushed).to.deep.equal([]);
      await host.release();
      await Promise.all(flushes);
      expect(flushed).to.have.members(['log exporter', 'span exporter']);
    });

    it('bounds the queue of both exporters with one maxQueueSize, counting the overflow as queue_full in both', async () => {
      const host = holdingHost();
      const { spanExporter, logExporter } = sharedPair(host.client, { maxConcurrentCalls: 1, maxQueueSize: 2 });
      const spans = await sdkSpans((tracer) =>
        tracer.startActiveSpan('inbound call', (span) => {
          recordKpiEvent(span, 'SpanA');
          span.end();
        }),
      );
      const records = await sdkLogRecords((logger) => {
        emitKpiEvent(logger, 'LogA', undefined, { time: new Date(T1) });
        emitKpiEvent(logger, 'LogB', undefined, { time: new Date(T2) });
      });
      const logResults: ExportResult[] = [];
      spanExporter.export(spans, () => {});
      await settle();
      logExporter.export(records as never, (r) => logResults.push(r));
      await settle();

      for (const stats of [spanExporter.getStats(), logExporter.getStats()]) {
        expect(stats.dropped.queue_full).to.equal(1);
        expect(stats).to.include({ kpiEventsSent: 3, kpiEventsPending: 2, callsInFlight: 1, callsQueued: 1 });
        expectBalanced(stats);
      }
      await host.release();
      await host.release();
      expect(host.client.calls.flatMap(kpiNames)).to.deep.equal(['SpanA', 'LogA']);
      expect(logResults).to.have.length(1);
      expect(logResults[0]!.code).to.equal(ExportResultCode.FAILED);
      expect((logResults[0]!.error as CifExportError).errors[0]).to.be.instanceOf(CifQueueFullError);
      const stats = logExporter.getStats();
      expect(stats).to.include({ kpiEventsSent: 3, kpiEventsDelivered: 2, kpiEventsPending: 0 });
      expectBalanced(stats);
      expect(commonCounters(spanExporter.getStats())).to.deep.equal(commonCounters(stats));
    });

    it('keeps delivering for the other exporter when one shuts down, and refuses the one shut down, saying at DEBUG which one', async () => {
      const client = new RecordingCifClient();
      const { spanExporter, logExporter } = sharedPair(client);
      await spanExporter.shutdown();
      const lines = captureDiag(DiagLogLevel.DEBUG);
      const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'AfterSpanShutdown'));
      expect(await exportAll(logExporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      const spans = await sdkSpans((tracer) =>
        tracer.startActiveSpan('inbound call', (span) => {
          recordKpiEvent(span, 'Refused');
          span.end();
        }),
      );
      const refused = await exportAll(spanExporter, spans);
      expect(refused.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
      expect(refused[0]!.error).to.be.instanceOf(CifShutdownError);
      expect(client.calls.flatMap(kpiNames)).to.deep.equal(['AfterSpanShutdown']);
      // The delivery is not shut down: the lines name the exporter that is, as its export result does.
      expect([refused[0]!.error!.message, lines.filter((line) => line.includes('Refused'))]).to.deep.equal([
        'CifSpanExporter is shut down',
        ["opentelemetry-exporter-cif call 'Refused' given up as after_shutdown: CifSpanExporter is shut down"],
      ]);
      expect(lines).to.include('opentelemetry-exporter-cif KPI events dropped: CifSpanExporter is shut down. Counted in getStats().dropped.after_shutdown; shown once.');
      const stats = logExporter.getStats();
      expect(stats).to.include({ kpiEventsSent: 2, kpiEventsDelivered: 1 });
      expect(stats.dropped.after_shutdown).to.equal(1);
      expectBalanced(stats);
    });

    it('returns the first promise when one exporter shuts down twice, and does not count it as the other leaving', async () => {
      const client = new RecordingCifClient();
      const { spanExporter, logExporter } = sharedPair(client);
      const first = spanExporter.shutdown();
      expect(spanExporter.shutdown()).to.equal(first);
      await first;
      const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'StillSent'));
      expect(await exportAll(logExporter, records)).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(client.calls.flatMap(kpiNames)).to.deep.equal(['StillSent']);
    });

    it('warns when given a delivery already shut down, and refuses every export saying the delivery is shut down', async () => {
      const client = new RecordingCifClient();
      const delivery = new CifDelivery({ client });
      const spanExporter = new CifSpanExporter({ delivery });
      await spanExporter.shutdown();
      const messages = captureDiag();
      const logExporter = new CifLogRecordExporter({ delivery });
      closeables.push(logExporter);
      expect(messages).to.deep.equal([
        'opentelemetry-exporter-cif CifLogRecordExporter: its CifDelivery is shut down, so every export is refused (dropped.after_shutdown).',
      ]);
      const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'TooLate'));
      const results = await exportAll(logExporter, records);
      expect(results.map((r) => [r.code, r.error?.message])).to.deep.equal([[ExportResultCode.FAILED, 'its CifDelivery is shut down']]);
      expect(client.calls).to.deep.equal([]);
      expect(logExporter.getStats().dropped.after_shutdown).to.equal(1);
      expectBalanced(logExporter.getStats());
    });

    it('fails the calls still waiting as after_shutdown when the last exporter using the delivery shuts down', async () => {
      const client = new RecordingCifClient();
      // CIF never becomes ready: every call waits, and only the shutdowns end them.
      const { spanExporter, logExporter } = sharedPair(client, { ready: new Promise(() => {}), readyTimeoutMillis: 600_000, timeoutMillis: 20 });
      const spans = await sdkSpans((tracer) =>
        tracer.startActiveSpan('inbound call', (span) => {
          recordKpiEvent(span, 'SpanA');
          span.end();
        }),
      );
      const records = await sdkLogRecords((logger) => {
        emitKpiEvent(logger, 'LogA');
        emitKpiEvent(logger, 'LogB');
      });
      const spanResults: ExportResult[] = [];
      const logResults: ExportResult[] = [];
      spanExporter.export(spans, (r) => spanResults.push(r));
      logExporter.export(records as never, (r) => logResults.push(r));

      await spanExporter.shutdown();
      expect(logExporter.getStats()).to.include({ kpiEventsPending: 3 });
      expect(logExporter.getStats().dropped.after_shutdown).to.equal(0);
      await logExporter.shutdown();
      await settle();

      for (const stats of [spanExporter.getStats(), logExporter.getStats()]) {
        expect(stats).to.include({ kpiEventsSent: 3, kpiEventsPending: 0, kpiEventsDelivered: 0, callsMade: 0 });
        expect(stats.dropped.after_shutdown).to.equal(3);
        expectBalanced(stats);
      }
      expect(client.calls).to.deep.equal([]);
      for (const results of [spanResults, logResults]) {
        expect(results).to.have.length(1);
        expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
        expect((results[0]!.error as CifExportError).errors[0]).to.be.instanceOf(CifShutdownError);
      }
    });

    const deliveryOptions: Array<[string, CifLogRecordExporterOptions]> = [
      ['client', { client: new RecordingCifClient() }],
      ['maxConcurrentCalls', { maxConcurrentCalls: 2 }],
      ['maxQueueSize', { maxQueueSize: 10 }],
      ['timeoutMillis', { timeoutMillis: 100 }],
    ];
    deliveryOptions.forEach(([name, options]) =>
      it(`throws a TypeError naming \`${name}\` when it is passed together with a delivery`, () => {
        const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client: new RecordingCifClient() }));
        expect(() => new CifLogRecordExporter({ delivery, ...options }))
          .to.throw(TypeError, `CifLogRecordExporter: option \`${name}\` belongs to the CifDelivery passed as \`delivery\``);
      }),
    );

    const notDeliveries: Array<[string, unknown]> = [
      ['a plain object', { client: new RecordingCifClient() }],
      ['a string', 'delivery'],
      ['null', null],
      ['false', false],
    ];
    notDeliveries.forEach(([what, delivery]) =>
      it(`throws a TypeError when delivery is ${what}, not a CifDelivery`, () => {
        expect(() => new CifLogRecordExporter({ delivery: delivery as CifDelivery })).to.throw(TypeError, 'CifLogRecordExporter: option `delivery` must be a CifDelivery');
      }),
    );
  });

  const at = (iso: string): [number, number] => [Math.floor(Date.parse(iso) / 1000), (Date.parse(iso) % 1000) * 1e6];
  const record = (overrides: Record<string, unknown>) => ({
    eventName: 'CallHold',
    hrTime: at(T1),
    hrTimeObserved: at(T1),
    attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' },
    resource: { attributes: {} },
    ...overrides,
  });
  const warnings: Array<[counter: string, records: () => unknown[], message: string]> = [
    ['dropped.invalid_log_record', () => [null], 'A log record that is not a ReadableLogRecord was skipped.'],
    [
      'dropped.identity_too_long',
      () => [record({ attributes: { 'cif.conversation.id': 'c'.repeat(101), 'cif.provider_session.id': 'prov-1' } })],
      "KPI events dropped: log record 'CallHold' has cif.conversation.id over 100 characters.",
    ],
    [
      'dropped.missing_kpi_name',
      () => [record({ eventName: undefined, attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1', 'cif.kpi.name': '' } })],
      'KPI events dropped: a log record has a cif.kpi.name or eventName that is empty or cannot be read.',
    ],
    ['dropped.invalid_timestamp', () => [record({ hrTime: [NaN, 0], hrTimeObserved: [Infinity, 0] })], "KPI events dropped: log record 'CallHold' has 'CallHold' at a time Dataverse cannot store."],
    [
      'droppedFields.sdk_attribute_limit',
      () => [record({ droppedAttributesCount: 2 })],
      'Fields lost: the SDK dropped log record attributes over logRecordLimits.attributeCountLimit.',
    ],
  ];
  warnings.forEach(([counter, records, message]) =>
    it(`warns once about ${counter}, saying what happened and where it is counted`, async () => {
      const messages = captureDiag();
      const exporter = shutDownAfterTest(new CifLogRecordExporter({ client: new RecordingCifClient() }));
      await exportAll(exporter, records());
      await exportAll(exporter, records());
      expect(messages).to.deep.equal([`opentelemetry-exporter-cif ${message} Counted in getStats().${counter}; shown once.`]);
    }),
  );

  it('warns that a KPI event emitted with an empty name has no name, not that its name is no string', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, session: { conversationId: 'conv-1', providerSessionId: 'prov-1' } });
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    const messages = captureDiag();
    try {
      emitKpiEvent(provider.getLogger('softphone'), '');
      await provider.forceFlush();
    } finally {
      diag.disable();
    }
    expect(exporter.getStats().dropped.missing_kpi_name).to.equal(1);
    expect(messages).to.deep.equal([
      'opentelemetry-exporter-cif KPI events dropped: a log record has a cif.kpi.name or eventName that is empty or cannot be read. Counted in getStats().dropped.missing_kpi_name; shown once.',
    ]);
    await provider.shutdown();
  });

  it('counts the attributes the SDK dropped over logRecordLimits.attributeCountLimit in droppedFields.sdk_attribute_limit', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client });
    const provider = new LoggerProvider({ logRecordLimits: { attributeCountLimit: 2 }, processors: [new SimpleLogRecordProcessor({ exporter })] });
    const messages = captureDiag();
    try {
      const attributes = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1', 'cif.kpi.reason': 'busy', 'call.queue': 'billing' };
      provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes });
      await provider.forceFlush();
    } finally {
      diag.disable();
    }
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted']);
    expect((client.calls[0]!.data as CifAnalyticsData).events[0]!.kpiEventReason).to.equal(undefined);
    expect(exporter.getStats().droppedFields.sdk_attribute_limit).to.equal(2);
    expect(messages.filter((m) => m.includes('logRecordLimits.attributeCountLimit'))).to.have.length(1);
    await provider.shutdown();
  });

  it('warns once, naming the record and the ids it lacks, when KPI events have no CIF identity', async () => {
    const messages = captureDiag();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client });
    const { logger, provider } = loggerProvider(exporter, 'simple', false);
    withCifSession(CALL, () => {
      emitKpiEvent(logger, 'CallAccepted');
      emitKpiEvent(logger, 'CallHold');
    });
    await provider.forceFlush();

    const warnings = messages.filter((m) => m.includes('missing_identity'));
    expect(warnings).to.deep.equal([
      "opentelemetry-exporter-cif KPI events dropped: log record 'CallAccepted' has no cif.conversation.id and cif.provider_session.id. " +
        'Counted in getStats().dropped.missing_identity; shown once.',
    ]);
    expect(client.calls).to.deep.equal([]);
    expect(exporter.getStats().dropped.missing_identity).to.equal(2);
  });

  it('names a record without a KPI event name as one, not as undefined, when it has no CIF identity', async () => {
    const unreadable = Object.defineProperty({}, 'cif.kpi.name', {
      enumerable: true,
      get() {
        throw new Error('no name');
      },
    });
    // An empty cif.kpi.name, through the SDK; one that cannot be read, on a record of another kind (the SDK copies attributes).
    const memory = new InMemoryLogRecordExporter();
    const { provider, logger } = loggerProvider(memory, 'simple', false);
    logger.emit({ attributes: { 'cif.kpi.name': '' } });
    await provider.forceFlush();
    const [record] = memory.getFinishedLogRecords();
    for (const source of [record!, Object.create(record!, { attributes: { value: unreadable } })]) {
      const messages = captureDiag();
      const exporter = new CifLogRecordExporter({ client: new RecordingCifClient() });
      try {
        await new Promise((resolve) => exporter.export([source], resolve));
      } finally {
        diag.disable();
      }
      expect(messages.filter((m) => m.includes('missing_identity'))).to.deep.equal([
        'opentelemetry-exporter-cif KPI events dropped: a log record without a name has no cif.conversation.id and cif.provider_session.id. ' +
          'Counted in getStats().dropped.missing_identity; shown once.',
      ]);
      expect(exporter.getStats().dropped.missing_identity).to.equal(1);
    }
  });

  it('refuses an export after shutdown as after_shutdown, and still resolves forceFlush', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client });
    const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'Late'));
    await exporter.shutdown();
    const results = await exportAll(exporter, records);
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error).to.be.instanceOf(CifShutdownError);
    expect(results[0]!.error!.message).to.equal('CifLogRecordExporter is shut down');
    await exporter.forceFlush();
    expect(client.calls).to.deep.equal([]);
    const stats = exporter.getStats();
    expect(stats).to.include({ kpiEventsSent: 1, logRecordsSeen: 1, cifLogRecords: 1 });
    expect(stats.dropped.after_shutdown).to.equal(1);
    expectBalanced(stats);
  });

  it('resolves forceFlush once every call in flight has settled', async () => {
    const host = holdingHost();
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client: host.client }));
    const records = await sdkLogRecords((logger) => emitKpiEvent(logger, 'CallAccepted'));
    exporter.export(records, () => {});
    let flushed = false;
    const flushing = exporter.forceFlush().then(() => (flushed = true));
    await settle();
    expect(flushed).to.equal(false);
    await host.release();
    await flushing;
    expect(flushed).to.equal(true);
    expect(exporter.getStats()).to.include({ kpiEventsDelivered: 1, kpiEventsPending: 0 });
  });
});

describe('CifLogRecordExporter in a page, with the 2.x browser BatchLogRecordProcessor', () => {
  const document = usePageDocument();
  PAGE_HIDES.forEach(([when, hide]) =>
    it(`hands the KPI event to the host a moment after ${when}`, async () => {
      const client = new RecordingCifClient();
      const provider = new LoggerProvider({
        processors: [new BrowserBatchLogRecordProcessor({ exporter: new CifLogRecordExporter({ client }), scheduledDelayMillis: 60_000 })],
      });
      provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' } });
      hide(document());
      expect(client.calls).to.deep.equal([]);
      await settle();
      expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallAccepted']);
      await provider.shutdown();
    }),
  );

  const processors: Array<[string, (exporter: CifLogRecordExporter) => LogRecordProcessor, string[]]> = [
    ['the browser BatchLogRecordProcessor', (exporter) => new BrowserBatchLogRecordProcessor({ exporter }), ['visibilitychange', 'pagehide']],
    ['the browser BatchLogRecordProcessor with disableAutoFlushOnDocumentHide', (exporter) => new BrowserBatchLogRecordProcessor({ exporter, disableAutoFlushOnDocumentHide: true }), []],
    ["Node's BatchLogRecordProcessor", (exporter) => new BatchLogRecordProcessor({ exporter }), []],
  ];
  processors.forEach(([what, make, expected]) =>
    it(`finds ${what} listening on document for ${expected.join(' and ') || 'nothing'}, and for nothing once shut down`, async () => {
      const listeners = listening(document());
      const provider = new LoggerProvider({ processors: [make(new CifLogRecordExporter({ client: new RecordingCifClient() }))] });
      expect(listeners()).to.deep.equal(expected);
      await provider.shutdown();
      expect(listeners()).to.deep.equal([]);
    }),
  );
});
