// The outbox of a page hidden (`pagehide`) before its Web Lock came: the calls it writes without the lock are a later
// page's, which may take them at once; the page sends them itself only once its lock comes and finds them still stored.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import type { ReadinessSource } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifAnalyticsClient } from '../../src/types.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { PAGE_A, PAGE_B, call, createLockManager, MemoryStore } from '../helpers/web-storage.js';


/** A lock manager whose grant has not come yet: the page is in its first moments. */
const inFlight: OutboxLocks = { request: () => new Promise(() => {}) };

describe('the delivery of a page hidden before its outbox lock came', () => {
  let clock: InstalledClock;
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  let window: EventTarget;
  const engines: DeliveryEngine[] = [];

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    store = new MemoryStore();
    manager = createLockManager();
    window = new EventTarget();
  });
  afterEach(async () => {
    diag.disable();
    const closing = engines.splice(0).map((engine) => engine.shutdown());
    await clock.runAllAsync();
    await Promise.all(closing);
    clock.uninstall();
  });

  interface Options {
    locks?: OutboxLocks;
    readiness?: ReadinessSource;
    store?: OutboxStore;
  }

  /** A page of the widget whose `window` hears `pagehide` and `pageshow`; CIF ready at once unless `readiness` says otherwise. */
  function page(pageId: string, client: CifAnalyticsClient, options: Options = {}): { engine: DeliveryEngine; stats: CifDeliveryStats } {
    const stats = createDeliveryStats();
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store: options.store ?? store, name: 'widget' }, stats.outbox, { locks: options.locks ?? manager.client().locks, uuid: () => pageId, now: Date.now }),
    );
    const engine = createDelivery(
      { ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry, maxAttempts: 3 }, getClient: () => client, ...(options.readiness ?? { client }), outbox: {}, random: () => 0.5 },
      stats,
      outbox,
    );
    engines.push(engine);
    return { engine, stats };
  }

  const hide = () => window.dispatchEvent(new Event('pagehide'));
  const show = () => window.dispatchEvent(new Event('pageshow'));

  /** The store throws on every read until `healReads()`: a storage partition going away for a moment. */
  const failReads = () =>
    Object.defineProperty(store, 'getItem', {
      value: () => {
        throw new DOMException('the store went away', 'SecurityError');
      },
      configurable: true,
    });
  const healReads = () => Reflect.deleteProperty(store, 'getItem');

  it('never sends one KPI event twice when a diag logger that exports as it is warned runs a due retry while pagehide writes it', async () => {
    /** The host of page A: it rejects the first call, and records the calls it accepts. */
    const accepted: string[] = [];
    let answers = 0;
    const hostA: CifAnalyticsClient = {
      logAnalyticsEvent: (_data, eventName) => (answers++ === 0 ? Promise.reject(new Error('busy')) : (accepted.push(eventName), Promise.resolve('ok'))),
    };
    const a = page(PAGE_A, hostA, { locks: inFlight });
    // A diag logger that records each warning as a KPI event of its own, through the same delivery.
    diag.setLogger(
      { error: () => {}, warn: () => void a.engine.deliver([call('Warned')]), info: () => {}, debug: () => {}, verbose: () => {} },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
    // The page goes (a reload at once) as its retry falls due, before the engine's timer for it has run: pagehide's task
    // was queued first. The store fails once there (a storage partition going away), which is warned about.
    setTimeout(() => {
      let fails = 1;
      Object.defineProperty(store, 'length', {
        get: () => {
          if (fails-- > 0) throw new DOMException('denied', 'SecurityError');
          return store.items.size;
        },
        configurable: true,
      });
      hide();
    }, 250);
    void a.engine.deliver([call('Y')]);
    await clock.tickAsync(250);
    // The next page takes what page A wrote without its lock, and sends it.
    const hostB = new RecordingCifClient();
    page(PAGE_B, hostB);
    await clock.tickAsync(0);
    const sentY = [...accepted, ...hostB.calls.map((c) => c.eventName)].filter((name) => name === 'Y');
    expect(sentY, `page A accepted ${JSON.stringify(accepted)}, page B sent ${JSON.stringify(hostB.calls.map((c) => c.eventName))}`).to.deep.equal(['Y']);
  });

  it('says at DEBUG that it wrote its calls without its lock at pagehide, for a later page, which is why a restored page keeps them when CIF is ready', async () => {
    let ready!: () => void;
    const host = new RecordingCifClient();
    const a = page(PAGE_A, host, { locks: inFlight, readiness: { ready: new Promise<void>((resolve) => (ready = resolve)) } });
    const lines = captureDiag(DiagLogLevel.DEBUG);
    void a.engine.deliver([call('X')]);
    await clock.tickAsync(0);
    // A reload the agent cancels at once: the page is hidden, then restored from the back/forward cache; CIF then comes.
    hide();
    show();
    ready();
    await clock.tickAsync(0);
    expect(host.calls).to.deep.equal([]);
    expect(a.stats).to.deep.include({ kpiEventsKept: 1, kpiEventsDelivered: 0 });
    expect(lines.filter((line) => line.includes('outbox: hidden'))).to.deep.equal(['opentelemetry-exporter-cif outbox: hidden before its lock came: 1 call(s) written for a later page']);
  });

  it('counts a KPI event once in outbox.stored and outbox.notStored when its write fails at pagehide and it is written at the grant', async () => {
    let grant!: () => void;
    const locks: OutboxLocks = { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({ name: 'lock', mode: 'exclusive' })))) };
    const answers: Array<Promise<string>> = [Promise.reject(new Error('busy'))];
    answers[0]!.catch(() => {});
    const host: CifAnalyticsClient = { logAnalyticsEvent: () => answers.shift() ?? new Promise(() => {}) };
    let ready!: () => void;
    const a = page(PAGE_A, host, { locks, readiness: { ready: new Promise<void>((resolve) => (ready = resolve)) } });
    void a.engine.deliver([call('X')]);
    await clock.tickAsync(0);
    // The store is full as the page is hidden (another tab just filled it); the page is restored.
    const setItem = store.setItem.bind(store);
    store.setItem = () => {
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
    hide();
    store.setItem = setItem;
    show();
    // CIF comes: the call goes, the host rejects it, and it waits for its retry as the lock comes.
    ready();
    await clock.tickAsync(0);
    grant();
    await clock.tickAsync(0);
    expect(a.stats.kpiEventsSent).to.equal(1);
    expect(a.stats.outbox.stored + a.stats.outbox.notStored.full + a.stats.outbox.notStored.store_error, JSON.stringify(a.stats.outbox)).to.equal(1);
  });

  it('counts kept, as docs/page-lifecycle.md says, a call written at pagehide that a localStorage.clear() (a sign-out) removed, as one a later page took', async () => {
    const a = page(PAGE_A, new RecordingCifClient(), { locks: inFlight, readiness: { ready: new Promise<void>(() => {}) } });
    void a.engine.deliver([call('X')]);
    await clock.tickAsync(0);
    hide();
    show();
    expect(store.items.size).to.equal(1);
    store.items.clear();
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(a.stats).to.deep.include({ kpiEventsKept: 1 });
    expect(a.stats.dropped.cif_not_loaded).to.equal(0);
    expectBalanced(a.stats);
  });

  // docs/page-lifecycle.md: "should the page stay (restored from the back/forward cache), it sends them itself only
  // once its lock comes and finds them still stored" and "At most once ... once handed over it is never sent again".
  it('never sends twice a call written at pagehide that a later page took and sent, when the store cannot be read as its lock comes', async () => {
    // Page A: its lock comes only at grant(), and CIF only at readyA().
    let grant!: () => void;
    const locksA: OutboxLocks = { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({ name: 'lock', mode: 'exclusive' })))) };
    let readyA!: () => void;
    const hostA = new RecordingCifClient();
    page(PAGE_A, hostA, { readiness: { ready: new Promise<void>((resolve) => (readyA = resolve)) }, locks: locksA }).engine.deliver([call('X')]);
    await clock.tickAsync(0);
    // A reload cancelled at once: page A is hidden before its lock came (it writes X without it), then restored.
    hide();
    show();
    expect(store.items.size).to.equal(1);
    // Another tab takes X, as page A's lock is free, sends it, and closes.
    const hostB = new RecordingCifClient();
    const b = page(PAGE_B, hostB);
    await clock.tickAsync(0);
    expect(hostB.calls.map((c) => c.eventName)).to.deep.equal(['X']);
    engines.splice(engines.indexOf(b.engine), 1);
    // Page A's lock comes while the store cannot be read for a moment (a SecurityError); then CIF comes.
    failReads();
    grant();
    await clock.tickAsync(0);
    healReads();
    readyA();
    await clock.tickAsync(0);
    expect([...hostB.calls, ...hostA.calls].map((c) => c.eventName)).to.deep.equal(['X']);
  });

  // docs/page-lifecycle.md, Hostile storage: "accesses that throw are counted in outbox.storeErrors", and the line
  // "outbox: store or lock failed (getStats().outbox.storeErrors)" is a warning the first time.
  it('counts in outbox.storeErrors, and warns, when getItem throws as a stored call is taken out to go to the host', async () => {
    let ready!: () => void;
    const host = new RecordingCifClient();
    const a = page(PAGE_A, host, { readiness: { ready: new Promise<void>((resolve) => (ready = resolve)) } });
    void a.engine.deliver([call('X')]);
    await clock.tickAsync(0);
    expect(store.items.size).to.equal(1);
    const lines = captureDiag(DiagLogLevel.WARN);
    failReads();
    ready();
    await clock.tickAsync(0);
    healReads();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['X']);
    expect({ storeErrors: a.stats.outbox.storeErrors, warned: lines.some((line) => line.includes('store or lock failed')) }).to.deep.equal({ storeErrors: 1, warned: true });
  });
});
