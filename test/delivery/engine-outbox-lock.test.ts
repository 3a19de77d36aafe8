// A call given up while the page still waits for its outbox lock: kept only if it gets stored
// (docs/page-lifecycle.md#the-outbox), never held in memory outside the queue bound.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import type { ReadinessSource } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifCall } from '../../src/types.js';
import { expectBalanced, removePageCif } from '../helpers/fake-client.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

const PAGE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const NOW = 1_800_000_000_000;

function call(name: string): CifCall {
  return {
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}
const calls = (...names: string[]) => names.map(call);

describe('delivery with the outbox, before the page holds its lock', () => {
  let clock: InstalledClock;
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  const engines: DeliveryEngine[] = [];

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: NOW });
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

  /** Lets lock grants and host answers through without moving the clock. */
  const settle = () => clock.tickAsync(0);

  interface PageOptions {
    readiness?: ReadinessSource;
    store?: OutboxStore;
    locks?: OutboxLocks;
    maxQueueSize?: number;
  }
  interface Page {
    engine: DeliveryEngine;
    stats: CifDeliveryStats;
    locks: LockClient;
  }

  /** A page of the widget over the shared store and locks: CIF ready at once unless `readiness` says otherwise. */
  function page(pageId: string, client: RecordingCifClient, options: PageOptions = {}): Page {
    const locks = manager.client();
    const stats = createDeliveryStats();
    const outbox = createOutbox({ store: options.store ?? store, name: 'widget' }, stats.outbox, { locks: options.locks ?? locks.locks, uuid: () => pageId, now: Date.now });
    const engine = createDelivery(
      {
        ...DELIVERY_DEFAULTS,
        maxQueueSize: options.maxQueueSize ?? DELIVERY_DEFAULTS.maxQueueSize,
        getClient: () => client,
        readiness: options.readiness ?? { kind: 'client' },
        outbox: {},
        random: () => 0.5,
      },
      stats,
      outbox,
    );
    engines.push(engine);
    return { engine, stats, locks };
  }

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
        const p = page(PAGE_A, new RecordingCifClient(), { readiness: { kind: 'promise', ready: Promise.reject(new Error('no CIF on this page')) }, store: given, locks: locks.locks });
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
      const p = page(PAGE_A, new RecordingCifClient(), { readiness: { kind: 'promise', ready: new Promise(() => {}) }, locks: never, maxQueueSize: 10 });
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
});
