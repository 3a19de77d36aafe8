// Claims of docs/delivery.md that no other test checks, each asserted as the doc words it, through
// the real OpenTelemetry trace SDK. The doc line each test proves is named in its comment.
import { ExportResultCode, loggingErrorHandler, setGlobalErrorHandler, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifExportError, CifShutdownError, CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced, hangs, installCifWithoutInitDone, later, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';

/** Spans as the trace SDK ends them, one KPI event each, named `names`. */
function sdkSpans(...names: string[]): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('softphone');
  for (const name of names) {
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent(name);
    span.end();
  }
  return memory.getFinishedSpans();
}

describe('CifSpanExporter delivery, as docs/delivery.md describes it', () => {
  const time = useFakeClock(() => {
    removePageCif();
    setGlobalErrorHandler(loggingErrorHandler());
  });
  let lines: string[];
  beforeEach(() => {
    lines = captureLevels();
  });

  const widget = (options: CifSpanExporterOptions = {}) => pageWidget(time.closeables, options);

  it('hears a CIFInitDone that fires after construction and before the first export, so a first failure is a host error retried on its backoff', async () => {
    const page = pageWindow();
    try {
      const host = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
      const { exporter, record } = widget();
      // The page's library starts after the exporter was made and before anything is recorded.
      installCifWithoutInitDone(host);
      page.fire('CIFInitDone');
      record('CallAccepted');
      await time.clock.tickAsync(0);
      expect(lines.filter((l) => l.includes("call 'CallAccepted'"))).to.have.length(1);
      expect(lines.find((l) => l.includes("call 'CallAccepted'"))).to.match(/^debug call 'CallAccepted' failed \(Provider not active\); retry 1 in \d+ ms$/);
      // The longest backoff of the first retry: 250 ms times the largest jitter, 1.2.
      await time.clock.tickAsync(300);
      expect(host.calls).to.have.length(2);
      expect(exporter.getStats()).to.include({ kpiEventsDelivered: 1, callsRetried: 1 });
      expect(lines.some((l) => l.includes('waiting for CIF again'))).to.equal(false);
    } finally {
      page.restore();
    }
  });

  it('holds no slot for a timed-out call when timeoutMillis is 100 s or more: the next call goes at its timeout', async () => {
    const host = new RecordingCifClient({ answer: (_, index) => (index === 0 ? hangs() : 'ok') });
    const { exporter, record } = widget({ client: host, timeoutMillis: 120_000, maxConcurrentCalls: 1 });
    record('A');
    record('B');
    await time.clock.tickAsync(119_999);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['A']);
    await time.clock.tickAsync(1);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['A', 'B']);
    expect(exporter.getStats()).to.include({ callsTimedOut: 1, callsAbandoned: 0, kpiEventsDelivered: 1 });
  });

  it('counts in callsFailed each call that failed for good once, whatever the reason: a call retried to host_error and one refused as queue_full', async () => {
    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const { exporter, record } = widget({ client: host, maxQueueSize: 1 });
    record('A');
    // A, in backoff, is still pending: B finds the queue full.
    record('B');
    await time.clock.tickAsync(2_000);
    const stats = exporter.getStats();
    expect(stats).to.include({ callsMade: 3, callsRetried: 2, callsFailed: 2, kpiEventsPending: 0 });
    expect(stats.dropped).to.include({ host_error: 1, queue_full: 1 });
    expectBalanced(stats);
  });

  it('refuses an export made after shutdown() was called and before it resolved, with the CifShutdownError itself, and lets the call in flight finish', async () => {
    const host = new RecordingCifClient({ answer: () => later(1_000, 'ok') });
    const exporter = new CifSpanExporter({ client: host, outbox: false });
    time.closeables.push(exporter);
    const [first, second] = sdkSpans('A', 'B');
    const results: ExportResult[] = [];
    exporter.export([first!], (r) => results.push(r));
    let closed = false;
    const closing = exporter.shutdown().then(() => (closed = true));
    exporter.export([second!], (r) => results.push(r));
    expect(closed).to.equal(false);
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error).to.be.instanceOf(CifShutdownError).and.not.to.be.instanceOf(CifExportError);
    expect(results[0]!.error!.message).to.equal('CifSpanExporter is shut down');
    await time.clock.tickAsync(1_000);
    await closing;
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['A']);
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED, ExportResultCode.SUCCESS]);
    expect(exporter.getStats()).to.include({ kpiEventsDelivered: 1 });
    expect(exporter.getStats().dropped.after_shutdown).to.equal(1);
  });

  for (const processor of ['SimpleSpanProcessor', 'BatchSpanProcessor'] as const) {
    it(`reaches the OpenTelemetry global error handler with the CifExportError of a failed export, through the ${processor}`, async () => {
      const handled: unknown[] = [];
      setGlobalErrorHandler((error) => handled.push(error));
      const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
      const exporter = new CifSpanExporter({ client: host, outbox: false, retry: { maxAttempts: 1 } });
      const provider = new BasicTracerProvider({
        spanProcessors: [processor === 'SimpleSpanProcessor' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
      });
      time.closeables.push(provider, exporter);
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted');
      span.end();
      // The BatchSpanProcessor exports on its timer, 5 s by default: not through forceFlush, which would reject instead.
      await time.clock.tickAsync(5_000);
      expect(handled).to.have.length(1);
      expect(handled[0]).to.be.instanceOf(CifExportError);
      expect((handled[0] as Error).message).to.equal('1 of 1 logAnalyticsEvent calls failed: Provider not active');
    });
  }

  it('calls back SUCCESS for an export whose only failures are mapping drops, and sends the KPI events the mapping kept', async () => {
    const host = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client: host, outbox: false });
    time.closeables.push(exporter);
    const memory = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('softphone');
    const spans: Array<[attributes: Record<string, string>, event: string]> = [
      [{ 'cif.kpi.reason': 'no ids' }, 'MissingIdentity'],
      [{ ...IDENTITY, 'cif.participant.id': 'p'.repeat(101) }, 'IdentityTooLong'],
      [IDENTITY, ''],
      [IDENTITY, 'CallAccepted'],
    ];
    for (const [attributes, name] of spans) {
      const span = tracer.startSpan('call', { attributes });
      span.addEvent(name);
      span.end();
    }
    const results: ExportResult[] = [];
    exporter.export(memory.getFinishedSpans(), (r) => results.push(r));
    await time.clock.tickAsync(0);
    expect(results.map((r) => [r.code, r.error])).to.deep.equal([[ExportResultCode.SUCCESS, undefined]]);
    expect(exporter.getStats().dropped).to.include({ missing_identity: 1, identity_too_long: 1, missing_kpi_name: 1 });
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
  });
});
