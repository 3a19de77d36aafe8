import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { context, diag } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, createLoggerConfigurator, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StackContextManager } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import { CifDelivery, CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced, kpiNames } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { FIXED_TRACE_ID, TRACE_GUID } from '../helpers/spans.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const T1 = '2026-11-25T10:15:30.123Z';

describe('log-based KPI events through the logs SDK as widgets wire it', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    logs.disable();
    diag.disable();
  });

  it('resolves loggerProvider.forceFlush() and shutdown() though the host refused what they flushed, as docs/log-based-events.md says', async () => {
    captureDiag();
    const outcomes: string[] = [];
    for (const kind of ['batch', 'simple'] as const) {
      const client = new RecordingCifClient({ answer: () => Promise.reject(new Error('no KPI event definition')) });
      const exporter = new CifLogRecordExporter({ client, outbox: false, retry: { maxAttempts: 1 } });
      const exporting = kind === 'batch' ? new BatchLogRecordProcessor({ exporter }) : new SimpleLogRecordProcessor({ exporter });
      const provider = new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), exporting] });
      withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted'));
      const settled = (promise: Promise<unknown>) => promise.then(() => 'resolved', () => 'rejected');
      outcomes.push(`${kind}: forceFlush ${await settled(provider.forceFlush())}, shutdown ${await settled(provider.shutdown())}, host_error ${exporter.getStats().dropped.host_error}`);
      expectBalanced(exporter.getStats());
    }
    // What the logs SDK does: unlike the provider's forceFlush() in docs/delivery.md, which rejects when an export fails.
    expect(outcomes).to.deep.equal(['batch: forceFlush resolved, shutdown resolved, host_error 1', 'simple: forceFlush resolved, shutdown resolved, host_error 1']);
    // Unlike spans (docs/delivery.md), so the doc says it.
    const doc = readFileSync(fileURLToPath(new URL('../../docs/log-based-events.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ');
    const sentences = doc.split(/(?<=\.) /);
    expect(sentences.filter((s) => s.includes('forceFlush()') && /resolve/.test(s)), 'a sentence of docs/log-based-events.md on forceFlush()').to.not.deep.equal([]);
  });

  it("waits in loggerProvider.forceFlush() and shutdown() of a BatchLogRecordProcessor for the span exporter's calls of a shared delivery, as docs/delivery.md says", async () => {
    captureDiag();
    const answers: Array<() => void> = [];
    // The host answers a log record's call at once and holds a span's until told.
    const client = new RecordingCifClient({
      answer: (call) => (kpiNames(call)[0] === 'CallHeld' ? new Promise<string>((resolve) => answers.push(() => resolve('ok'))) : 'ok'),
    });
    const delivery = new CifDelivery({ client, outbox: false });
    const tracers = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter({ delivery }))] }));
    const logExporter = new CifLogRecordExporter({ delivery });
    const loggers = new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter: logExporter })] });
    withCifSession(CALL, () => {
      const span = tracers.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallHeld');
      span.end();
      emitKpiEvent(loggers.getLogger('softphone'), 'CallAccepted');
    });
    const settledNow = async (promise: Promise<unknown>) => {
      let settled = false;
      void promise.then(() => (settled = true));
      for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      return settled;
    };
    const flushed = loggers.forceFlush();
    expect(await settledNow(flushed), 'forceFlush() before the span call is answered').to.equal(false);
    expect(logExporter.getStats()).to.include({ kpiEventsDelivered: 1, kpiEventsPending: 1 });
    answers.shift()!();
    expect(await settledNow(flushed), 'forceFlush() once it is answered').to.equal(true);
    withCifSession(CALL, () => {
      const span = tracers.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallHeld');
      span.end();
      emitKpiEvent(loggers.getLogger('softphone'), 'CallEnded');
    });
    const shutDown = loggers.shutdown();
    expect(await settledNow(shutDown), 'shutdown() before the span call is answered').to.equal(false);
    answers.shift()!();
    expect(await settledNow(shutDown), 'shutdown() once it is answered').to.equal(true);
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['CallHeld', 'CallAccepted', 'CallHeld', 'CallEnded']);
    expectBalanced(logExporter.getStats());
    const doc = readFileSync(fileURLToPath(new URL('../../docs/delivery.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ');
    const sentences = doc.split(/(?<=[.:]) /);
    expect(sentences.filter((s) => s.includes('BatchLogRecordProcessor') && s.includes('loggerProvider.forceFlush()')), 'a sentence of docs/delivery.md on it').to.not.deep.equal([]);
  });

  it('sends twice a KPI event written on a span and as a log record, as docs/log-based-events.md says', async () => {
    captureDiag();
    const client = new RecordingCifClient();
    const delivery = new CifDelivery({ client, outbox: false });
    const tracers = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter({ delivery }))] }));
    const loggers = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: new CifLogRecordExporter({ delivery }) })] }));
    withCifSession(CALL, () => {
      const span = tracers.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
      emitKpiEvent(loggers.getLogger('softphone'), 'CallAccepted', undefined, { time: new Date(T1) });
      span.end();
    });
    await Promise.all([tracers.forceFlush(), loggers.forceFlush()]);
    expect(client.payloads().map((data) => data.events[0]!.kpiEventName)).to.deep.equal(['CallAccepted', 'CallAccepted']);
    const doc = readFileSync(fileURLToPath(new URL('../../docs/log-based-events.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ');
    expect(doc).to.include('is sent twice');
  });

  it('leaves out a map attribute whose only value is undefined, as empty: the session processor fills such an id, and no field is sent as {}', async () => {
    captureDiag();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, outbox: false });
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
    withCifSession(CALL, () =>
      provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes: { 'cif.conversation.id': { id: undefined }, 'cif.kpi.reason': { note: undefined } } }),
    );
    await provider.forceFlush();
    await exporter.forceFlush();
    const [data] = client.payloads();
    expect([data!.conversationId, 'kpiEventReason' in data!.events[0]!]).to.deep.equal(['conv-1', false]);
  });

  it('stamps every record, full batches of maxExportBatchSize included, when the session processor comes after a BatchLogRecordProcessor at its defaults', async () => {
    captureDiag();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, outbox: false });
    // The batch processor starts a full batch's export inside the emit of its 512th record, before the processors after it.
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter }), new CifSessionLogRecordProcessor()] }));
    const logger = provider.getLogger('softphone');
    withCifSession(CALL, () => {
      for (let i = 0; i < 1025; i++) emitKpiEvent(logger, 'CallAccepted');
    });
    await provider.forceFlush();
    const stats = exporter.getStats();
    expect([client.calls.length, stats.logRecordsSeen, stats.cifLogRecords, stats.kpiEventsDelivered, stats.dropped.missing_identity]).to.deep.equal([1025, 1025, 1025, 1025, 0]);
    expectBalanced(stats);
  });

  it("sends the KPI events of emitKpiEvent through a loggerConfigurator's minimumSeverity, as they carry no severity, while it drops a plain event below it", async () => {
    captureDiag();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, outbox: false });
    const provider = shutDownAfterTest(
      new LoggerProvider({
        loggerConfigurator: createLoggerConfigurator([{ pattern: '*', config: { minimumSeverity: SeverityNumber.WARN } }]),
        processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })],
      }),
    );
    const logger = provider.getLogger('softphone');
    withCifSession(CALL, () => {
      emitKpiEvent(logger, 'CallAccepted');
      logger.emit({ eventName: 'CallDebugged', severityNumber: SeverityNumber.DEBUG });
    });
    await provider.forceFlush();
    expect([client.calls.map((c) => c.eventName), exporter.getStats().logRecordsSeen]).to.deep.equal([['CallAccepted'], 1]);
  });

  it('with StackContextManager and the global logs API, sends the KPI event emitted before the first await with its span trace id, and counts the one after it as missing_identity, warning with its name', async () => {
    context.disable();
    context.setGlobalContextManager(new StackContextManager().enable());
    const messages = captureDiag();
    const client = new RecordingCifClient();
    const exporter = new CifLogRecordExporter({ client, outbox: false });
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter })] }));
    logs.setGlobalLoggerProvider(provider);
    const logger = logs.getLogger('softphone');
    const tracer = shutDownAfterTest(new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID })).getTracer('softphone');
    await withCifSession(CALL, async () => {
      tracer.startActiveSpan('accept call', (span) => {
        emitKpiEvent(logger, 'CallAccepted', { notificationResponseAction: 'accepted' }, { time: new Date(T1) });
        span.end();
      });
      await Promise.resolve();
      emitKpiEvent(logger, 'CallHold');
    });
    await provider.forceFlush();
    expect(client.calls).to.deep.equal([
      {
        data: { ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, notificationResponseAction: 'accepted' }] },
        eventName: 'CallAccepted',
        correlationId: TRACE_GUID,
      },
    ]);
    const stats = exporter.getStats();
    expect([stats.logRecordsSeen, stats.cifLogRecords, stats.dropped.missing_identity]).to.deep.equal([2, 2, 1]);
    expect(messages.filter((m) => m.includes("log record 'CallHold' has no cif.conversation.id and cif.provider_session.id"))).to.have.length(1);
    expectBalanced(stats);
  });
});
