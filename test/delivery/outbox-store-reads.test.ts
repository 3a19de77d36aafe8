// The outbox (src/delivery/outbox.ts) when its store cannot be read for a moment: at most once, and counted.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks } from '../../src/delivery/outbox.js';
import type { ReadinessSource } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifAnalyticsClient } from '../../src/types.js';
import { captureDiag } from '../helpers/diag.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { PAGE_A, PAGE_B, call, createLockManager, MemoryStore } from '../helpers/web-storage.js';

describe('the outbox, when its store cannot be read', () => {
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

  /** A page of the widget whose `window` hears `pagehide` and `pageshow`. */
  function page(pageId: string, client: CifAnalyticsClient, readiness: ReadinessSource, locks: OutboxLocks = manager.client().locks) {
    const stats: CifDeliveryStats = createDeliveryStats();
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store, name: 'widget' }, stats.outbox, { locks, uuid: () => pageId, now: Date.now }),
    );
    const engine = createDelivery(
      { ...DELIVERY_DEFAULTS, retry: { ...DELIVERY_DEFAULTS.retry, maxAttempts: 3 }, getClient: () => client, readiness, outbox: {}, random: () => 0.5 },
      stats,
      outbox,
    );
    engines.push(engine);
    return { engine, stats };
  }
  const hide = () => window.dispatchEvent(new Event('pagehide'));
  const show = () => window.dispatchEvent(new Event('pageshow'));
  const failReads = () =>
    Object.defineProperty(store, 'getItem', {
      value: () => {
        throw new DOMException('the store went away', 'SecurityError');
      },
      configurable: true,
    });
  const healReads = () => Reflect.deleteProperty(store, 'getItem');

  // docs/page-lifecycle.md: "should the page stay (restored from the back/forward cache), it sends them itself only
  // once its lock comes and finds them still stored" and "At most once ... once handed over it is never sent again".
  it('never sends twice a call written at pagehide that a later page took and sent, when the store cannot be read as its lock comes', async () => {
    // Page A: its lock comes only at grant(), and CIF only at readyA().
    let grant!: () => void;
    const locksA: OutboxLocks = { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({ name: 'lock', mode: 'exclusive' })))) };
    let readyA!: () => void;
    const hostA = new RecordingCifClient();
    page(PAGE_A, hostA, { kind: 'promise', ready: new Promise<void>((resolve) => (readyA = resolve)) }, locksA).engine.deliver([call('X')]);
    await clock.tickAsync(0);
    // A reload cancelled at once: page A is hidden before its lock came (it writes X without it), then restored.
    hide();
    show();
    expect(store.items.size).to.equal(1);
    // Another tab takes X, as page A's lock is free, sends it, and closes.
    const hostB = new RecordingCifClient();
    const b = page(PAGE_B, hostB, { kind: 'client' });
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
    const a = page(PAGE_A, host, { kind: 'promise', ready: new Promise<void>((resolve) => (ready = resolve)) });
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
