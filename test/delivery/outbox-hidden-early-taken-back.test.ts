// A page hidden before its outbox lock came writes its calls without the lock; once the lock comes and finds them still
// stored, they are its own again, stored under that lock: should the browser take it back later (WebKit's back/forward
// cache), another tab may take and send them, and the page, restored, never sends them again. Through the delivery
// engine; test/delivery/outbox-lock-taken-back.test.ts holds the outbox's own cases.
import { expect } from 'chai';
import { createDelivery } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox } from '../../src/delivery/outbox.js';
import { createDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B } from '../helpers/web-storage.js';

const PAGE_A2 = 'a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2';
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

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
          { ...DELIVERY_DEFAULTS, getClient: () => host, client: host, ready, outbox: {}, random: () => 0.5 },
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
