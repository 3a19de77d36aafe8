import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import type { OutboxLocks } from '../../src/delivery/outbox.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { CifDelivery, CifSpanExporter } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent, type CifLogRecordExporterOptions } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifCall } from '../../src/types.js';
import { captureDiag, installActingDiag } from '../helpers/diag.js';
import { expectBalanced, hangs } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { sdkSpans } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

const RESOURCE = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
const CALL_CONTEXT = trace.setSpanContext(ROOT_CONTEXT, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
const { readyTimeoutMillis, timeoutMillis } = DELIVERY_DEFAULTS;
const SUCCESS = { code: ExportResultCode.SUCCESS, error: undefined };
/** A `ready` that never resolves: CIF still starting while the test looks. */
const starting = () => new Promise<void>(() => {});
/** A lock manager that never answers: the page never holds its lock. */
const silentLocks: OutboxLocks = { request: () => new Promise(() => {}) };

/**
 * The exporters on a page with the outbox (a MemoryStore, and the shared fake lock manager as
 * `navigator.locks`), the real logs SDK, and fake timers: what an export's result, `forceFlush()`
 * and `shutdown()` wait for when the outbox keeps calls at their admission.
 */
describe('CifLogRecordExporter with the outbox: results, flush and shutdown', () => {
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

  /** Lets lock grants, exports and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);
  /** Lets an export of 512 log records be mapped: with the outbox, in parts of 8, a task each. */
  const partsMapped = async () => {
    for (let part = 0; part < 512 / 8; part++) await new Promise((resolve) => setImmediate(resolve));
    await settle();
  };

  /** Shuts `cif` down, and checks that it resolves when its wait of `timeoutMillis` runs out, not before. */
  async function shutDownAtTimeout(cif: CifLogRecordExporter): Promise<void> {
    let closed = false;
    const closing = cif.shutdown().then(() => (closed = true));
    await clock.tickAsync(timeoutMillis - 1);
    expect(closed).to.equal(false);
    await clock.tickAsync(1);
    await closing;
  }

  /** Makes `make` on a page whose `navigator.locks` is `locks`, by default a page of the shared lock manager. */
  function onPage<T>(make: () => T, locks: OutboxLocks = manager.client().locks): T {
    return withPageGlobals({ navigator: { locks } }, make);
  }

  function exporter(options: CifLogRecordExporterOptions, locks?: OutboxLocks): CifLogRecordExporter {
    const made = onPage(() => new CifLogRecordExporter({ outbox: { store, name: 'widget' }, ...options }), locks);
    closeables.push(made);
    return made;
  }

  /** A logger provider with a BatchLogRecordProcessor at its defaults in front of `exporting`, and how to emit a KPI event into it. */
  function batchLogger(exporting: CifLogRecordExporter) {
    const provider = new LoggerProvider({ resource: resourceFromAttributes(RESOURCE), processors: [new BatchLogRecordProcessor({ exporter: exporting })] });
    closeables.push(provider);
    const logger = provider.getLogger('widget');
    return { provider, emit: (name: string) => emitKpiEvent(logger, name, undefined, { time: new Date(Date.UTC(2026, 10, 25)), context: CALL_CONTEXT }) };
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

  /** Exports `items`, returning the results as they come, each as its code and error message. */
  function exportNow<T>(exporting: { export(items: T[], done: (result: { code: ExportResultCode; error?: Error }) => void): void }, items: T[]): Array<{ code: ExportResultCode; error: string | undefined }> {
    const results: Array<{ code: ExportResultCode; error: string | undefined }> = [];
    exporting.export(items, (result) => results.push({ code: result.code, error: result.error?.message }));
    return results;
  }

  it('bounds delivery by maxQueueSize while a BatchLogRecordProcessor hands over every batch at once, counting and warning the rest once as queue_full', async () => {
    const warnings = captureDiag();
    const host = new RecordingCifClient();
    let ready!: () => void;
    const cif = exporter({ client: host, ready: new Promise<void>((r) => (ready = r)), maxQueueSize: 600 });
    const { provider, emit } = batchLogger(cif);
    await settle();
    for (let i = 0; i < 1500; i++) emit(`K${i}`);
    await provider.forceFlush();
    const stats = cif.getStats();
    expect([stats.kpiEventsSent, stats.kpiEventsPending, stats.dropped.queue_full, stats.outbox.stored]).to.deep.equal([1500, 600, 900, 600]);
    expect(warnings.filter((w) => w.includes('queue_full'))).to.have.length(1);
    ready();
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(Array.from({ length: 600 }, (_, i) => `K${i}`));
    expect(cif.getStats()).to.deep.include({ kpiEventsDelivered: 600, kpiEventsPending: 0 });
    expect(store.contents()).to.deep.equal({});
    expectBalanced(cif.getStats());
  });

  it('counts a call it cannot store before it says so: a diag logger that emits a KPI event at the warning is warned once, and reads the count', async () => {
    // CIF never ready, so each call waits, and is written as the task that admits it ends.
    const cif = exporter({ client: new RecordingCifClient(), ready: new Promise<void>(() => {}), outbox: { store, name: 'widget', maxBytes: 1 } });
    const provider = new LoggerProvider({ resource: resourceFromAttributes(RESOURCE), processors: [new SimpleLogRecordProcessor({ exporter: cif })] });
    closeables.push(provider);
    const logger = provider.getLogger('widget');
    const emit = (name: string) => emitKpiEvent(logger, name, undefined, { time: new Date(Date.UTC(2026, 10, 25)), context: CALL_CONTEXT });
    await settle();
    const warnings: Array<[line: string, notStored: number]> = [];
    const restore = installActingDiag((level, line) => {
      if (level !== 'warn' || !line.includes('not stored')) return;
      warnings.push([line, cif.getStats().outbox.notStored.full]);
      // At most a few, so that a warning repeated at every call shows as such, not as a stack overflow.
      if (warnings.length < 4) emit(`again-${warnings.length}`);
    });
    try {
      emit('CallAccepted');
      await settle();
    } finally {
      restore();
    }
    expect(warnings.map(([, counted]) => counted)).to.deep.equal([1]);
    expect(cif.getStats().outbox.notStored.full).to.equal(2);
  });

  it('fails at once an export whose calls the outbox keeps in part and the queue refuses in part, saying how many were refused', async () => {
    let ready!: () => void;
    const cif = exporter({ client: new RecordingCifClient(), ready: new Promise<void>((r) => (ready = r)), maxQueueSize: 3 });
    await settle();
    const results = exportNow(cif, await records(5));
    await settle();
    expect(results).to.deep.equal([{ code: ExportResultCode.FAILED, error: '2 of 5 logAnalyticsEvent calls failed: delivery queue full: 3 KPI events already pending (maxQueueSize)' }]);
    ready();
    await settle();
    expect(cif.getStats()).to.deep.include({ kpiEventsDelivered: 3, kpiEventsPending: 0 });
    expectBalanced(cif.getStats());
  });

  it('hands batches over at once only up to the outbox maxBytes: past it, the BatchLogRecordProcessor waits for the calls the outbox could not keep', async () => {
    const cif = exporter({ client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget', maxBytes: 100_000 } });
    const { emit } = batchLogger(cif);
    await settle();
    for (let i = 0; i < 1000; i++) emit(`K${i}`);
    await partsMapped();
    const { kpiEventsSent, outbox } = cif.getStats();
    expect(outbox.stored).to.be.within(1, 511);
    // The first batch only: the rest wait in the processor for its export.
    expect({ kpiEventsSent, notKept: outbox.notStored.full }).to.deep.equal({ kpiEventsSent: 512, notKept: 512 - outbox.stored });
    // Its export ends when they fail; the processor's next batch is due a scheduled delay (1 s) later.
    await clock.tickAsync(readyTimeoutMillis + 1_000);
    await partsMapped();
    expect(cif.getStats().kpiEventsSent).to.equal(1000);
    expectBalanced(cif.getStats());
  });

  const emittedWhileWaiting: Array<{ what: string; outbox?: false; simple?: true; handedOver: number }> = [
    { what: 'handed over by a BatchLogRecordProcessor at its next export, the outbox having kept the first', handedOver: 2 },
    { what: 'held by a BatchLogRecordProcessor without the outbox until the first export ends', outbox: false, handedOver: 1 },
    { what: 'handed over as it is emitted by a SimpleLogRecordProcessor without the outbox', outbox: false, simple: true, handedOver: 2 },
  ];
  emittedWhileWaiting.forEach(({ what, outbox, simple, handedOver }) =>
    it(`a record emitted while an export waits for CIF is ${what}`, async () => {
      const cif = exporter({ client: new RecordingCifClient(), ready: starting(), ...(outbox === false ? { outbox } : {}) });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes(RESOURCE),
        processors: [simple ? new SimpleLogRecordProcessor({ exporter: cif }) : new BatchLogRecordProcessor({ exporter: cif })],
      });
      closeables.push(provider);
      const logger = provider.getLogger('widget');
      const emit = (name: string) => emitKpiEvent(logger, name, undefined, { context: CALL_CONTEXT });
      await settle();
      emit('K0');
      // The processor's schedule (1 s) comes due, and again for the record emitted meanwhile.
      await clock.tickAsync(1_000);
      emit('K1');
      await clock.tickAsync(2_000);
      expect(cif.getStats().kpiEventsSent).to.equal(handedOver);
      await clock.tickAsync(readyTimeoutMillis);
      expect(cif.getStats().kpiEventsSent).to.equal(2);
    }),
  );

  it('calls back only once the calls settle while the page waits for its lock, and counts them dropped, warned, when the lock is refused and CIF never comes', async () => {
    const warnings = captureDiag();
    let refuse!: (error: Error) => void;
    const refusing: OutboxLocks = { request: () => new Promise((_, reject) => (refuse = reject)) };
    const cif = exporter({ client: new RecordingCifClient(), ready: starting() }, refusing);
    const results = exportNow(cif, await records(2));
    await settle();
    // Nothing is stored yet, so nothing is kept for a later page: the result waits for the calls.
    expect(results).to.deep.equal([]);
    refuse(new Error('lock manager broken'));
    await clock.tickAsync(readyTimeoutMillis);
    const stats = cif.getStats();
    expect({ notStored: stats.outbox.notStored, dropped: stats.dropped.cif_not_loaded, kept: stats.kpiEventsKept }).to.deep.equal({
      notStored: { full: 0, store_error: 2 },
      dropped: 2,
      kept: 0,
    });
    expect(warnings.filter((w) => w.includes('cif_not_loaded'))).to.have.length(1);
    expect(results.map((result) => result.code)).to.deep.equal([ExportResultCode.FAILED]);
    expectBalanced(stats);
  });

  it('shutdown() waits for calls kept while the lock never comes, and delivers them when CIF comes within timeoutMillis', async () => {
    let ready!: () => void;
    const host = new RecordingCifClient();
    const cif = exporter({ client: host, ready: new Promise<void>((r) => (ready = r)) }, silentLocks);
    const results = exportNow(cif, await records(2));
    await settle();
    expect(results).to.deep.equal([]);
    let closed = false;
    const closing = cif.shutdown().then(() => (closed = true));
    await clock.tickAsync(timeoutMillis - 1);
    expect(closed).to.equal(false);
    ready();
    await closing;
    expect(results).to.deep.equal([SUCCESS]);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['K0', 'K1']);
    expect(cif.getStats()).to.deep.include({ kpiEventsDelivered: 2, kpiEventsKept: 0 });
    expect(store.contents()).to.deep.equal({});
    expectBalanced(cif.getStats());
  });

  it('shutdown() keeps for a later page, after timeoutMillis, the calls kept while the lock never came and CIF did not either', async () => {
    const cif = exporter({ client: new RecordingCifClient(), ready: starting() }, silentLocks);
    exportNow(cif, await records(2));
    await settle();
    await shutDownAtTimeout(cif);
    expect(cif.getStats()).to.deep.include({ kpiEventsKept: 2, kpiEventsPending: 0 });
    expect(store.length).to.equal(2);
    expectBalanced(cif.getStats());
  });

  it('resolves forceFlush() and calls back SUCCESS while a call it handed over in the task of its export, never written, is at a host that does not answer, and shutdown() waits for it up to timeoutMillis', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const cif = exporter({ client: host });
    await settle();
    const results = exportNow(cif, await records(1));
    let flushed = false;
    void cif.forceFlush().then(() => (flushed = true));
    await settle();
    expect({ calls: host.calls.length, flushed, results, stored: store.length }).to.deep.equal({ calls: 1, flushed: true, results: [SUCCESS], stored: 0 });
    expect(cif.getStats()).to.deep.include({ callsInFlight: 1, kpiEventsPending: 1 });
    await shutDownAtTimeout(cif);
    expect(cif.getStats().dropped.timed_out).to.equal(1);
    expectBalanced(cif.getStats());
  });

  it('waits, with outbox: false on the same page, for a call at the host before it calls back or forceFlush() resolves', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const cif = exporter({ client: host, outbox: false });
    const results = exportNow(cif, await records(1));
    let flushed = false;
    void cif.forceFlush().then(() => (flushed = true));
    await clock.tickAsync(timeoutMillis - 1);
    expect({ calls: host.calls.length, flushed, results }).to.deep.equal({ calls: 1, flushed: false, results: [] });
    await clock.tickAsync(1);
    expect({ flushed, results }).to.deep.equal({ flushed: true, results: [{ code: ExportResultCode.FAILED, error: `1 of 1 logAnalyticsEvent calls failed: logAnalyticsEvent did not answer within ${timeoutMillis} ms (timeoutMillis)` }] });
  });

  it('resolves the shutdown() of one exporter of a shared CifDelivery once the outbox keeps its calls, refuses its later exports, and the other exporter keeps sending', async () => {
    let ready!: () => void;
    const host = new RecordingCifClient();
    const delivery = onPage(() => new CifDelivery({ client: host, ready: new Promise<void>((r) => (ready = r)), outbox: { store, name: 'widget' } }));
    const spans = new CifSpanExporter({ delivery });
    const logs = new CifLogRecordExporter({ delivery });
    closeables.push(spans, logs);
    await settle();
    exportNow(logs, await records(2));
    let closed = false;
    void logs.shutdown().then(() => (closed = true));
    await settle();
    expect({ closed, pending: logs.getStats().kpiEventsPending, stored: store.length }).to.deep.equal({ closed: true, pending: 2, stored: 2 });
    const refused = exportNow(logs, await records(1));
    expect(refused).to.deep.equal([{ code: ExportResultCode.FAILED, error: 'CifLogRecordExporter is shut down' }]);
    expect(store.length).to.equal(2);
    ready();
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['K0', 'K1']);
    expect(logs.getStats()).to.deep.include({ kpiEventsDelivered: 2, kpiEventsPending: 0 });
    expect(logs.getStats().dropped.after_shutdown).to.equal(1);
    expectBalanced(spans.getStats());
  });

  it('resolves shutdown() when the page setTimeout throws from then on, once the calls kept give up waiting for CIF', async () => {
    const cif = exporter({ client: new RecordingCifClient(), ready: starting() });
    await settle();
    exportNow(cif, await records(2));
    await settle();
    const fake = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('no timers here');
    }) as unknown as typeof setTimeout;
    let closed = false;
    try {
      void cif.shutdown().then(() => (closed = true));
      await clock.tickAsync(readyTimeoutMillis);
    } finally {
      globalThis.setTimeout = fake;
    }
    expect(closed).to.equal(true);
    expect(cif.getStats()).to.deep.include({ kpiEventsKept: 2, kpiEventsPending: 0 });
    expectBalanced(cif.getStats());
  });

  /** The event names of the calls the store holds for the widget, in store order. */
  const storedNames = (of: MemoryStore) =>
    Object.entries(of.contents())
      .filter(([key]) => key.startsWith('otel-cif/widget/'))
      .map(([, value]) => (value as [number, number, CifCall])[2].eventName);


  /** Where the outbox cannot keep a call: a store full to its quota (it is still used), or a lock manager that never grants. */
  const cannotKeep: Array<{ what: string; store: () => MemoryStore; locks?: OutboxLocks }> = [
    { what: 'a localStorage full to its quota', store: () => new MemoryStore(64) },
    { what: 'a lock that never comes', store: () => new MemoryStore(), locks: { request: () => new Promise(() => {}) } },
  ];
  cannotKeep.forEach(({ what, store: made, locks }) =>
    it(`with ${what}, calls back at once for a call it handed over in the task of its export, never written, and counts its failure, as docs/delivery.md says`, async () => {
      store = made();
      const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
      const cif = exporter({ client: host, retry: { maxAttempts: 1 } }, locks);
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
    const cif = exporter({ client: host, retry: { maxAttempts: 1 }, outbox: false });
    const results = exportNow(cif, await records(1));
    await settle();
    expect(results).to.deep.equal([{ code: ExportResultCode.FAILED, error: '1 of 1 logAnalyticsEvent calls failed: Provider not active' }]);
    expect(store.length).to.equal(0);
  });

  it('resolves forceFlush(), called in the task of the export, only once the calls that wait are stored', async () => {
    const cif = exporter({ client: new RecordingCifClient(), ready: starting() });
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
    const made = onPage(() => new CifSpanExporter({ client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget' } }));
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
    const cif = exporter({ client: new RecordingCifClient(), ready: starting(), outbox: { store, name: 'widget', maxBytes: 3_000 } });
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
