import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine, type DeliveryReport } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, HANDOVER_WAIT_MILLIS, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import { pageCifClient, type ReadinessSource } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';
import { installActingDiag, installThrowingDiag } from '../helpers/diag.js';
import { expectBalanced, hangs, installCifWithoutInitDone, later, removePageCif, throws, timedClient } from '../helpers/fake-client.js';
import { watchUnhandledRejections } from '../helpers/unhandled.js';
import { PAGE_A, PAGE_B, call, createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

const calls = (...names: string[]) => names.map(call);
const PREFIX = 'otel-cif/widget/';
const names = (...hosts: RecordingCifClient[]) => hosts.flatMap((host) => host.calls.map((c) => c.eventName));
const sent = (client: RecordingCifClient) => client.calls.map(({ data, eventName, correlationId }) => ({ data, eventName, correlationId }));

interface Page {
  engine: DeliveryEngine;
  stats: CifDeliveryStats;
  locks: LockClient;
  /** Makes CIF ready on a page made with `ready: false`. */
  ready: () => void;
}

describe('delivery with the outbox', () => {
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
    removePageCif();
  });

  /** Keeps what the engine says at DEBUG and above from now to the end of the test, namespace left out. */
  function debugLines(): string[] {
    const lines: string[] = [];
    const keep = (...args: unknown[]) => lines.push(args.slice(1).join(' '));
    diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    lines.length = 0;
    return lines;
  }

  /** Lets lock grants and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);

  interface PageOptions {
    /** False: CIF is ready once `ready()` is called. */
    ready?: boolean;
    /** In place of `ready`: what decides that CIF is ready. */
    readiness?: ReadinessSource;
    store?: OutboxStore;
    /** In place of the shared lock manager. */
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
      options.readiness ?? (options.ready === false ? { ready: new Promise<void>((r) => (ready = r)) } : { client: client as CifAnalyticsClient });
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
        ...readiness,
        outbox: {},
        random: () => 0.5,
      },
      stats,
      outbox,
    );
    engines.push(engine);
    return { engine, stats, locks, ready: () => ready() };
  }

  /** Ends a page as a crash or a closed tab does: its engine is dropped, its locks let go, nothing disposed. */
  function crash(p: Page): void {
    engines.splice(engines.indexOf(p.engine), 1);
    p.locks.crash();
  }

  it('hands over a call it has not written yet without touching the store, so a store that fails cannot keep it from the host', async () => {
    const failing = new MemoryStore();
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { store: failing });
    // The store fails once the page has started (a quota manager, a storage partition going away).
    failing.getItem = failing.removeItem = () => {
      throw new Error('storage gone');
    };
    // Before the lock grant a microtask later: the call waits for the lock in memory only.
    void first.engine.deliver(calls('A1'));
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['A1']);
    expect(first.stats).to.deep.include({ kpiEventsDelivered: 1, kpiEventsPending: 0 });
    expectBalanced(first.stats);
  });

  it('keeps calls waiting for CIF, and the next page sends them once, before its own, with their original payloads', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1', 'A2'));
    await settle();
    expect(Object.keys(store.contents())).to.have.length(2);
    expectBalanced(first.stats);
    crash(first);

    const host = new RecordingCifClient();
    const second = page(PAGE_B, host, { ready: false });
    void second.engine.deliver(calls('B1'));
    await settle();
    expect(host.calls).to.deep.equal([]);
    second.ready();
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1', 'A2', 'B1'));
    expect(store.contents()).to.deep.equal({});
    expect(second.stats).to.deep.include({ kpiEventsSent: 1, kpiEventsDelivered: 3, kpiEventsKept: 0 });
    expect(second.stats.outbox).to.deep.include({ replayed: 2, stored: 1 });
    expectBalanced(second.stats);
    // Still held with every call sent: another tab given it could read them from a copy of the store not yet updated.
    expect(manager.held()).to.include(`otel-cif/widget/${PAGE_A}`);
  });

  it('balances its counters at every line a diag logger is told while it replays what a page gone left', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1', 'A2'));
    await settle();
    crash(first);
    const seen: string[] = [];
    const unbalanced: string[] = [];
    const replaying: { page?: Page } = {};
    // The exporter keeps a logger's throw from the page, so each line is checked and kept here.
    const check = (...args: unknown[]) => {
      if (!replaying.page) return;
      seen.push(String(args[1]));
      try {
        expectBalanced(replaying.page.stats);
      } catch {
        unbalanced.push(String(args[1]));
      }
    };
    diag.setLogger({ error: check, warn: check, info: check, debug: check, verbose: check }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
    const second = (replaying.page = page(PAGE_B, new RecordingCifClient(), { ready: false }));
    await settle();
    expect(seen).to.include.members(['outbox: replaying 2 call(s) of 1 page(s)', 'waiting for CIF, at most 20000 ms']);
    expect(unbalanced).to.deep.equal([]);
    expect(second.stats).to.deep.include({ kpiEventsPending: 2 });
    expect(second.stats.outbox.replayed).to.equal(2);
  });

  it('holds its own calls while the outbox takes over what a page gone left, with CIF ready at once, and sends those first', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1'));
    await settle();
    crash(first);
    const host = new RecordingCifClient();
    const second = page(PAGE_B, host);
    void second.engine.deliver(calls('B1'));
    expect(host.calls).to.deep.equal([]);
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1', 'B1'));
  });

  it('sends its own calls at once when the store holds no other page', async () => {
    const host = new RecordingCifClient();
    const only = page(PAGE_A, host);
    void only.engine.deliver(calls('A1'));
    expect(sent(host)).to.deep.equal(calls('A1'));
  });

  it('never writes a call it hands to the host in the task that admits it, and writes the calls that wait as that task ends', async () => {
    const touched: string[] = [];
    const watched = Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (key.startsWith('otel-cif/widget/')) touched.push(`set ${key}`);
        MemoryStore.prototype.setItem.call(this, key, value);
      },
      removeItem(key: string) {
        if (key.startsWith('otel-cif/widget/')) touched.push(`remove ${key}`);
        MemoryStore.prototype.removeItem.call(this, key);
      },
    });
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const host = new RecordingCifClient({ answer: () => answered.then(() => 'ok') });
    const only = page(PAGE_A, host, { store: watched, maxConcurrentCalls: 2 });
    await settle();
    let report: DeliveryReport | undefined;
    void only.engine.deliver(calls('A1', 'A2', 'A3')).then((r) => (report = r));
    expect([host.calls.length, touched]).to.deep.equal([2, []]);
    await Promise.resolve();
    // Keyed by its rank among the page's calls: A3 is the third.
    expect(touched).to.deep.equal([`set otel-cif/widget/${PAGE_A}/2`]);
    expect(only.stats.outbox).to.deep.include({ stored: 1, notStored: { full: 0, store_error: 0 } });
    // Each call at the host or stored, the export does not wait for the host's answers, as when all were stored.
    await settle();
    expect(report).to.deep.equal({ calls: 3, failed: 0, errors: [] });
    answer();
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1', 'A2', 'A3'));
    expect(touched).to.deep.equal([`set otel-cif/widget/${PAGE_A}/2`, `remove otel-cif/widget/${PAGE_A}/2`]);
    expectBalanced(only.stats);
  });

  it('stops holding its own calls after readyTimeoutMillis when the lock manager never answers a claim', async () => {
    store.setItem(`otel-cif/widget/${PAGE_B}/0`, JSON.stringify({ v: 1, t: Date.now(), ...call('B0') }));
    const host = new RecordingCifClient();
    const stats = createDeliveryStats();
    const silent = { request: () => new Promise<unknown>(() => {}) };
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: silent, uuid: () => PAGE_A });
    const engine = createDelivery({ ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry }, getClient: () => host, client: host, outbox: {} }, stats, outbox);
    engines.push(engine);
    void engine.deliver(calls('A1'));
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis - 1);
    expect(host.calls).to.deep.equal([]);
    await clock.tickAsync(1);
    expect(sent(host)).to.deep.equal(calls('A1'));
    expectBalanced(stats);
  });

  const readyBefore: Array<[string, (host: CifAnalyticsClient) => ReadinessSource]> = [
    ['with a client', (host) => ({ client: host })],
    ['with a ready promise that resolved', () => ({ ready: Promise.resolve() })],
    [
      'after CIFInitDone',
      () => {
        const target = new EventTarget();
        setTimeout(() => target.dispatchEvent(new Event('CIFInitDone')), 0);
        return { target };
      },
    ],
  ];
  readyBefore.forEach(([when, readiness]) =>
    it(`says nothing of calling without CIFInitDone when CIF was ready ${when} and a claim outlasted the wait`, async () => {
      store.setItem(`otel-cif/widget/${PAGE_B}/0`, JSON.stringify({ v: 1, t: Date.now(), ...call('B0') }));
      const host = new RecordingCifClient();
      installCifWithoutInitDone(host);
      const stats = createDeliveryStats();
      const silent = { request: () => new Promise<unknown>(() => {}) };
      const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: silent, uuid: () => PAGE_A });
      const engine = createDelivery({ ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry }, getClient: () => host, ...readiness(host), outbox: {} }, stats, outbox);
      engines.push(engine);
      await settle();
      const lines = debugLines();
      void engine.deliver(calls('A1'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(sent(host)).to.deep.equal(calls('A1'));
      expect(lines.filter((line) => !line.startsWith('outbox:'))).to.deep.equal([`waiting for the outbox, at most ${DELIVERY_DEFAULTS.readyTimeoutMillis} ms`]);
    }),
  );

  it('sends a call past its wait as a last chance once more when the page library, ready while a claim outlasted the wait, fails the call before it', async () => {
    store.setItem(`otel-cif/widget/${PAGE_B}/0`, JSON.stringify({ v: 1, t: Date.now(), ...call('B0') }));
    let answers = 0;
    const library = new RecordingCifClient({ answer: () => (answers++ === 0 ? Promise.reject('Provider not active') : Promise.resolve('ok')) });
    installCifWithoutInitDone(library);
    const lines = debugLines();
    const stats = createDeliveryStats();
    const silent = { request: () => new Promise<unknown>(() => {}) };
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: silent, uuid: () => PAGE_A });
    const options = { ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry }, maxConcurrentCalls: 1, outbox: {} };
    const engine = createDelivery({ ...options, getClient: pageCifClient, target: {} }, stats, outbox);
    engines.push(engine);
    const result = engine.deliver(calls('A1', 'A2'));
    // A1 goes when the wait runs out and fails; A2, past its wait too, goes at the timer's next turn.
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis + 1);
    expect(await result).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    expect(library.calls.map((c) => c.eventName)).to.deep.equal(['A1', 'A2', 'A1']);
    expect(lines.filter((line) => !line.startsWith('outbox:'))).to.deep.equal([
      // The library is there at the first call, so the calls wait for the claim alone.
      `waiting for the outbox, at most ${DELIVERY_DEFAULTS.readyTimeoutMillis} ms`,
      'calling without CIFInitDone after readyTimeoutMillis',
      "call 'A1' failed before CIFInitDone (Provider not active); waiting for CIF again",
      'waiting for CIF, at most 0 ms',
      'calling without CIFInitDone after readyTimeoutMillis',
      // A1 waits again from its attempt, a millisecond earlier.
      `waiting for CIF, at most ${DELIVERY_DEFAULTS.readyTimeoutMillis - 1} ms`,
    ]);
  });

  it('says nothing of calling without CIFInitDone when the page library, there at the first call, is gone when a claim outlasts the wait, and drops a call its lock never let it store', async () => {
    store.setItem(`otel-cif/widget/${PAGE_B}/0`, JSON.stringify({ v: 1, t: Date.now(), ...call('B0') }));
    installCifWithoutInitDone(new RecordingCifClient());
    const lines = debugLines();
    const stats = createDeliveryStats();
    const silent = { request: () => new Promise<unknown>(() => {}) };
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: silent, uuid: () => PAGE_A });
    const options = { ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry }, outbox: {} };
    const engine = createDelivery({ ...options, getClient: pageCifClient, target: {} }, stats, outbox);
    engines.push(engine);
    const result = engine.deliver(calls('A1'));
    removePageCif();
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    await result;
    expect(stats).to.deep.include({ kpiEventsKept: 0, dropped: { ...createDeliveryStats().dropped, cif_not_loaded: 1 } });
    expect(Object.keys(store.contents())).to.deep.equal([`otel-cif/widget/${PAGE_B}/0`]);
    expect(lines.filter((line) => !line.startsWith('outbox:'))).to.deep.equal([
      `waiting for the outbox, at most ${DELIVERY_DEFAULTS.readyTimeoutMillis} ms`,
      "call 'A1' given up as cif_not_loaded: CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page",
      'KPI events dropped: CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page. Counted in getStats().dropped.cif_not_loaded; shown once.',
    ]);
  });

  it('resolves an export and flush() once the outbox keeps its calls, while they still wait for CIF, and shutdown() still waits for the host', async () => {
    const host = new RecordingCifClient();
    const p = page(PAGE_A, host, { ready: false });
    await settle();
    let report: DeliveryReport | undefined;
    void p.engine.deliver(calls('A1', 'A2')).then((r) => (report = r));
    let flushed = false;
    void p.engine.flush().then(() => (flushed = true));
    await settle();
    expect({ report, flushed }).to.deep.equal({ report: { calls: 2, failed: 0, errors: [] }, flushed: true });
    expect(p.stats).to.deep.include({ kpiEventsPending: 2, kpiEventsDelivered: 0 });
    expect(Object.keys(store.contents())).to.have.length(2);

    let closed = false;
    const closing = p.engine.shutdown().then(() => (closed = true));
    await clock.tickAsync(1_000);
    expect(closed).to.equal(false);
    p.ready();
    await closing;
    expect(sent(host)).to.deep.equal(calls('A1', 'A2'));
    expect(p.stats).to.deep.include({ kpiEventsDelivered: 2, kpiEventsPending: 0, kpiEventsKept: 0 });
    expect(store.contents()).to.deep.equal({});
    expectBalanced(p.stats);
  });

  it('resolves an export only once its calls settle when the outbox cannot keep them, and says why each failed', async () => {
    const host = new RecordingCifClient();
    // Room for the probe of a store, none for a call.
    const full = Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (key.startsWith('otel-cif/widget/')) throw new DOMException('full', 'QuotaExceededError');
        MemoryStore.prototype.setItem.call(this, key, value);
      },
    });
    const p = page(PAGE_A, host, { ready: false, store: full });
    await settle();
    let report: DeliveryReport | undefined;
    void p.engine.deliver(calls('A1')).then((r) => (report = r));
    await settle();
    expect(report).to.equal(undefined);
    expect(p.stats.outbox.notStored.full).to.equal(1);
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(report && { ...report, errors: report.errors.map((e) => e.message) }).to.deep.equal({
      calls: 1,
      failed: 1,
      errors: [`CIF library not loaded: the ready promise did not resolve within ${DELIVERY_DEFAULTS.readyTimeoutMillis} ms`],
    });
    expect(p.stats.dropped.cif_not_loaded).to.equal(1);
    expectBalanced(p.stats);
  });

  it('fails its calls at once when the ready promise rejects while the outbox still waits for its lock, dropping what it could not store', async () => {
    store.setItem(`otel-cif/widget/${PAGE_B}/0`, JSON.stringify({ v: 1, t: Date.now(), ...call('B0') }));
    const stats = createDeliveryStats();
    const silent = { request: () => new Promise<unknown>(() => {}) };
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: silent, uuid: () => PAGE_A });
    let reject!: (reason: unknown) => void;
    const ready = new Promise<void>((_, r) => (reject = r));
    const engine = createDelivery({ ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry }, getClient: () => new RecordingCifClient(), ready, outbox: {} }, stats, outbox);
    engines.push(engine);
    let report: DeliveryReport | undefined;
    void engine.deliver(calls('A1')).then((r) => (report = r));
    reject(new Error('no CIF here'));
    await settle();
    // Given up before the lock came, it was never stored: dropped, not kept, and the export says so.
    expect(report).to.deep.include({ calls: 1, failed: 1 });
    expect(stats).to.deep.include({ kpiEventsKept: 0, kpiEventsPending: 0 });
    expect(stats.dropped.cif_not_loaded).to.equal(1);
    expectBalanced(stats);
  });

  it('sends every call a page gone left, though more than maxQueueSize, and still admits its own up to the bound', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1', 'A2', 'A3', 'A4'));
    await settle();
    crash(first);

    const host = new RecordingCifClient();
    const second = page(PAGE_B, host, { ready: false, maxQueueSize: 2 });
    await settle();
    void second.engine.deliver(calls('B1', 'B2', 'B3'));
    await settle();
    expect(second.stats).to.deep.include({ kpiEventsPending: 6, kpiEventsKept: 0 });
    expect(second.stats.dropped.queue_full).to.equal(1);
    second.ready();
    await settle();
    expect(sent(host).map((c) => c.eventName)).to.deep.equal(['A1', 'A2', 'A3', 'A4', 'B1', 'B2']);
    expect(store.contents()).to.deep.equal({});
    expectBalanced(second.stats);
  });

  it('takes a call out before it goes to the host, so one the host never answered is not sent again', async () => {
    const first = page(PAGE_A, new RecordingCifClient({ answer: hangs }));
    void first.engine.deliver(calls('A1'));
    await settle();
    expect(store.contents()).to.deep.equal({});
    crash(first);
    const host = new RecordingCifClient();
    page(PAGE_B, host);
    await settle();
    expect(host.calls).to.deep.equal([]);
  });

  it('never sends a delivered call again', async () => {
    const first = page(PAGE_A, new RecordingCifClient());
    await first.engine.deliver(calls('A1'));
    crash(first);
    const host = new RecordingCifClient();
    const second = page(PAGE_B, host);
    await settle();
    expect([host.calls, second.stats.outbox.replayed]).to.deep.equal([[], 0]);
  });

  it('puts a rejected call back while it waits for its retry, and the next page sends it once', async () => {
    const first = page(PAGE_A, new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) }));
    void first.engine.deliver(calls('A1'));
    await settle();
    expect(Object.keys(store.contents())).to.have.length(1);
    crash(first);
    const host = new RecordingCifClient();
    page(PAGE_B, host);
    await settle();
    await clock.runAllAsync();
    expect(sent(host)).to.deep.equal(calls('A1'));
  });

  it('resolves an export once a rejected call it could not store at admission is stored for its retry, and the next page sends it once', async () => {
    let refuse = true;
    const flaky = Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (refuse && key.startsWith('otel-cif/widget/')) {
          refuse = false;
          throw new DOMException('busy', 'UnknownError');
        }
        MemoryStore.prototype.setItem.call(this, key, value);
      },
    });
    const firstHost = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    // CIF not ready, so the call waits, and is written, as its task ends.
    const first = page(PAGE_A, firstHost, { store: flaky, ready: false });
    await settle();
    let report: DeliveryReport | undefined;
    void first.engine.deliver(calls('A1')).then((r) => (report = r));
    await settle();
    expect(first.stats.outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 1 } });
    expect(report).to.equal(undefined);
    first.ready();
    await settle();
    // Rejected, and stored while it waits for its retry: the export need not wait for the host.
    expect(report).to.deep.equal({ calls: 1, failed: 0, errors: [] });
    expect(Object.keys(flaky.contents())).to.deep.equal([`otel-cif/widget/${PAGE_A}/0`]);
    expectBalanced(first.stats);
    crash(first);

    const host = new RecordingCifClient();
    page(PAGE_B, host, { store: flaky });
    // Before the page gone would have retried, had it lived on.
    await settle();
    expect([sent(host), firstHost.calls.length]).to.deep.equal([calls('A1'), 1]);
    expect(flaky.contents()).to.deep.equal({});
  });

  it('keeps what shutdown gives up on for a later page, counted as kept rather than dropped, with no warning', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    const lines = debugLines();
    void first.engine.deliver(calls('A1', 'A2'));
    await settle();
    const closing = first.engine.shutdown();
    await clock.tickAsync(DELIVERY_DEFAULTS.timeoutMillis);
    await closing;
    expect(first.stats).to.deep.include({ kpiEventsKept: 2, kpiEventsPending: 0 });
    expect(first.stats.dropped.after_shutdown).to.equal(0);
    expect(lines.filter((line) => line.startsWith('KPI events'))).to.deep.equal([]);
    expectBalanced(first.stats);

    const host = new RecordingCifClient();
    page(PAGE_B, host);
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1', 'A2'));
  });

  it('leaves to a later page the calls of pages gone that its claim hands over after shutdown() was called, and sends its own', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1'));
    await settle();
    const closingFirst = first.engine.shutdown();
    await clock.tickAsync(DELIVERY_DEFAULTS.timeoutMillis);
    await closingFirst;
    // The next page admits a call, which waits for its claim, and shuts down before its lock comes.
    const host = new RecordingCifClient();
    const second = page(PAGE_B, host);
    void second.engine.deliver(calls('B1'));
    const closingSecond = second.engine.shutdown();
    await settle();
    await closingSecond;
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['B1']);
    expect(second.stats.outbox.replayed).to.equal(1);
    expect(second.stats).to.deep.include({ kpiEventsKept: 1, kpiEventsPending: 0 });
    expectBalanced(second.stats);
    const third = new RecordingCifClient();
    page('cccccccc-cccc-4ccc-8ccc-cccccccccccc', third);
    await settle();
    expect(sent(third)).to.deep.equal(calls('A1'));
  });

  it('keeps calls that found no CIF in time for the next page, rather than dropping them as cif_not_loaded', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1'));
    await settle();
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(first.stats).to.deep.include({ kpiEventsKept: 1 });
    expect(first.stats.dropped.cif_not_loaded).to.equal(0);
    expectBalanced(first.stats);
  });

  it('sends the calls it kept for want of CIF itself, in order, once CIF comes while the page lives', async () => {
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { ready: false });
    const lines = debugLines();
    void first.engine.deliver(calls('A1', 'A2'));
    await settle();
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(first.stats.kpiEventsKept).to.equal(2);
    void first.engine.deliver(calls('A3'));
    await clock.tickAsync(5_000);
    first.ready();
    await settle();
    expect(sent(host).map((c) => c.eventName)).to.deep.equal(['A1', 'A2', 'A3']);
    expect(first.stats).to.deep.include({ kpiEventsKept: 0, kpiEventsDelivered: 3, kpiEventsPending: 0 });
    expect(store.contents()).to.deep.equal({});
    expect(lines).to.include.members(["call 'A1' goes again: CIF is ready", "call 'A2' goes again: CIF is ready"]);
    expectBalanced(first.stats);
  });

  it('leaves for a later page the calls it kept when its ready promise rejected, as CIF never comes', async () => {
    let reject!: (reason: unknown) => void;
    const ready = new Promise<void>((_, r) => (reject = r));
    const stats = createDeliveryStats();
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: manager.client().locks, uuid: () => PAGE_A, now: Date.now });
    const host = new RecordingCifClient();
    const engine = createDelivery({ ...DELIVERY_DEFAULTS, getClient: () => host, ready, outbox: {} }, stats, outbox);
    engines.push(engine);
    await settle();
    void engine.deliver(calls('A1'));
    reject(new Error('no CIF here'));
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    void engine.deliver(calls('A2'));
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(stats.kpiEventsKept).to.equal(2);
    expect(host.calls).to.deep.equal([]);
    expect(Object.keys(store.contents())).to.have.length(2);
    expectBalanced(stats);
  });

  it('warns once that calls which found no CIF in time are kept until CIF comes, or for a later page', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    const lines = debugLines();
    void first.engine.deliver(calls('A1'));
    await settle();
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    void first.engine.deliver(calls('A2'));
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    void first.engine.deliver(calls('A3'));
    await settle();
    const closing = first.engine.shutdown();
    await clock.tickAsync(DELIVERY_DEFAULTS.timeoutMillis);
    await closing;
    expect(first.stats).to.deep.include({ kpiEventsKept: 3 });
    const kept = lines.filter((line) => line.startsWith('KPI events kept'));
    expect(kept).to.deep.equal([
      `KPI events kept in the outbox until CIF comes, or for a later page: CIF library not loaded: the ready promise did not resolve within ${DELIVERY_DEFAULTS.readyTimeoutMillis} ms. Counted in getStats().kpiEventsKept; shown once.`,
    ]);
    // Those kept as CIF did not come would go should it come; the one the shutdown keeps is a later page's alone.
    expect(lines.filter((line) => line.includes("call 'A") && line.includes('kept in the outbox')).map((line) => line.split(':')[0])).to.deep.equal([
      "call 'A1' kept in the outbox until CIF comes, or for a later page",
      "call 'A2' kept in the outbox until CIF comes, or for a later page",
      "call 'A3' kept in the outbox for a later page",
    ]);
  });

  it('drops a call that found no CIF in time as cif_not_loaded, not kept, when the page cleared the store meanwhile', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1'));
    await settle();
    store.items.clear(); // localStorage.clear() at the widget's sign-out
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(first.stats).to.deep.include({ kpiEventsKept: 0 });
    expect(first.stats.dropped.cif_not_loaded).to.equal(1);
    expectBalanced(first.stats);
  });

  it('stores a rejected call again while it waits for its next retry when the page cleared the store meanwhile', async () => {
    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const first = page(PAGE_A, host);
    void first.engine.deliver(calls('A1'));
    await settle();
    expect([host.calls.length, Object.keys(store.contents()).length]).to.deep.equal([1, 1]);
    store.items.clear();
    await clock.tickAsync(DELIVERY_DEFAULTS.retry.initialBackoffMillis * 1.2);
    expect([host.calls.length, Object.keys(store.contents()).length]).to.deep.equal([2, 1]);
    expectBalanced(first.stats);
  });

  it('sends what an earlier page left though the page filled the store to its quota since', async () => {
    const tight = new MemoryStore(4_000);
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false, store: tight });
    void first.engine.deliver(calls('A1'));
    await settle();
    crash(first);
    try {
      for (let i = 0; ; i++) tight.setItem(`cache/${i}`, 'x');
    } catch {
      // Full: the widget's own data took what was left.
    }
    const host = new RecordingCifClient();
    const second = page(PAGE_B, host, { store: tight });
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1'));
    expect(second.stats.outbox.replayed).to.equal(1);
    expect(Object.keys(tight.contents()).filter((key) => key.startsWith('otel-cif/'))).to.deep.equal([]);
  });

  it('does not hand over a call the store will not let go, and keeps it', async () => {
    const sticky = Object.assign(new MemoryStore(), {
      removeItem(key: string) {
        if (key.endsWith('/0')) throw new DOMException('denied', 'SecurityError');
        MemoryStore.prototype.removeItem.call(this, key);
      },
    });
    const host = new RecordingCifClient();
    const lines = debugLines();
    const first = page(PAGE_A, host, { store: sticky, ready: false });
    await settle();
    const report = await first.engine.deliver(calls('A1', 'A2'));
    expect(report).to.deep.equal({ calls: 2, failed: 0, errors: [] });
    first.ready();
    await settle();
    expect(sent(host)).to.deep.equal(calls('A2'));
    expect(first.stats).to.deep.include({ kpiEventsKept: 1, kpiEventsDelivered: 1 });
    expect(first.stats.outbox.storeErrors).to.equal(1);
    expect(lines).to.include("call 'A1' kept in the outbox for a later page: the outbox could not take this call out");
    // Warned of as a store error, not as a call kept.
    expect(lines.filter((line) => line.startsWith('outbox: store or lock failed (getStats().outbox.storeErrors)'))).to.have.length(1);
    expect(lines.filter((line) => line.startsWith('KPI events kept'))).to.deep.equal([]);
    expectBalanced(first.stats);
  });

  it('sends a call an earlier page left once, though the store names its key twice', async () => {
    const first = page(PAGE_A, new RecordingCifClient(), { ready: false });
    void first.engine.deliver(calls('A1'));
    await settle();
    crash(first);
    // A Web Storage stand-in that lists each key twice, as one over a list with duplicates may.
    const echoing = Object.assign(store, {
      key(index: number) {
        return MemoryStore.prototype.key.call(this, index >> 1);
      },
    });
    Object.defineProperty(echoing, 'length', { get: () => 2 * echoing.items.size });
    const host = new RecordingCifClient();
    const second = page(PAGE_B, host, { store: echoing });
    await settle();
    expect(sent(host)).to.deep.equal(calls('A1'));
    expect(second.stats.outbox.replayed).to.equal(1);
    expectBalanced(second.stats);
  });

  /** A store that takes the outbox's test write and refuses every write after it, as a disabled one does. */
  function refusingStore(): MemoryStore {
    let probed = false;
    return Object.assign(new MemoryStore(), {
      setItem(key: string, value: string) {
        if (probed) throw new DOMException('disabled', 'SecurityError');
        probed = true;
        MemoryStore.prototype.setItem.call(this, key, value);
      },
    });
  }

  it('counts a call not stored once, at its admission, however often its writes at its retries fail', async () => {
    const broken = refusingStore();
    const host = new RecordingCifClient({ answer: (_call, index) => (index < 2 ? Promise.reject(new Error('Provider not active')) : 'ok') });
    const first = page(PAGE_A, host, { store: broken, ready: false });
    await settle();
    void first.engine.deliver(calls('A1'));
    await settle();
    first.ready();
    await clock.runAllAsync();
    expect(host.calls).to.have.length(3);
    expect(first.stats.outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 1 }, storeErrors: 3 });
    expect(first.stats).to.deep.include({ kpiEventsDelivered: 1 });
    expectBalanced(first.stats);
  });

  it('still delivers from memory when the store throws on every write, counting each call not stored', async () => {
    const broken = refusingStore();
    const host = new RecordingCifClient();
    const first = page(PAGE_A, host, { store: broken, ready: false });
    await settle();
    const done = first.engine.deliver(calls('A1', 'A2'));
    await settle();
    first.ready();
    await done;
    expect(sent(host)).to.deep.equal(calls('A1', 'A2'));
    expect(first.stats.outbox).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 2 } });
    expectBalanced(first.stats);
  });

  /** A lock manager over the shared one whose grants wait until `grant()`; `fail()` rejects the waiting request instead. */
  function heldBackLocks(): { locks: OutboxLocks; grant(): void; fail(): void } {
    const inner = manager.client().locks;
    const waiting: Array<{ go: () => void; fail: () => void }> = [];
    return {
      locks: {
        request: (name, options, callback) =>
          new Promise((resolve, reject) => {
            waiting.push({ go: () => void inner.request(name, options, callback).then(resolve, reject), fail: () => reject(new DOMException('locks denied', 'SecurityError')) });
          }),
      },
      grant: () => waiting.splice(0).forEach((w) => w.go()),
      fail: () => waiting.splice(0).forEach((w) => w.fail()),
    };
  }

  describe('a call given up while the page waits for its lock', () => {
    const cases = [
      { title: 'the lock request then fails', tight: false, then: (l: ReturnType<typeof heldBackLocks>) => l.fail() },
      { title: 'the store is at its quota when the lock comes', tight: true, then: (l: ReturnType<typeof heldBackLocks>) => l.grant() },
    ];
    cases.forEach(({ title, tight, then }) =>
      it(`counts it as dropped for its reason, not kept, when ${title}`, async () => {
        const locks = heldBackLocks();
        // A store that takes the probe (small) but no call.
        const given = tight ? new MemoryStore(100) : store;
        const p = page(PAGE_A, new RecordingCifClient(), { readiness: { ready: Promise.reject(new Error('no CIF on this page')) }, store: given, locks: locks.locks });
        void p.engine.deliver(calls('A1'));
        await settle();
        then(locks);
        await settle();
        const closing = p.engine.shutdown();
        await clock.runAllAsync();
        await closing;
        engines.splice(engines.indexOf(p.engine), 1);
        // Nothing is in the store for a later page, so kpiEventsKept must not say it is.
        expect([...given.items.keys()].filter((k) => k.startsWith('otel-cif/widget/'))).to.deep.equal([]);
        expect({ kept: p.stats.kpiEventsKept, cif_not_loaded: p.stats.dropped.cif_not_loaded }).to.deep.equal({ kept: 0, cif_not_loaded: 1 });
        expectBalanced(p.stats);
      }),
    );

    it('holds in memory no more calls given up while its lock never comes than maxQueueSize', async () => {
      const never: OutboxLocks = { request: () => new Promise(() => {}) };
      const p = page(PAGE_A, new RecordingCifClient(), { readiness: { ready: new Promise(() => {}) }, locks: never, maxQueueSize: 10 });
      const refs: Array<WeakRef<object>> = [];
      for (let i = 0; i < 200; i++) {
        const c = call(`A${i}`);
        refs.push(new WeakRef(c.data));
        void p.engine.deliver([c]);
        // Each call gives up its wait for CIF before the next comes: the queue never holds more than one.
        await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      }
      expect(p.stats.kpiEventsPending).to.equal(0);
      global.gc!();
      await settle();
      global.gc!();
      const alive = refs.filter((ref) => ref.deref() !== undefined).length;
      expect(alive, 'payloads still held after every call settled').to.be.at.most(10);
    });
  });

  describe('calls kept for want of CIF', () => {
    /** A call of `n` KPI events, as `maxEventsPerCall` above 1 makes them. */
    const callOf = (name: string, n: number): CifCall => {
      const one = call(name);
      return { ...one, data: { ...one.data, events: Array.from({ length: n }, () => one.data.events[0]!) } };
    };

    it('holds at most maxQueueSize KPI events of them for CIF: the rest stay for a later page', async () => {
      const host = new RecordingCifClient();
      const p = page(PAGE_A, host, { ready: false, maxQueueSize: 2 });
      await settle();
      void p.engine.deliver(calls('A1', 'A2'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      void p.engine.deliver(calls('A3'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(p.stats.kpiEventsKept).to.equal(3);
      p.ready();
      await settle();
      expect(sent(host).map((c) => c.eventName)).to.deep.equal(['A1', 'A2']);
      expect(p.stats.kpiEventsKept).to.equal(1);
      expect(Object.keys(store.contents())).to.deep.equal([`otel-cif/widget/${PAGE_A}/2`]);
      expectBalanced(p.stats);
    });

    it('leaves calls of earlier pages, of many KPI events each, out of the bound on its own, as they wait and as kept calls go again', async () => {
      const first = page(PAGE_B, new RecordingCifClient(), { ready: false });
      void first.engine.deliver([callOf('B1', 2), callOf('B2', 2)]);
      await settle();
      crash(first);
      const p = page(PAGE_A, new RecordingCifClient({ answer: hangs }), { ready: false, maxQueueSize: 3 });
      await settle();
      void p.engine.deliver(calls('A1'));
      await settle();
      // Four KPI events of the page gone wait beside A1: its own count is 1.
      expect(p.stats).to.deep.include({ kpiEventsPending: 5, kpiEventsKept: 0 });
      expect(p.stats.dropped.queue_full).to.equal(0);
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(p.stats.kpiEventsKept).to.equal(5);
      p.ready();
      await settle();
      // Of the kept calls, memory holds B1 and A1 for CIF (3 KPI events; B2 stays for a later page).
      // B1 goes again on top of the page's bound, A1 within it; the host answers neither.
      expect(p.stats).to.deep.include({ kpiEventsPending: 3, kpiEventsKept: 2 });
      expectBalanced(p.stats);
    });

    it('does not send again a call kept when CIF was ready but its library was not on the page', async () => {
      const lines = debugLines();
      const p = page(PAGE_A, () => undefined, { ready: false });
      await settle();
      p.ready();
      await settle();
      void p.engine.deliver(calls('A1'));
      await settle();
      void p.engine.deliver(calls('A2'));
      await settle();
      expect(p.stats.kpiEventsKept).to.equal(2);
      expect(lines.filter((line) => line.includes('goes again'))).to.deep.equal([]);
    });

    it('holds no more KPI events of its own pending than maxQueueSize allows when the calls it kept go again as CIF comes', async () => {
      let ready!: () => void;
      const readiness: ReadinessSource = { ready: new Promise<void>((r) => (ready = r)) };
      const host = new RecordingCifClient({ answer: hangs });
      const p = page(PAGE_A, host, { readiness, maxQueueSize: 2 });
      await settle();
      void p.engine.deliver(calls('A1', 'A2'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(p.stats.kpiEventsKept).to.equal(2);
      void p.engine.deliver(calls('B1', 'B2'));
      await settle();
      expect(p.stats.kpiEventsPending).to.equal(2);
      ready();
      await settle();
      // docs/delivery.md#memory: a call may take the count up to maxQueueSize + maxEventsPerCall - 1 (here 2).
      expect(p.stats.kpiEventsPending, 'KPI events of this page pending').to.be.at.most(2);
      expectBalanced(p.stats);
    });

    it('sends a call the starting library failed past readyTimeoutMillis once CIFInitDone comes at last, with the default options', async () => {
      const target = new EventTarget();
      let started = false;
      const library = new RecordingCifClient({ answer: () => (started ? 'ok' : Promise.reject(new Error('CIF is not initialised yet'))) });
      installCifWithoutInitDone(library);
      const p = page(PAGE_A, pageCifClient, { readiness: { target } });
      await settle();
      void p.engine.deliver(calls('A1'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis + 5_000);
      // Failed at once, at the end of its wait and on each retry: kept, as a failure before CIFInitDone says nothing of the host.
      expect(p.stats).to.deep.include({ callsMade: 4, kpiEventsKept: 1, kpiEventsPending: 0 });
      expect(Object.keys(store.contents())).to.deep.equal([`otel-cif/widget/${PAGE_A}/0`]);
      await clock.tickAsync(5_000);
      started = true;
      target.dispatchEvent(new Event('CIFInitDone'));
      await settle();
      expect(sent(library).map((c) => c.eventName)).to.deep.equal(['A1', 'A1', 'A1', 'A1', 'A1']);
      expect(p.stats).to.deep.include({ callsMade: 5, kpiEventsDelivered: 1, kpiEventsKept: 0, kpiEventsPending: 0 });
      expect(p.stats.dropped).to.include({ host_error: 0, cif_not_loaded: 0 });
      expect(store.contents()).to.deep.equal({});
      expectBalanced(p.stats);
    });

    it('sends the calls it kept when no library came in time once a library without CIFInitDone answers a later call', async () => {
      const target = new EventTarget();
      const p = page(PAGE_A, pageCifClient, { readiness: { target } });
      const lines = debugLines();
      await settle();
      void p.engine.deliver(calls('A1'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(p.stats).to.deep.include({ kpiEventsKept: 1, kpiEventsPending: 0 });
      // The library comes, but raises no CIFInitDone: the next call goes as its wait runs out, and the answer confirms it.
      const library = new RecordingCifClient();
      installCifWithoutInitDone(library);
      void p.engine.deliver(calls('A2'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(sent(library).map((c) => c.eventName)).to.deep.equal(['A2', 'A1']);
      expect(p.stats).to.deep.include({ kpiEventsDelivered: 2, kpiEventsKept: 0, kpiEventsPending: 0 });
      expect(p.stats.dropped.cif_not_loaded).to.equal(0);
      expect(store.contents()).to.deep.equal({});
      expect(lines).to.include("call 'A1' goes again: CIF is ready");
      expectBalanced(p.stats);
    });

    it('keeps in the outbox every call a page library that never raised CIFInitDone fails: none is spent on it', async () => {
      // The library is put on the page late, and its start-up never finishes: it fails every call.
      const starting = new RecordingCifClient({ answer: () => Promise.reject(new Error('CIF is not initialised yet')) });
      const p = page(PAGE_A, () => (globalThis as { Microsoft?: { CIFramework?: CifAnalyticsClient } }).Microsoft?.CIFramework, { readiness: { target: new EventTarget() } });
      await settle();
      void p.engine.deliver(calls('A1'));
      await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      // No library at all: kept for a later page, whose CIF may work.
      expect(p.stats.kpiEventsKept).to.equal(1);
      installCifWithoutInitDone(starting);
      void p.engine.deliver(calls('B1'));
      await clock.tickAsync(10 * DELIVERY_DEFAULTS.readyTimeoutMillis);
      expect(p.stats.kpiEventsPending).to.equal(0);
      // A1 was safe in the outbox, and B1 goes back there: a failure before CIFInitDone says nothing of the host.
      expect({ kept: p.stats.kpiEventsKept, host_error: p.stats.dropped.host_error }).to.deep.equal({ kept: 2, host_error: 0 });
      expect(Object.keys(store.contents())).to.deep.equal([`otel-cif/widget/${PAGE_A}/0`, `otel-cif/widget/${PAGE_A}/1`]);
      expectBalanced(p.stats);
    });

    it('holds in memory none of the calls it kept once its ready promise rejects, as CIF can no longer come', async () => {
      let reject!: (reason: unknown) => void;
      const readiness: ReadinessSource = { ready: new Promise<void>((_, r) => (reject = r)) };
      const p = page(PAGE_A, new RecordingCifClient(), { readiness });
      await settle();
      const refs: Array<WeakRef<object>> = [];
      for (let i = 0; i < 50; i++) {
        const c = call(`A${i}`);
        refs.push(new WeakRef(c.data));
        void p.engine.deliver([c]);
        await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
      }
      expect(p.stats.kpiEventsKept).to.equal(50);
      reject(new Error('no CIF on this page'));
      await settle();
      global.gc!();
      await settle();
      global.gc!();
      // Every one is in the outbox for a later page; this page can send none of them (the last may live on in this test's frame).
      expect(refs.filter((ref) => ref.deref() !== undefined).length, 'kept payloads still held').to.be.at.most(1);
    });
  });

  describe('as the task that admits them ends', () => {
    /** The event names of the calls the store holds for the widget, in store order. */
    const storedNames = (of: MemoryStore) =>
      Object.entries(of.contents())
        .filter(([key]) => key.startsWith(PREFIX))
        .map(([, value]) => (value as [number, number, CifCall])[2].eventName);

    it('never leaves in the store a call it handed to the host while it wrote the calls of the task before, so the next page does not send it again', async () => {
      // The page's logger, told that a call did not fit, lets CIF be ready then (it raises the page's CIFInitDone).
      const target = new EventTarget();
      const host = new RecordingCifClient();
      const first = page(PAGE_A, host, { readiness: { target }, maxBytes: 2_000 });
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

    it('sends a second time, from a tab holding a copy of the store (sessionStorage, as a duplicated tab gets it), what the opener stored and sent, once the opener goes', async () => {
      const host = new RecordingCifClient();
      const opener = page(PAGE_A, host, { ready: false });
      await settle();
      void opener.engine.deliver(calls('A1', 'A2'));
      await settle();
      expect(storedNames(store).sort()).to.deep.equal(['A1', 'A2']);
      const copy = new MemoryStore();
      store.items.forEach((value, key) => copy.items.set(key, value));
      const duplicate = new RecordingCifClient();
      page(PAGE_B, duplicate, { store: copy });
      await settle();
      opener.ready();
      await settle();
      expect([names(host), storedNames(store)]).to.deep.equal([['A1', 'A2'], []]);
      crash(opener);
      await clock.tickAsync(HANDOVER_WAIT_MILLIS);
      expect(names(duplicate), 'docs/page-lifecycle.md: not sessionStorage').to.deep.equal(['A1', 'A2']);
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
      const only = page(PAGE_A, host, { readiness: { target }, store: watched });
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
        const made = calls(...Array.from({ length: 20 }, (_, i) => `A${i + 1}`));
        made.forEach((c) => refs.push(new WeakRef(c)));
        void only.engine.deliver(made);
      })();
      await settle();
      await settle();
      expect(only.stats).to.deep.include({ kpiEventsPending: 0 });
      await new Promise((resolve) => setImmediate(resolve));
      globalThis.gc!();
      // The 18 calls that waited went through the set; V8 may keep the last object a test touched alive a while longer.
      expect(refs.filter((ref) => ref.deref() !== undefined).length, 'calls still reachable').to.be.at.most(1);
    });
  });
});
