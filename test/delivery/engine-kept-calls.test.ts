// Calls kept for want of CIF and sent again once it comes, and the outbox beside a later version
// (docs/delivery.md#memory, docs/page-lifecycle.md#the-outbox).
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, createOutboxStats } from '../../src/delivery/outbox.js';
import type { ReadinessSource } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';
import { expectBalanced, hangs, installCifWithoutInitDone, removePageCif } from '../helpers/fake-client.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

const PAGE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const PAGE_B = 'bbbbbbbb-bbbb-4bbb-bbbb-bbbbbbbbbbbb';
const NOW = 1_800_000_000_000;

function call(name: string): CifCall {
  return {
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}
const calls = (...names: string[]) => names.map(call);

describe('delivery with the outbox: calls kept for want of CIF, and a later version beside it', () => {
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

  const settle = () => clock.tickAsync(0);

  /** A page of the widget with its own engine and outbox over the shared store and locks. */
  function page(pageId: string, client: CifAnalyticsClient | (() => CifAnalyticsClient | undefined), readiness: ReadinessSource, maxQueueSize = DELIVERY_DEFAULTS.maxQueueSize) {
    const stats: CifDeliveryStats = createDeliveryStats();
    const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: manager.client().locks, uuid: () => pageId, now: Date.now });
    const getClient = typeof client === 'function' ? client : () => client;
    const engine = createDelivery({ ...DELIVERY_DEFAULTS, maxQueueSize, getClient, readiness, outbox: {}, random: () => 0.5 }, stats, outbox);
    engines.push(engine);
    return { engine, stats };
  }

  it('holds no more KPI events of its own pending than maxQueueSize allows when the calls it kept go again as CIF comes', async () => {
    let ready!: () => void;
    const readiness: ReadinessSource = { kind: 'promise', ready: new Promise<void>((r) => (ready = r)) };
    const host = new RecordingCifClient({ answer: hangs });
    const p = page(PAGE_A, host, readiness, 2);
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

  it('leaves in the outbox the calls it kept when a page library that never raised CIFInitDone comes and fails every call', async () => {
    // The library is put on the page late, and its start-up never finishes: it fails every call.
    const starting = new RecordingCifClient({ answer: () => Promise.reject(new Error('CIF is not initialised yet')) });
    const p = page(PAGE_A, () => (globalThis as { Microsoft?: { CIFramework?: CifAnalyticsClient } }).Microsoft?.CIFramework, { kind: 'page', target: new EventTarget() });
    await settle();
    void p.engine.deliver(calls('A1'));
    await clock.tickAsync(DELIVERY_DEFAULTS.readyTimeoutMillis);
    // No library at all: kept for a later page, whose CIF may work.
    expect(p.stats.kpiEventsKept).to.equal(1);
    installCifWithoutInitDone(starting);
    void p.engine.deliver(calls('B1'));
    await clock.tickAsync(10 * DELIVERY_DEFAULTS.readyTimeoutMillis);
    expect(p.stats.kpiEventsPending).to.equal(0);
    // B1 is this library's to fail; A1 was safe in the outbox and must not be spent on a library that never confirmed.
    expect({ kept: p.stats.kpiEventsKept, host_error: p.stats.dropped.host_error }).to.deep.equal({ kept: 1, host_error: 1 });
    expect(Object.keys(store.contents())).to.deep.equal([`otel-cif/widget/${PAGE_A}/0`]);
    expectBalanced(p.stats);
  });

  it('holds in memory none of the calls it kept once its ready promise rejects, as CIF can no longer come', async () => {
    let reject!: (reason: unknown) => void;
    const readiness: ReadinessSource = { kind: 'promise', ready: new Promise<void>((_, r) => (reject = r)) };
    const p = page(PAGE_A, new RecordingCifClient(), readiness);
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

  it("lets go of the lock of a page gone that left only a later version's entries, so a page of that version can take them while this one lives", async () => {
    const later = JSON.stringify([4, NOW, { ...call('B0'), attempts: 2 }]);
    store.setItem(`otel-cif/widget/${PAGE_B}/0`, later);
    const stats = createOutboxStats();
    const outbox = createOutbox({ store, name: 'widget' }, stats, { locks: manager.client().locks, uuid: () => PAGE_A, now: Date.now })!;
    outbox.claim(() => {});
    await settle();
    expect(store.getItem(`otel-cif/widget/${PAGE_B}/0`)).to.equal(later);
    // A page of the later version, opened now, asks for that page's lock as every page does at its claim.
    let granted: unknown;
    await manager.client().locks.request(`otel-cif/widget/${PAGE_B}`, { ifAvailable: true }, (lock) => (granted = lock));
    outbox.dispose();
    expect(granted, `lock of ${PAGE_B} while this page lives`).to.not.equal(null);
  });
});
