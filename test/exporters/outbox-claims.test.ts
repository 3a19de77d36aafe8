// Claims of docs/delivery.md and docs/page-lifecycle.md about the outbox that no other test checks,
// each asserted as the doc words it, with span exporters on pages that share one store and one
// lock manager, and spans ended by the real OpenTelemetry trace SDK.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { OutboxLocks } from '../../src/delivery/outbox.js';
import { CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced, hangs, kpiNames } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY, sdkSpans } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';


/** Exports `spans` through `exporter`, returning the results as they come. */
function exportNow(exporter: CifSpanExporter, spans: ReadableSpan[]): ExportResult[] {
  const results: ExportResult[] = [];
  exporter.export(spans, (result) => results.push(result));
  return results;
}

/** A `ready` that never resolves: CIF still starting. */
const starting = () => new Promise<void>(() => {});

describe('CifSpanExporter with an outbox, as docs/delivery.md and docs/page-lifecycle.md describe it', () => {
  let clock: InstalledClock;
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  let lines: string[];
  /** Exporters of the pages still open, shut down after the test; those of crashed pages are dropped. */
  const open: CifSpanExporter[] = [];

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    store = new MemoryStore();
    manager = createLockManager();
    lines = captureLevels();
  });
  afterEach(async () => {
    try {
      const closing = Promise.all(open.splice(0).map((exporter) => exporter.shutdown()));
      await clock.runAllAsync();
      await closing;
    } finally {
      clock.uninstall();
      diag.disable();
    }
  });

  /** Lets lock grants, exports and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);

  /** A span exporter of the widget `widget` on a page whose `navigator.locks` is `locks`, its outbox in the shared store. */
  function exporterOn(locks: OutboxLocks, options: CifSpanExporterOptions, widget = 'widget'): CifSpanExporter {
    const made = withPageGlobals({ navigator: { locks } }, () => new CifSpanExporter({ outbox: { store, name: widget }, ...options }));
    open.push(made);
    return made;
  }

  /** Ends a page as a crash or a closed tab does: its locks let go, nothing disposed, its exporters never shut down. */
  function crash(page: ReturnType<typeof manager.client>, ...exporters: CifSpanExporter[]): void {
    for (const exporter of exporters) open.splice(open.indexOf(exporter), 1);
    page.crash();
  }

  it('gives a call a later page sends from the outbox retry.maxAttempts attempts of its own, whatever it spent on the page before', async () => {
    const first = manager.client();
    const firstHost = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const before = exporterOn(first.locks, { client: firstHost, retry: { maxAttempts: 3 } });
    await settle();
    exportNow(before, sdkSpans(['CallAccepted']));
    // One attempt failed: the call is back in the outbox while it waits for its retry, and the page goes.
    await clock.tickAsync(100);
    expect(firstHost.calls).to.have.length(1);
    expect(Object.keys(store.contents())).to.have.length(1);
    crash(first, before);

    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const after = exporterOn(manager.client().locks, { client: host, retry: { maxAttempts: 3 } });
    await clock.tickAsync(5_000);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted', 'CallAccepted', 'CallAccepted']);
    const stats = after.getStats();
    expect(stats).to.include({ callsMade: 3, callsRetried: 2, callsFailed: 1 });
    expect(stats.outbox.replayed).to.equal(1);
    expect(stats.dropped.host_error).to.equal(1);
    expectBalanced(stats);
  });

  it('keeps in the outbox, as kpiEventsKept and not dropped.no_timer, a call a throwing setTimeout gave up while CIF was not ready, and sends it when CIF comes', async () => {
    const host = new RecordingCifClient();
    let ready!: () => void;
    const exporter = exporterOn(manager.client().locks, { client: host, ready: new Promise<void>((r) => (ready = r)) });
    await settle();
    const fake = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('timers are off');
    }) as unknown as typeof setTimeout;
    let results: ExportResult[];
    try {
      results = exportNow(exporter, sdkSpans(['CallAccepted']));
      await settle();
    } finally {
      globalThis.setTimeout = fake;
    }
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.SUCCESS]);
    let stats = exporter.getStats();
    expect(stats).to.include({ kpiEventsKept: 1, kpiEventsPending: 0 });
    expect(stats.dropped.no_timer).to.equal(0);
    expect(Object.keys(store.contents())).to.have.length(1);
    expect(lines).to.include("debug call 'CallAccepted' kept in the outbox until CIF comes, or for a later page: setTimeout failed (timers are off), so calls cannot be timed: given up");
    expectBalanced(stats);

    ready();
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    stats = exporter.getStats();
    expect(stats).to.include({ kpiEventsKept: 0, kpiEventsDelivered: 1, kpiEventsPending: 0 });
    expect(lines).to.include("debug call 'CallAccepted' goes again: CIF is ready");
    expect(store.contents()).to.deep.equal({});
    expectBalanced(stats);
  });

  it('counts in neither outbox.stored nor outbox.notStored a call handed to the host in the task of its export, before the page holds its outbox lock or after, and one that waits for a slot in outbox.stored', async () => {
    const host = new RecordingCifClient();
    const exporter = exporterOn(manager.client().locks, { client: host, maxConcurrentCalls: 1 });
    // In the page's first moments: the lock is granted a microtask later.
    exportNow(exporter, sdkSpans(['CallAccepted']));
    expect(host.calls).to.have.length(1);
    await settle();
    expect(exporter.getStats().outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 0 } });
    exportNow(exporter, sdkSpans(['CallEnded', 'CallHeld']));
    expect(host.calls).to.have.length(2);
    await settle();
    expect(host.calls).to.have.length(3);
    expect(exporter.getStats().outbox).to.deep.include({ stored: 1, notStored: { full: 0, store_error: 0 } });
    expect(exporter.getStats()).to.include({ kpiEventsDelivered: 3 });
  });

  it('sends, through the client of whichever delivery of the next page claims first, what every delivery of one name on a page left, counting KPI events in its own outbox.replayed', async () => {
    const first = manager.client();
    // Two widgets' code in one frame, each with its own delivery, under one outbox name; CIF never comes.
    // One eventName, so that the two KPI events of a span share a call.
    const spansBefore = exporterOn(first.locks, { client: new RecordingCifClient(), ready: starting(), maxEventsPerCall: 2, eventName: () => 'KpiEvents' });
    const otherBefore = exporterOn(first.locks, { client: new RecordingCifClient(), ready: starting(), maxEventsPerCall: 2, eventName: () => 'KpiEvents' });
    await settle();
    exportNow(spansBefore, sdkSpans(['CallAccepted', 'CallHold']));
    exportNow(otherBefore, sdkSpans(['ChatAccepted', 'ChatEnded']));
    await settle();
    expect(Object.keys(store.contents())).to.have.length(2);
    crash(first, spansBefore, otherBefore);

    const next = manager.client();
    const hosts = [new RecordingCifClient(), new RecordingCifClient()];
    const exporters = hosts.map((client) => exporterOn(next.locks, { client }));
    await clock.tickAsync(10);
    const counts = hosts.map((host) => host.calls.length);
    const claimer = counts.indexOf(2);
    expect([...counts].sort()).to.deep.equal([0, 2]);
    expect(hosts[claimer]!.calls.map(kpiNames).sort()).to.deep.equal([
      ['CallAccepted', 'CallHold'],
      ['ChatAccepted', 'ChatEnded'],
    ]);
    expect(exporters[claimer]!.getStats()).to.include({ kpiEventsDelivered: 4, kpiEventsSent: 0 });
    expect(exporters[claimer]!.getStats().outbox.replayed).to.equal(4);
    expect(exporters[1 - claimer]!.getStats().outbox.replayed).to.equal(0);
    expect(store.contents()).to.deep.equal({});
    exporters.forEach((exporter) => expectBalanced(exporter.getStats()));
  });

  it('makes maxConcurrentCalls calls as a BatchSpanProcessor flushes, keeps the rest in the outbox, and the next page sends those and never the calls at the host', async () => {
    const first = manager.client();
    const silent = new RecordingCifClient({ answer: hangs });
    const before = exporterOn(first.locks, { client: silent });
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(before)] });
    await settle();
    const tracer = provider.getTracer('softphone');
    for (let i = 0; i < 10; i++) {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent(`K${i}`);
      span.end();
    }
    // As the page hides: the processor hands its buffer over at once.
    void provider.forceFlush();
    await settle();
    expect(silent.calls.map((c) => c.eventName)).to.deep.equal(['K0', 'K1', 'K2', 'K3', 'K4', 'K5', 'K6', 'K7']);
    expect(Object.keys(store.contents())).to.have.length(2);
    crash(first, before);

    const host = new RecordingCifClient();
    const after = exporterOn(manager.client().locks, { client: host });
    await clock.tickAsync(10);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['K8', 'K9']);
    expect(after.getStats().outbox.replayed).to.equal(2);
    expect(store.contents()).to.deep.equal({});
  });
});
