import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

const RESOURCE = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
const CALL_CONTEXT = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });

/** The real SDK's processors at their defaults, the outbox over the suite's Web Storage and Web Locks stand-ins, and fake timers. */
describe('ordinary production set-ups', () => {
  let clock: InstalledClock;
  const document = usePageDocument();

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
  });
  afterEach(async () => {
    await clock.runAllAsync();
    clock.uninstall();
    diag.disable();
  });

  /** Lets lock grants, exports and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);

  it('shuts the exporter down as the docs say to tear a widget down, though provider.shutdown() leaves it open when a call of its last flush failed', async () => {
    // A host that rejects (provider not active), no outbox (Node, Firefox frames, outbox: false), no retries to wait for.
    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: host, outbox: false, retry: { maxAttempts: 1 } }));
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes(RESOURCE), spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer('softphone');
    const span = tracer.startSpan('accept call', {}, CALL_CONTEXT);
    recordKpiEvent(span, 'CallAccepted');
    span.end();

    // docs/page-lifecycle.md: provider.shutdown(), then the exporter's own shutdown().
    const closing = provider.shutdown().then(
      () => 'resolved',
      () => 'rejected',
    );
    await settle();
    // The SDK's processor did not shut the exporter down: its flush failed.
    expect(await closing).to.equal('rejected');
    await exporter.shutdown();

    const results: ExportResult[] = [];
    exporter.export(cifSpansNow('Late'), (result) => results.push(result));
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats().dropped.after_shutdown).to.equal(1);
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
  });

  it('an export whose call the outbox cannot keep waits for that call, also when it came before the page held its outbox lock', async () => {
    // The store is already at maxBytes with what a page still open keeps (a reload after a CIF outage): nothing more fits.
    const store = new MemoryStore();
    const manager = createLockManager();
    const other = 'bbbbbbbb-bbbb-4bbb-bbbb-bbbbbbbbbbbb';
    const otherKey = `otel-cif/widget/${other}/0`;
    const value = JSON.stringify([3, Date.now(), { data: { conversationId: 'c', providerSessionId: 'p', events: [{ kpiEventName: 'Old', eventTimestamp: '2026-11-25T10:15:30.123Z' }] }, eventName: 'Old', correlationId: 'x' }]);
    store.setItem(otherKey, value);
    // The other page is open: it holds its lock.
    void manager.client().locks.request(`otel-cif/widget/${other}`, {}, () => new Promise(() => {}));
    await settle();
    const maxBytes = 2 * (otherKey.length + value.length);

    const exporter = withPageGlobals({ navigator: { locks: manager.client().locks } }, () =>
      shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), ready: new Promise<void>(() => {}), outbox: { store, name: 'widget', maxBytes } })),
    );
    // Exported at once, before the lock grant a microtask later (a SimpleSpanProcessor, or a flush as the page starts).
    const results: ExportResult[] = [];
    exporter.export(cifSpansNow(), (result) => results.push(result));
    await settle();
    expect(exporter.getStats().outbox.notStored.full, 'the call did not fit').to.equal(1);
    // The outbox does not keep it: the result must wait for the call to settle.
    expect(results, 'no result while a call the outbox could not keep is pending').to.deep.equal([]);
    await clock.tickAsync(20_000);
    expect(exporter.getStats().dropped.cif_not_loaded).to.equal(1);
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
    expectBalanced(exporter.getStats());
  });

  it('keeps for the next page, with the default outbox, every KPI event a BatchSpanProcessor at its defaults flushes as the page hides while CIF starts', async () => {
    // What a widget page holds: GUID ids, the organisation's origin and the widget's path as the outbox name (its default in a frame).
    const store = new MemoryStore();
    const manager = createLockManager();
    const ids = { 'cif.conversation.id': '0d6e1f52-3c9a-4b7e-9f1a-2b8c4d5e6f70', 'cif.provider_session.id': 'CA5f3c2e9b7d4a1e8c6b0f2d9a7e5c3b1' };
    const exporter = withPageGlobals({ navigator: { locks: manager.client().locks } }, () =>
      shutDownAfterTest(
        new CifSpanExporter({ ready: new Promise<void>(() => {}), client: new RecordingCifClient(), outbox: { store, name: 'https://contoso.crm.dynamics.com/WebResources/new_softphone/index.html' } }),
      ),
    );
    await settle();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes(ids), spanProcessors: [new BatchSpanProcessor(exporter)] });
    const tracer = provider.getTracer('softphone');
    const page = document();
    // The BatchSpanProcessor's default maxQueueSize: 2048 spans, one KPI event each.
    for (let i = 0; i < 2048; i++) {
      const span = tracer.startSpan('agent action', {}, CALL_CONTEXT);
      recordKpiEvent(span, 'CallAccepted', { notificationResponseAction: 'accepted' });
      span.end();
    }
    // The page hides: the processor flushes its whole queue, in batches of 512, and the exporter maps at once what it had
    // not yet of the batch the processor exported as its queue filled.
    hidePage(page);
    void provider.forceFlush().catch(() => {});
    await settle();
    const stats = exporter.getStats();
    expect(stats.kpiEventsSent).to.equal(2048);
    // The page is about to go: whatever the outbox did not store is lost with it.
    expect({ stored: stats.outbox.stored, notStoredFull: stats.outbox.notStored.full }).to.deep.equal({ stored: 2048, notStoredFull: 0 });
  });

  // Without the outbox an export lasts until its calls settle, so while CIF starts the batch
  // processor holds the spans the page ends meanwhile (the fetch and XHR instrumentations' too), up
  // to its own maxQueueSize, as docs/page-lifecycle.md says: what it drops past that the exporter
  // never sees. With the outbox, each export calls back once its calls are kept.
  /**
   * A widget that records a KPI event, ends 2048 spans of its telephony polls while CIF starts, then
   * records a second KPI event; what its host got, and the spans the exporter saw.
   */
  async function startOnBusyPage(outbox: 'off' | 'page default', processorQueue?: number): Promise<{ sent: string[]; seen: number }> {
    let ready!: () => void;
    const client = new RecordingCifClient();
    const options = { client, ready: new Promise<void>((resolve) => (ready = resolve)) };
    const exporter =
      outbox === 'off'
        ? new CifSpanExporter({ ...options, outbox: false })
        : withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () => new CifSpanExporter({ ...options, outbox: { store: new MemoryStore(), name: '/softphone' } }));
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: processorQueue })] });
    const tracer = provider.getTracer('softphone');
    const kpi = (name: string) => {
      const span = tracer.startSpan('agent action', { attributes: IDENTITY }, CALL_CONTEXT);
      recordKpiEvent(span, name);
      span.end();
    };
    try {
      kpi('WidgetLoaded');
      await clock.tickAsync(5_000); // The processor's schedule: its export now waits for CIF.
      for (let i = 0; i < 2048; i++) tracer.startSpan('HTTP GET', { kind: SpanKind.CLIENT, attributes: { 'http.url': `https://telephony.example/poll/${i}` } }).end();
      kpi('AgentAvailable');
      await clock.tickAsync(10_000);
      ready();
      await clock.tickAsync(10_000);
      await provider.forceFlush();
      expectBalanced(exporter.getStats());
      return { sent: client.calls.map((c) => c.eventName), seen: exporter.getStats().spansSeen };
    } finally {
      const closing = Promise.all([provider.shutdown(), exporter.shutdown()]);
      await clock.runAllAsync();
      await closing;
    }
  }

  it('never sees a span past the processor default maxQueueSize, 2048, without the outbox, so a KPI event recorded then is lost uncounted', async () => {
    expect(await startOnBusyPage('off')).to.deep.equal({ sent: ['WidgetLoaded'], seen: 2049 });
  });

  it('sends it without the outbox once the processor maxQueueSize holds what the page ends while CIF starts', async () => {
    expect(await startOnBusyPage('off', 4096)).to.deep.equal({ sent: ['WidgetLoaded', 'AgentAvailable'], seen: 2050 });
  });

  it('sends it at the processor defaults with the outbox, whose export calls back once its calls are kept', async () => {
    expect(await startOnBusyPage('page default')).to.deep.equal({ sent: ['WidgetLoaded', 'AgentAvailable'], seen: 2050 });
  });
});

/** One ended CIF span made without awaiting anything, so that its export comes in the same task as the exporter. */
function cifSpansNow(name = 'CallAccepted'): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(RESOURCE), spanProcessors: [new SimpleSpanProcessor(memory)] });
  const span = provider.getTracer('softphone').startSpan('accept call', {}, CALL_CONTEXT);
  recordKpiEvent(span, name);
  span.end();
  return [...memory.getFinishedSpans()];
}
