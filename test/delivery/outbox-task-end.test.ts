import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine, type DeliveryReport } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import type { ReadinessSource } from '../../src/delivery/readiness.js';
import { CifSpanExporter } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent, type CifLogRecordExporterOptions } from '../../src/logs.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';
import { installActingDiag, installThrowingDiag } from '../helpers/diag.js';
import { expectBalanced, hangs, later, timedClient, throws } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { watchUnhandledRejections } from '../helpers/unhandled.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

// The outbox writes a call of this page as the task that admits it ends, unless the call goes to the
// host first: every KPI event ends delivered, counted dropped, or kept, and no call reaches the host
// twice, across re-entrant loggers, hosts, timers and pages, and through the exporters.

const PAGE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const PAGE_B = 'bbbbbbbb-bbbb-4bbb-bbbb-bbbbbbbbbbbb';
const PREFIX = 'otel-cif/widget/';
const { readyTimeoutMillis, timeoutMillis } = DELIVERY_DEFAULTS;

function call(name: string): CifCall {
  return {
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}
const calls = (...names: string[]) => names.map(call);
const names = (...hosts: RecordingCifClient[]) => hosts.flatMap((host) => host.calls.map((c) => c.eventName));
/** The event names of the calls the store holds for the widget, in store order. */
const storedNames = (store: MemoryStore) =>
  Object.entries(store.contents())
    .filter(([key]) => key.startsWith(PREFIX))
    .map(([, value]) => (value as [number, number, CifCall])[2].eventName);

describe('delivery writing the outbox as the admitting task ends', () => {
  let clock: InstalledClock;
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  const engines: DeliveryEngine[] = [];

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    store = new MemoryStore();
    manager = createLockManager();
  });
  afterEach(async () => {
    const closing = engines.splice(0).map((engine) => engine.shutdown());
    await clock.runAllAsync();
    await Promise.all(closing);
    clock.uninstall();
    diag.disable();
  });

  /** Lets lock grants and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);

  interface Page {
    engine: DeliveryEngine;
    stats: CifDeliveryStats;
    locks: LockClient;
    ready: () => void;
  }

  interface PageOptions {
    ready?: boolean;
    readiness?: ReadinessSource;
    store?: OutboxStore;
    locks?: OutboxLocks;
    maxAttempts?: number;
    maxQueueSize?: number;
    maxConcurrentCalls?: number;
    maxBytes?: number;
    /** The outbox's wall clock, in place of `Date.now`. */
    now?: () => number;
  }

  /** A page of the widget: its own engine and outbox over the shared store and locks; CIF ready at once unless `ready: false`. */
  function page(pageId: string, client: CifAnalyticsClient | (() => CifAnalyticsClient | undefined), options: PageOptions = {}): Page {
    const locks = manager.client();
    const stats = createDeliveryStats();
    let ready!: () => void;
    const readiness: ReadinessSource =
      options.readiness ?? (options.ready === false ? { kind: 'promise', ready: new Promise<void>((r) => (ready = r)) } : { kind: 'client' });
    const outbox = createOutbox(
      { store: options.store ?? store, name: 'widget', ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}) },
      stats.outbox,
      { locks: options.locks ?? locks.locks, uuid: () => pageId, now: options.now ?? Date.now },
    );
    const engine = createDelivery(
      {
        ...DELIVERY_DEFAULTS,
        maxQueueSize: options.maxQueueSize ?? DELIVERY_DEFAULTS.maxQueueSize,
        maxConcurrentCalls: options.maxConcurrentCalls ?? DELIVERY_DEFAULTS.maxConcurrentCalls,
        retry: { ...DELIVERY_DEFAULTS.retry, maxAttempts: options.maxAttempts ?? 3 },
        getClient: typeof client === 'function' ? client : () => client,
        readiness,
        outbox: {},
        random: () => 0.5,
      },
      stats,
      outbox,
    );
    engines.push(engine);
    return { engine, stats, locks, ready: () => ready() };
  }

  /** Ends a page as a crash or a closed tab does, between two tasks: its engine dropped, its locks let go, nothing disposed. */
  function crash(p: Page): void {
    engines.splice(engines.indexOf(p.engine), 1);
    p.locks.crash();
  }

  it('never leaves in the store a call it handed to the host while it wrote the calls of the task before, so the next page does not send it again', async () => {
    // The page's logger, told that a call did not fit, lets CIF be ready then (it raises the page's CIFInitDone).
    const target = new EventTarget();
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { readiness: { kind: 'page', target }, maxBytes: 2_000 });
    await settle();
    const restore = installActingDiag((level, line) => {
      if (level === 'warn' && line.includes('not stored')) target.dispatchEvent(new Event('CIFInitDone'));
    });
    const big = { ...call('Big'), correlationId: 'x'.repeat(1_000) };
    let report: DeliveryReport | undefined;
    try {
      // CIF not ready: both calls wait, and are written as this task ends; the first does not fit.
      void first.engine.deliver([big, call('Small')]).then((r) => (report = r));
      await settle();
    } finally {
      restore();
    }
    expect(names(host)).to.deep.equal(['Big', 'Small']);
    expect(report).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    expect(first.stats).to.deep.include({ kpiEventsDelivered: 2, kpiEventsPending: 0 });
    // Delivered, so nothing of it may stay for a later page.
    const left = storedNames(store);
    crash(first);

    const next = new RecordingCifClient();
    const second = page(PAGE_B, next);
    await settle();
    expect({ sent: names(host, next), left }, 'every call once across both pages; none left stored once delivered').to.deep.equal({ sent: ['Big', 'Small'], left: [] });
    expectBalanced(second.stats);
  });

  it('leaves no unhandled rejection, and writes the other waiting calls of the task, when the outbox wall clock throws at one write', async () => {
    let failing = false;
    const wallClock = () => {
      if (failing) {
        failing = false;
        throw new TypeError('secure mode Date.now() throws');
      }
      return Date.now();
    };
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { ready: false, now: wallClock });
    await settle();
    const watch = watchUnhandledRejections();
    let report: DeliveryReport | undefined;
    failing = true;
    try {
      void first.engine.deliver(calls('A1', 'A2')).then((r) => (report = r));
    } catch (error) {
      // Before the deferred write, the throw came out of deliver() itself.
      expect.fail(`deliver() threw: ${String(error)}`);
    }
    await settle();
    const rejections = await watch.stop();
    // Each is seen twice (mocha hands it on to the process listeners again). The call whose write threw travels in
    // memory; the one after it is still written.
    expect({ unhandled: [...new Set(rejections)].map(String), stored: storedNames(store) }).to.deep.equal({ unhandled: [], stored: ['A2'] });
    first.ready();
    await settle();
    expect(report).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    expectBalanced(first.stats);
  });

  it('leaves no unhandled rejection from the deferred write when the store throws at every access and the diag logger throws at every line, and delivers from memory', async () => {
    const broken = new MemoryStore();
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { store: broken, ready: false });
    await settle();
    for (const method of ['getItem', 'setItem', 'removeItem', 'key'] as const) {
      broken[method] = () => {
        throw new DOMException('storage gone', 'SecurityError');
      };
    }
    Object.defineProperty(broken, 'length', {
      get() {
        throw new DOMException('storage gone', 'SecurityError');
      },
    });
    const restore = installThrowingDiag();
    const watch = watchUnhandledRejections();
    let report: DeliveryReport | undefined;
    try {
      void first.engine.deliver(calls('A1', 'A2')).then((r) => (report = r));
      await settle();
      first.ready();
      await settle();
    } finally {
      restore();
    }
    expect([...new Set(await watch.stop())].map(String)).to.deep.equal([]);
    expect(names(host)).to.deep.equal(['A1', 'A2']);
    expect(report).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    expect(first.stats.outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 2 } });
    expectBalanced(first.stats);
  });

  it('has the next page send what a page left in the order it admitted the calls, a call rejected at its first attempt, stored only then, included', async () => {
    // A1 goes at once and the host rejects it a second later; A2 and A3 wait behind it for the one slot meanwhile.
    const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? later(1_000, () => Promise.reject(new Error('Provider not active'))) : hangs()) });
    const first = page(PAGE_A, host, { maxConcurrentCalls: 1 });
    await settle();
    void first.engine.deliver(calls('A1'));
    await clock.tickAsync(500);
    void first.engine.deliver(calls('A2', 'A3'));
    await clock.tickAsync(500);
    // A1 waits for its retry, A2 is at the host, A3 waits for the slot: the page goes.
    expect(names(host)).to.deep.equal(['A1', 'A2']);
    expect(storedNames(store).sort()).to.deep.equal(['A1', 'A3']);
    crash(first);

    const next = new RecordingCifClient();
    page(PAGE_B, next);
    await settle();
    // A1 was stored at its retry, after A3, yet admitted 500 ms before it.
    expect(names(next), "docs/page-lifecycle.md: each page's calls in the order it admitted them").to.deep.equal(['A1', 'A3']);
  });

  it('keeps every call of an export whose setTimeout throws in the task that admits them, tells the export once, and the next page sends each once', async () => {
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host);
    await settle();
    const fake = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('no timers here');
    }) as unknown as typeof setTimeout;
    let report: DeliveryReport | undefined;
    try {
      void first.engine.deliver(calls('A1', 'A2')).then((r) => (report = r));
    } finally {
      globalThis.setTimeout = fake;
    }
    await settle();
    expect(host.calls).to.deep.equal([]);
    expect(report).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    expect(first.stats).to.deep.include({ kpiEventsKept: 2, kpiEventsPending: 0 });
    expect(first.stats.outbox).to.deep.include({ stored: 2 });
    expect(storedNames(store)).to.deep.equal(['A1', 'A2']);
    expectBalanced(first.stats);
    crash(first);

    const next = new RecordingCifClient();
    const second = page(PAGE_B, next);
    await settle();
    expect(names(host, next)).to.deep.equal(['A1', 'A2']);
    expect(storedNames(store)).to.deep.equal([]);
    expectBalanced(second.stats);
  });

  it("sends once each call of a page gone and this page's own calls admitted in the task that hands them over, and leaves nothing stored", async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    await settle();
    void first.engine.deliver(calls('A1', 'A2'));
    await settle();
    crash(first);

    const host = new RecordingCifClient();
    let replaying!: Page;
    // The page's own export runs as the outbox hands over what the page gone left: in the same task, the same microtask.
    const restore = installActingDiag((_level, line) => {
      if (line.includes('outbox: replaying')) void replaying.engine.deliver(calls('B1', 'B2'));
    });
    try {
      replaying = page(PAGE_B, host, { maxConcurrentCalls: 3 });
      await settle();
    } finally {
      restore();
    }
    await settle();
    expect(names(host)).to.deep.equal(['A1', 'A2', 'B1', 'B2']);
    expect(storedNames(store)).to.deep.equal([]);
    expect(replaying.stats).to.deep.include({ kpiEventsDelivered: 4, kpiEventsPending: 0, kpiEventsKept: 0 });
    expectBalanced(replaying.stats);
  });

  it('has the next page send the calls that waited as a page crashed right after the task that admitted them, and not the ones it handed over then', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const first = page(PAGE_A, host, { maxConcurrentCalls: 2 });
    await settle();
    void first.engine.deliver(calls('A1', 'A2', 'A3', 'A4'));
    // The microtasks of the task run; the tab dies before the host answers.
    await Promise.resolve();
    expect(storedNames(store)).to.deep.equal(['A3', 'A4']);
    crash(first);

    const next = new RecordingCifClient();
    const second = page(PAGE_B, next);
    await settle();
    expect(names(host, next)).to.deep.equal(['A1', 'A2', 'A3', 'A4']);
    expect(storedNames(store)).to.deep.equal([]);
    expectBalanced(second.stats);
  });

  it('writes a call handed over at once and rejected while it waits for its retry, counting it stored then; a page that goes meanwhile leaves it for the next', async () => {
    for (const failure of ['throws', 'rejects'] as const) {
      store = new MemoryStore();
      // The host fails its first call synchronously: it throws, or returns a promise already rejected.
      const host = timedClient((_call, index) => (index > 0 ? 'ok' : failure === 'throws' ? throws(new Error('Provider not active')) : Promise.reject(new Error('Provider not active'))));
      const first = page(failure === 'throws' ? PAGE_A : PAGE_B, host);
      await settle();
      let report: DeliveryReport | undefined;
      void first.engine.deliver(calls('A1')).then((r) => (report = r));
      await settle();
      expect(report, failure).to.deep.equal({ calls: 1, failed: 0, errors: [] });
      expect(storedNames(store), failure).to.deep.equal(['A1']);
      expect(first.stats.outbox, failure).to.deep.include({ stored: 1, notStored: { full: 0, store_error: 0 } });
      crash(first);

      const next = new RecordingCifClient();
      const second = page(failure === 'throws' ? PAGE_B : PAGE_A, next);
      await settle();
      expect(names(next), failure).to.deep.equal(['A1']);
      expect(storedNames(store), failure).to.deep.equal([]);
      expectBalanced(second.stats);
      crash(second);
    }
  });

  it('neither writes nor keeps a call refused for maxQueueSize in a task that admits others, which it writes', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false, maxQueueSize: 2 });
    await settle();
    let report: DeliveryReport | undefined;
    void first.engine.deliver(calls('A1', 'A2', 'A3', 'A4')).then((r) => (report = r));
    await settle();
    expect(storedNames(store)).to.deep.equal(['A1', 'A2']);
    expect(report?.failed).to.equal(2);
    expect(first.stats).to.deep.include({ kpiEventsPending: 2, kpiEventsKept: 0 });
    expect(first.stats.dropped.queue_full).to.equal(2);
    expect(first.stats.outbox).to.deep.include({ stored: 2, notStored: { full: 0, store_error: 0 } });
    expectBalanced(first.stats);
  });

  it('sends each call once and stores none when the host exports again from inside logAnalyticsEvent in the task of the export', async () => {
    const exporting: { engine?: DeliveryEngine } = {};
    let nested = 0;
    const host = new RecordingCifClient({
      onCall: () => {
        if (nested++ < 3) void exporting.engine!.deliver(calls(`N${nested}`));
      },
    });
    const touched: string[] = [];
    const watched = Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (key.startsWith(PREFIX)) touched.push(key);
        MemoryStore.prototype.setItem.call(this, key, value);
      },
    });
    const only = page(PAGE_A, host, { store: watched, maxConcurrentCalls: 2 });
    exporting.engine = only.engine;
    await settle();
    void only.engine.deliver(calls('A1', 'A2'));
    await settle();
    await settle();
    expect(names(host).sort()).to.deep.equal(['A1', 'A2', 'N1', 'N2', 'N3']);
    expect(watched.contents()).to.deep.equal({});
    expectBalanced(only.stats);
    // Only calls that waited for a slot were written.
    expect(touched.length).to.equal(only.stats.outbox.stored);
  });

  it('writes nothing when CIF becomes ready later in the task that admitted the calls, and the export calls back without waiting for the host', async () => {
    const target = new EventTarget();
    const host = new RecordingCifClient({ answer: hangs });
    const touched: string[] = [];
    const watched = Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (key.startsWith(PREFIX)) touched.push(key);
        MemoryStore.prototype.setItem.call(this, key, value);
      },
    });
    const only = page(PAGE_A, host, { readiness: { kind: 'page', target }, store: watched });
    await settle();
    let report: DeliveryReport | undefined;
    void only.engine.deliver(calls('A1', 'A2')).then((r) => (report = r));
    expect(host.calls).to.deep.equal([]);
    target.dispatchEvent(new Event('CIFInitDone'));
    expect(names(host)).to.deep.equal(['A1', 'A2']);
    await settle();
    expect({ touched, report }).to.deep.equal({ touched: [], report: { calls: 2, failed: 0, errors: [] } });
    expect(only.stats.outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 0 } });
  });

  it('holds no call once it has settled: the set of calls still to write lets go of them', async () => {
    // node --expose-gc, as .mocharc.json runs it.
    expect(globalThis.gc).to.be.a('function');
    const host = new RecordingCifClient({ answer: (_call, index) => (index % 2 ? Promise.reject(new Error('Provider not active')) : 'ok') });
    const only = page(PAGE_A, host, { maxConcurrentCalls: 2, maxAttempts: 1 });
    await settle();
    const refs: Array<WeakRef<CifCall>> = [];
    (() => {
      const made = calls('A1', 'A2', 'A3', 'A4', 'A5');
      made.forEach((c) => refs.push(new WeakRef(c)));
      void only.engine.deliver(made);
    })();
    await settle();
    await settle();
    expect(only.stats).to.deep.include({ kpiEventsPending: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    globalThis.gc!();
    expect(refs.filter((ref) => ref.deref() !== undefined).length, 'calls still reachable').to.equal(0);
  });
});

const RESOURCE = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
const CALL_CONTEXT = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
/** A `ready` that never resolves: CIF still starting while the test looks. */
const starting = () => new Promise<void>(() => {});

describe('the exporters writing the outbox as the admitting task ends', () => {
  let clock: InstalledClock;
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  const closeables: Array<{ shutdown(): Promise<unknown> }> = [];

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    store = new MemoryStore();
    manager = createLockManager();
  });
  afterEach(async () => {
    const closing = closeables.splice(0).map((c) => c.shutdown());
    await clock.runAllAsync();
    await Promise.all(closing);
    clock.uninstall();
    diag.disable();
  });

  const settle = () => clock.tickAsync(0);

  function logExporter(options: CifLogRecordExporterOptions, locks: OutboxLocks = manager.client().locks): CifLogRecordExporter {
    const made = withPageGlobals({ navigator: { locks } }, () => new CifLogRecordExporter({ outbox: { store, name: 'widget' }, ...options }));
    closeables.push(made);
    return made;
  }

  /** `count` log records of KPI events as the logs SDK hands them to exporters. */
  async function records(count: number): Promise<ReadableLogRecord[]> {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes(RESOURCE), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    const logger = provider.getLogger('widget');
    for (let i = 0; i < count; i++) emitKpiEvent(logger, `K${i}`, undefined, { time: new Date(Date.UTC(2026, 10, 25)), context: CALL_CONTEXT });
    await provider.forceFlush();
    return [...memory.getFinishedLogRecords()];
  }

  /** Spans as the trace SDK ends them, each with the KPI events named in its entry. */
  function sdkSpans(...spans: string[][]): ReadableSpan[] {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer('softphone');
    for (const kpis of spans) {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      for (const kpi of kpis) span.addEvent(kpi);
      span.end();
    }
    return memory.getFinishedSpans();
  }

  function exportNow<T>(exporter: { export(items: T[], done: (result: { code: ExportResultCode; error?: Error }) => void): void }, items: T[]) {
    const results: Array<{ code: ExportResultCode; error: string | undefined }> = [];
    exporter.export(items, (result) => results.push({ code: result.code, error: result.error?.message }));
    return results;
  }

  /** Where the outbox cannot keep a call: a store full to its quota (it is still used), or a lock manager that never grants. */
  const cannotKeep: Array<{ what: string; store: () => MemoryStore; locks?: OutboxLocks }> = [
    { what: 'a localStorage full to its quota', store: () => new MemoryStore(64) },
    { what: 'a lock that never comes', store: () => new MemoryStore(), locks: { request: () => new Promise(() => {}) } },
  ];
  cannotKeep.forEach(({ what, store: made, locks }) =>
    it(`with ${what}, calls back at once for a call it handed over in the task of its export, never written, and counts its failure, as docs/delivery.md says`, async () => {
      store = made();
      const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
      const cif = logExporter({ client: host, retry: { maxAttempts: 1 } }, locks);
      await settle();
      const results = exportNow(cif, await records(1));
      expect(host.calls).to.have.length(1);
      await settle();
      expect(cif.getStats().dropped.host_error).to.equal(1);
      expect(storedNames(store)).to.deep.equal([]);
      // Whether the store could keep it was never asked: the export treats it as a stored call, and the failure is counted.
      expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS, error: undefined }]);
      expectBalanced(cif.getStats());
    }),
  );

  it('calls back FAILED, with outbox: false, for a call the host fails in the task of its export: nothing of the deferred write applies', async () => {
    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const cif = logExporter({ client: host, retry: { maxAttempts: 1 }, outbox: false });
    const results = exportNow(cif, await records(1));
    await settle();
    expect(results).to.deep.equal([{ code: ExportResultCode.FAILED, error: '1 of 1 logAnalyticsEvent calls failed: Provider not active' }]);
    expect(store.length).to.equal(0);
  });

  it('resolves forceFlush(), called in the task of the export, only once the calls that wait are stored', async () => {
    const cif = logExporter({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    const batch = await records(3);
    let storedAtFlush: number | undefined;
    const results = exportNow(cif, batch);
    void cif.forceFlush().then(() => (storedAtFlush = storedNames(store).length));
    expect(storedNames(store)).to.deep.equal([]);
    await settle();
    expect(storedAtFlush).to.equal(3);
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.SUCCESS]);
    expectBalanced(cif.getStats());
  });

  it('keeps for a later page the calls of an export followed by shutdown() in the same task, CIF never ready', async () => {
    const made = withPageGlobals({ navigator: { locks: manager.client().locks } }, () => new CifSpanExporter({ client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget' } }));
    closeables.push(made);
    await settle();
    const results = exportNow(made, sdkSpans(['CallAccepted', 'CallHeld'], ['CallEnded']));
    let closed = false;
    void made.shutdown().then(() => (closed = true));
    await settle();
    expect(results.map((r) => r.code)).to.deep.equal([ExportResultCode.SUCCESS]);
    await clock.tickAsync(timeoutMillis);
    expect(closed).to.equal(true);
    expect(made.getStats()).to.deep.include({ kpiEventsKept: 3, kpiEventsPending: 0 });
    expect(storedNames(store).sort()).to.deep.equal(['CallAccepted', 'CallEnded', 'CallHeld']);
    expectBalanced(made.getStats());
  });

  it('balances its counters and stores nothing twice when a diag logger exports again at every warning while the calls of a task are written', async () => {
    const cif = logExporter({ client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget', maxBytes: 3_000 } });
    const provider = new LoggerProvider({ resource: resourceFromAttributes(RESOURCE), processors: [new SimpleLogRecordProcessor({ exporter: cif })] });
    closeables.push(provider);
    const logger = provider.getLogger('widget');
    await settle();
    let again = 0;
    const restore = installActingDiag((level) => {
      if (level === 'warn' && again < 5) emitKpiEvent(logger, `again-${again++}`, undefined, { context: CALL_CONTEXT });
    });
    try {
      exportNow(cif, await records(6));
      await settle();
    } finally {
      restore();
    }
    const stats = cif.getStats();
    expect(stats.outbox.stored + stats.outbox.notStored.full).to.equal(stats.kpiEventsSent);
    expect(new Set(storedNames(store)).size).to.equal(storedNames(store).length);
    expect(storedNames(store)).to.have.length(stats.outbox.stored);
    expectBalanced(stats);
    await clock.tickAsync(readyTimeoutMillis);
    expect(cif.getStats()).to.deep.include({ kpiEventsPending: 0, kpiEventsKept: stats.outbox.stored });
    expectBalanced(cif.getStats());
  });
});
