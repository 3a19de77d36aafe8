// A page hidden before its outbox lock came writes its calls without the lock; once the lock comes and finds them still
// stored, they are its own again, stored under that lock: should the browser take it back later (WebKit's back/forward
// cache), or the lock manager let go of it, another tab may take and send them, and the page never hands them over again.
import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import { createDelivery } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, createOutboxStats, type OutboxEntry, type OutboxLocks } from '../../src/delivery/outbox.js';
import { createDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B, type LockClient } from '../helpers/web-storage.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const PAGE_A2 = 'a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2';
const PAGE_C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a call written at an early pagehide, its own again once the lock came, then the lock lost', () => {
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
  });
  afterEach(() => diag.disable());

  function page(ids: string[], client: LockClient = manager.client()) {
    const stats = createOutboxStats();
    const window = new EventTarget();
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store, name: 'widget' }, stats, { locks: client.locks, uuid: () => ids.shift()!, handoverWaitMillis: 0 }),
    )!;
    const claimed: OutboxEntry[] = [];
    return {
      outbox,
      stats,
      claimed,
      claim: () => outbox.claim((entries) => claimed.push(...entries)),
      hide: () => window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true })),
      show: () => window.dispatchEvent(new Event('pageshow')),
      /** Into WebKit's back/forward cache: hidden, locks let go of; the returned function restores it. */
      cache() {
        window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
        const tell = client.takeBack();
        return () => {
          window.dispatchEvent(new Event('pageshow'));
          tell();
        };
      },
    };
  }

  it('never hands over a call another tab took and sent while the page was cached', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    // Admitted in the page's first moments, before its lock came; the page hides (and is shown again) at once.
    const early = restored.outbox.add(call('CallAccepted'));
    restored.hide();
    restored.show();
    await settle();
    // Its lock came and found the call still stored: it is the page's own again.
    expect(store.items.size).to.equal(1);

    // Later the page goes into WebKit's back/forward cache, which lets go of its lock.
    const restore = restored.cache();
    const other = page([PAGE_B]);
    other.claim();
    await settle();
    expect(other.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted']);
    // The other tab sends it: out of the store first, then to the host.
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);
    restore();
    await settle();

    // At most once after handover: the restored page must not hand it to the host again.
    expect(restored.outbox.remove(early), 'restored page hands the call over a second time').to.equal(false);
    restored.outbox.dispose();
    other.outbox.dispose();
  });

  it('never hands over such a call after the lock manager let go of its lock (no cache), another tab having taken it', async () => {
    const client = manager.client();
    // A lock manager whose grant of this page's own lock later ends while the page lives (counted as a lock failure).
    let grant!: () => void;
    let end!: () => void;
    let asked = 0;
    const locks = {
      request(name: string, options: Parameters<typeof client.locks.request>[1], callback: (lock: object | null) => unknown) {
        if (!name.endsWith(PAGE_A) || asked++) return client.locks.request(name, options, callback);
        return new Promise((resolve) => {
          grant = () => void callback({});
          end = () => resolve(undefined);
        });
      },
    };
    const stats = createOutboxStats();
    const window = new EventTarget();
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store, name: 'widget' }, stats, { locks, uuid: () => PAGE_A, handoverWaitMillis: 0 }),
    )!;
    const early = outbox.add(call('CallAccepted'));
    window.dispatchEvent(new Event('pagehide'));
    window.dispatchEvent(new Event('pageshow'));
    grant();
    await settle();
    end();
    await settle();
    expect(stats.storeErrors).to.equal(1);
    const other = page([PAGE_B]);
    other.claim();
    await settle();
    expect(other.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted']);
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);
    expect(outbox.remove(early), 'hands the call over a second time').to.equal(false);
    outbox.dispose();
    other.outbox.dispose();
  });

  it('never hands over, in the same story, a call written once the lock came', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    await settle();
    const written = restored.outbox.add(call('CallAccepted'));
    const restore = restored.cache();
    const other = page([PAGE_B]);
    other.claim();
    await settle();
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);
    restore();
    await settle();
    expect(restored.outbox.remove(written)).to.equal(false);
    restored.outbox.dispose();
    other.outbox.dispose();
  });
});

describe('a call written at an early pagehide, its own again once the lock came, then taken back, through the delivery engine', () => {
  it('sends a KPI event once, not from both the tab that took it over and the restored page', async () => {
    const store = new MemoryStore();
    const manager = createLockManager();
    const host = new RecordingCifClient();

    /** Lets the first page's lock requests through to the lock manager: a browser grants a lock some time after it is asked for. */
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    function page(ids: string[], ready: Promise<void> | undefined, slowLocks = false) {
      const client = manager.client();
      const locks = slowLocks ? { request: (...args: Parameters<typeof client.locks.request>) => gate.then(() => client.locks.request(...args)) } : client.locks;
      const stats = createDeliveryStats();
      const window = new EventTarget();
      const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
        createOutbox({ store, name: 'widget' }, stats.outbox, { locks, uuid: () => ids.shift()!, handoverWaitMillis: 0 }),
      );
      const engine = shutDownAfterTest(
        createDelivery(
          { ...DELIVERY_DEFAULTS, getClient: () => host, readiness: ready ? { kind: 'promise', ready } : { kind: 'client' }, outbox: {}, random: () => 0.5 },
          stats,
          outbox,
        ),
      );
      return { engine, stats, client, window };
    }

    // The widget's page; CIF starts late (the page's `ready` promise).
    let cifReady!: () => void;
    const a = page([PAGE_A, PAGE_A2], new Promise<void>((r) => (cifReady = r)), true);
    void a.engine.deliver([call('CallAccepted')]);
    await settle();
    // Hidden and shown again in its first moments, before its outbox lock came (a tab switch at load).
    a.window.dispatchEvent(new Event('pagehide'));
    a.window.dispatchEvent(new Event('pageshow'));
    expect(store.items.size, 'written without the lock at pagehide').to.equal(1);
    open();
    await settle();
    // Later into WebKit's back/forward cache, which lets go of its locks.
    a.window.dispatchEvent(new Event('pagehide'));
    const tell = a.client.takeBack();
    // Another tab of the widget opens meanwhile, CIF ready there, and sends what the cached page stored.
    page([PAGE_B], undefined);
    await settle();
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    // The page is restored, then its CIF comes.
    a.window.dispatchEvent(new Event('pageshow'));
    tell();
    await settle();
    cifReady();
    await settle();
    await settle();
    expect(host.calls.map((c) => c.eventName), 'one KPI event, sent by two pages').to.deep.equal(['CallAccepted']);
  });
});

// Restored from the back/forward cache, the page asks for its lock again while another tab holds it; hidden meanwhile, it
// writes a call under its old id, whose lock that tab holds: the lock it then gets, under a new id, does not make the
// call its own.
describe('a call written without the lock while the page asks for it again after the back/forward cache', () => {
  it('never has two pages hand over one call', async () => {
    const store = new MemoryStore();
    const manager = createLockManager();

    function page(ids: string[], client: LockClient = manager.client(), locks: OutboxLocks = client.locks) {
      const window = new EventTarget();
      const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
        createOutbox({ store, name: 'widget' }, createOutboxStats(), { locks, uuid: () => ids.shift()!, handoverWaitMillis: 0 }),
      )!;
      const claimed: OutboxEntry[] = [];
      return {
        outbox,
        client,
        claimed,
        claim: () => outbox.claim((entries) => claimed.push(...entries)),
        hide: () => window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true })),
        show: () => window.dispatchEvent(new Event('pageshow')),
      };
    }

    // Page A's lock manager answers a request some time after it is made (a browser grants a lock a task or more later).
    const client = manager.client();
    let answer: (() => void) | undefined;
    const slowLocks: OutboxLocks = {
      request: (name, options, callback) =>
        options.ifAvailable ? new Promise<void>((r) => (answer = r)).then(() => client.locks.request(name, options, callback)) : client.locks.request(name, options, callback),
    };
    const a = page([PAGE_A, PAGE_A2], client, slowLocks);
    await settle();
    // A stores a call under its lock, then goes into WebKit's back/forward cache, which lets go of the lock.
    a.outbox.add(call('Before'));
    a.hide();
    const tell = a.client.takeBack();
    // Tab B opens, takes A's lock and what A stored, and keeps that lock for its life.
    const b = page([PAGE_B]);
    b.claim();
    await settle();
    expect(b.claimed.map((e) => e.call.eventName)).to.deep.equal(['Before']);
    // A is restored and asks for its lock again (ifAvailable; the answer is not in yet).
    a.show();
    tell();
    await settle();
    expect(answer, 'A asked for its lock again').to.be.a('function');
    // A admits a call, then hides and is shown again before the answer: the call is written without a lock, under A's old id.
    const late = a.outbox.add(call('Late'));
    a.hide();
    a.show();
    // The answer: B holds A's lock, so A takes a new id and its lock, then finds 'Late' still stored.
    answer!();
    await settle();
    await settle();

    // B goes; tab C opens, and takes what is stored under A's old id, whose lock is now free.
    b.outbox.dispose();
    b.client.crash();
    const c = page([PAGE_C]);
    c.claim();
    await settle();
    await settle();
    const takenByC = c.claimed.filter((e) => e.call.eventName === 'Late');
    const cSends = takenByC.length === 1 && c.outbox.remove(takenByC[0]!);
    const aSends = a.outbox.remove(late);
    expect([aSends, cSends], '[A hands it over, C hands it over]').not.to.deep.equal([true, true]);
    a.outbox.dispose();
    c.outbox.dispose();
  });
});

// Granted while the page is hidden, the lock is held from before that hide: the browser that takes it back then took it
// for its back/forward cache, and the page asks for it again, rather than counting a failure and storing no more.
describe('a lock granted after an early pagehide, then taken back by the back/forward cache', () => {
  it('asks again for its lock and stores later calls', async () => {
    const store = new MemoryStore();
    const manager = createLockManager();
    const client = manager.client();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const locks: OutboxLocks = { request: (...args) => gate.then(() => client.locks.request(...args)) };
    const stats = createOutboxStats();
    const window = new EventTarget();
    const ids = [PAGE_A, PAGE_A2];
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store, name: 'widget' }, stats, { locks, uuid: () => ids.shift()!, handoverWaitMillis: 0 }),
    )!;
    outbox.add(call('Early'));
    window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
    open();
    await settle();
    // Granted while hidden; WebKit then takes the lock back as the page goes into its back/forward cache.
    const tell = client.takeBack();
    window.dispatchEvent(new Event('pageshow'));
    tell();
    await settle();
    await settle();
    outbox.add(call('Later'));
    await settle();
    expect(stats.storeErrors).to.equal(0);
    expect(stats.stored).to.equal(2);
    expect(stats.notStored.store_error).to.equal(0);
    outbox.dispose();
  });
});
