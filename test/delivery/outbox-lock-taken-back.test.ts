// The outbox of a page whose lock the browser takes back while the page lives: WebKit lets go of
// every Web Lock of a page that goes into the back/forward cache, and rejects their requests with
// an AbortError once the page is restored. Another tab may take the page's calls meanwhile, and
// send them: at most once after handover, the restored page must not send them again.
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { createOutbox, createOutboxStats, type OutboxEntry, type OutboxLocks } from '../../src/delivery/outbox.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B, type LockClient } from '../helpers/web-storage.js';

/** The id the page restored takes where another page holds its own. */
const PAGE_A2 = 'a2a2a2a2-a2a2-4a2a-8a2a-a2a2a2a2a2a2';
const PAGE_C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
/** Runs every pending microtask, lock grants included. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const NAME = 'otel-cif/widget/';
const TAKEN_BACK = 'debug: outbox: its locks were taken back (a back/forward cache): what it stored is for the page that takes its lock';

describe('the outbox of a page whose locks the browser takes back, as WebKit does in its back/forward cache', () => {
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  let logged: string[];
  /** Runs at each line the outbox says, before it is logged. */
  let onLine: (line: string) => void;
  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
    logged = [];
    onLine = () => {};
    const keep = (level: string) => (namespace: string, message?: unknown, error?: unknown) => {
      if (namespace !== 'opentelemetry-exporter-cif') return;
      const line = `${level}: ${String(message)}${error instanceof Error ? ` ${error.message}` : ''}`;
      onLine(line);
      logged.push(line);
    };
    diag.setLogger(
      { error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: keep('verbose') },
      { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true },
    );
  });
  afterEach(() => diag.disable());

  /**
   * A page of the widget whose ids come from `ids`, in turn, and whose window hears `pagehide` and `pageshow`; it
   * takes a closed page's calls `handoverWaitMillis` after that page's lock comes.
   */
  function page(ids: string[], { handoverWaitMillis = 0, client = manager.client(), locks = client.locks }: { handoverWaitMillis?: number; client?: LockClient; locks?: OutboxLocks } = {}) {
    const stats = createOutboxStats();
    const window = new EventTarget();
    const outbox = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
      createOutbox({ store, name: 'widget' }, stats, { locks, uuid: () => ids.shift()!, handoverWaitMillis }),
    )!;
    const claimed: OutboxEntry[] = [];
    return {
      outbox,
      stats,
      client,
      claimed,
      claim: () => outbox.claim((entries) => claimed.push(...entries)),
      hide: () => window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true })),
      show: () => window.dispatchEvent(new Event('pageshow')),
      /** Into the back/forward cache, as WebKit takes it: hidden, its locks let go of; then back, and told. */
      cache() {
        window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: true }));
        const tell = client.takeBack();
        return () => {
          window.dispatchEvent(new Event('pageshow'));
          tell();
        };
      },
      /**
       * Gone for good (a reload, a closed tab), as WebKit unloads a page: a \`pagehide\` not for the back/forward cache,
       * then every lock of the page let go of and its requests rejected, while its microtasks still run.
       */
      leave() {
        window.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: false }));
        client.takeBack()();
      },
      /** Into the back/forward cache and back at once. */
      cacheAndRestore() {
        this.cache()();
      },
    };
  }

  const keys = () => [...store.items.keys()].map((key) => key.slice(NAME.length));

  it('hands over none of the calls another page took meanwhile, keeps them counted as kept, and stores what comes next under a new id', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    await settle();
    const taken = [restored.outbox.add(call('CallAccepted')), restored.outbox.add(call('CallHold'))];
    // Handed to the host before the page went, and back for a retry after.
    const retried = restored.outbox.add(call('CallRejected'));
    expect(restored.outbox.remove(retried)).to.equal(true);
    restored.cacheAndRestore();
    const other = page([PAGE_B]);
    other.claim();
    await settle();
    expect(other.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted', 'CallHold']);
    // The other page sends the first: it takes it out of the store first.
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);

    expect(taken.map((entry) => restored.outbox.holds(entry)), 'with the outbox, for another page').to.deep.equal([true, true]);
    expect(taken.map((entry) => restored.outbox.remove(entry)), 'handed over by the restored page').to.deep.equal([false, false]);
    expect(restored.outbox.holds(retried), 'stored nowhere').to.equal(false);
    restored.outbox.restore(retried);
    const next = restored.outbox.add(call('CallEnded'));
    await settle();
    expect(keys()).to.deep.equal([`${PAGE_A}/1`, `${PAGE_A2}/2`, `${PAGE_A2}/3`]);
    expect([retried, next].map((entry) => restored.outbox.remove(entry))).to.deep.equal([true, true]);
    expect(restored.stats.storeErrors).to.equal(0);
    expect(logged.filter((line) => !line.startsWith('debug: '))).to.deep.equal([]);
    // Said by the restored page, between the other page's lines.
    expect(logged.filter((line) => / taken back |storing as .*a2a2/.test(line))).to.deep.equal([TAKEN_BACK, `debug: outbox: storing as ${NAME}${PAGE_A2}`]);
    restored.outbox.dispose();
    other.outbox.dispose();
  });

  it('hands over nothing until it holds a lock again, and stores what it admits meanwhile under its new id', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    await settle();
    const stored = restored.outbox.add(call('CallAccepted'));
    // A page that took its lock already, as the line that tells of the loss is said.
    const other = page([PAGE_B]);
    let meanwhile: { handed: boolean; admitted: OutboxEntry } | undefined;
    onLine = (line) => {
      if (line !== TAKEN_BACK) return;
      other.claim();
      meanwhile = { handed: restored.outbox.remove(stored), admitted: restored.outbox.add(call('CallHold')) };
    };
    restored.cacheAndRestore();
    await settle();
    expect(meanwhile?.handed).to.equal(false);
    expect(other.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted']);
    expect(keys()).to.deep.equal([`${PAGE_A}/0`, `${PAGE_A2}/1`]);
    expect(restored.stats.notStored).to.deep.equal({ full: 0, store_error: 0 });
    expect(restored.outbox.remove(meanwhile!.admitted)).to.equal(true);
    restored.outbox.dispose();
    other.outbox.dispose();
  });

  it('hands over none of the calls another page took and sent while it was cached, though it gets its own lock back', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    await settle();
    const [sent, left] = [restored.outbox.add(call('CallAccepted')), restored.outbox.add(call('CallHold'))];
    const restore = restored.cache();
    // Another tab comes, takes both calls, sends one, and goes: the lock is free again when the page is restored.
    const other = page([PAGE_B]);
    other.claim();
    await settle();
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);
    other.outbox.dispose();
    await settle();
    restore();
    await settle();
    expect(keys(), 'stored under its own id again').to.deep.equal([`${PAGE_A}/1`]);
    expect({ held: restored.outbox.holds(sent), handed: [sent, left].map((entry) => restored.outbox.remove(entry)) }).to.deep.equal({ held: true, handed: [false, true] });
    restored.outbox.dispose();
  });

  it('takes its calls back where no other page took its lock meanwhile', async () => {
    const restored = page([PAGE_A, PAGE_A2]);
    await settle();
    const stored = restored.outbox.add(call('CallAccepted'));
    restored.cacheAndRestore();
    await settle();
    const next = restored.outbox.add(call('CallEnded'));
    await settle();
    expect(keys()).to.deep.equal([`${PAGE_A}/0`, `${PAGE_A}/1`]);
    expect([stored, next].map((entry) => restored.outbox.remove(entry))).to.deep.equal([true, true]);
    expect(keys()).to.deep.equal([]);
    expect(restored.stats.storeErrors).to.equal(0);
    restored.outbox.dispose();
  });

  it('hands over none of the calls it took from a page gone, once another page took them; it still takes those of a page that closes later', async () => {
    const gone = page([PAGE_A]);
    await settle();
    gone.outbox.add(call('CallAccepted'));
    gone.outbox.add(call('CallHold'));
    gone.client.crash();
    // A page still open, whose calls the restored page takes once it closes.
    const later = page([PAGE_C]);
    await settle();
    later.outbox.add(call('CallEnded'));
    const restored = page([PAGE_B]);
    restored.claim();
    await settle();
    const [accepted, hold] = restored.claimed;
    // Handed to the host before the page went, and back for a retry after: a page gone's call, stored under its lock, lost.
    expect(restored.outbox.remove(hold!)).to.equal(true);
    restored.cacheAndRestore();
    const other = page([PAGE_A2]);
    other.claim();
    await settle();
    expect(other.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted']);
    restored.outbox.restore(hold!);
    expect([accepted, hold].map((entry) => restored.outbox.remove(entry!))).to.deep.equal([false, false]);
    expect(other.outbox.remove(other.claimed[0]!)).to.equal(true);

    later.outbox.dispose();
    await settle();
    expect(restored.claimed.map((entry) => entry.call.eventName)).to.deep.equal(['CallAccepted', 'CallHold', 'CallEnded']);
    expect(restored.outbox.remove(restored.claimed[2]!)).to.equal(true);
    restored.outbox.dispose();
    other.outbox.dispose();
  });

  it("takes none of a closed page's calls once the browser took the lock back while it waited to take them", async () => {
    const closing = page([PAGE_A]);
    await settle();
    closing.outbox.add(call('CallAccepted'));
    const restored = page([PAGE_B], { handoverWaitMillis: 50 });
    restored.claim();
    await settle();
    closing.outbox.dispose();
    await settle();
    // The closed page's lock is granted: the page waits a moment before it takes the calls, and goes meanwhile.
    restored.cacheAndRestore();
    const other = page([PAGE_A2]);
    other.claim();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect({ restored: restored.claimed.length, other: other.claimed.map((entry) => entry.call.eventName) }).to.deep.equal({ restored: 0, other: ['CallAccepted'] });
    expect(restored.stats.storeErrors).to.equal(0);
    restored.outbox.dispose();
    other.outbox.dispose();
  });

  it('counts a lock that ends while the page was never hidden as a failure of the lock manager, and asks for it no more', async () => {
    let requests = 0;
    // A lock manager that calls back, then says the lock is let go of at once, whatever the callback's promise does.
    const locks: OutboxLocks = {
      request(_name, _options, callback) {
        requests++;
        void callback({});
        return Promise.resolve();
      },
    };
    const broken = page([PAGE_A, PAGE_A2], { locks });
    await settle();
    const entry = broken.outbox.add(call('CallAccepted'));
    await settle();
    expect({ requests, storeErrors: broken.stats.storeErrors, notStored: broken.stats.notStored, handed: broken.outbox.remove(entry) }).to.deep.equal({
      requests: 1,
      storeErrors: 1,
      notStored: { full: 0, store_error: 1 },
      handed: true,
    });
    expect(logged).to.include('warn: outbox: store or lock failed (getStats().outbox.storeErrors) the lock manager let go of a lock the page held');
    broken.outbox.dispose();
  });
  // The page that loads next in the window shares its window proxy, so what the old page says as it goes reaches the new page's logger.
  it('counts nothing and asks for no lock again as its locks and its requests end with a page that goes for good, and a later page takes its calls once', async () => {
    const open = page([PAGE_C]);
    await settle();
    open.outbox.add(call('CallOpen'));
    let requests = 0;
    let gone = false;
    const client = manager.client();
    /** Rejects each request not yet settled, as the page unloads. */
    const unsettled: Array<() => void> = [];
    // A page no longer fully active, as it unloads, has its requests rejected, the lock it holds and the one it waits for too.
    const locks: OutboxLocks = {
      request: (...args: Parameters<OutboxLocks['request']>) => {
        requests++;
        if (gone) return Promise.reject(new DOMException('Responsible document is not fully active', 'InvalidStateError'));
        return new Promise((resolve, reject) => {
          client.locks.request(...args).then(resolve, reject);
          unsettled.push(() => reject(new DOMException('Promise was rejected because the browsing context is going away', 'AbortError')));
        });
      },
    };
    const going = page([PAGE_A, PAGE_A2], { client, locks });
    going.claim();
    await settle();
    going.outbox.add(call('CallAccepted'));
    going.outbox.add(call('CallHold'));
    const asked = requests;
    gone = true;
    going.leave();
    unsettled.forEach((reject) => reject());
    await settle();
    const next = page([PAGE_B]);
    next.claim();
    await settle();
    expect({
      asked: requests - asked,
      storeErrors: going.stats.storeErrors,
      said: logged.filter((line) => !line.startsWith('debug: ') || line === TAKEN_BACK),
      taken: next.claimed.map((entry) => entry.call.eventName),
    }).to.deep.equal({ asked: 0, storeErrors: 0, said: [], taken: ['CallAccepted', 'CallHold'] });
    next.outbox.dispose();
    open.outbox.dispose();
  });

  // A page hidden before its lock came writes its calls without the lock; once the lock comes and finds them still stored,
  // they are its own again, stored under that lock: should the browser take it back later, or the lock manager let go of
  // it, another tab may take and send them, and the page never hands them over again.
  describe('with calls written at an early pagehide', () => {
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
      const { outbox, stats, hide, show } = page([PAGE_A], { client, locks });
      const early = outbox.add(call('CallAccepted'));
      hide();
      show();
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

    // Restored from the back/forward cache, the page asks for its lock again while another tab holds it; hidden meanwhile,
    // it writes a call under its old id, whose lock that tab holds: the lock it then gets, under a new id, does not make
    // the call its own.
    it('leaves a call written under its old id while it asks for its lock again to the page that takes that id, not its new lock', async () => {
      // Page A's lock manager answers a request some time after it is made (a browser grants a lock a task or more later).
      const client = manager.client();
      let answer: (() => void) | undefined;
      const slowLocks: OutboxLocks = {
        request: (name, options, callback) =>
          options.ifAvailable ? new Promise<void>((r) => (answer = r)).then(() => client.locks.request(name, options, callback)) : client.locks.request(name, options, callback),
      };
      const a = page([PAGE_A, PAGE_A2], { client, locks: slowLocks });
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
      expect({ aSends, cSends }).to.deep.equal({ aSends: false, cSends: true });
      a.outbox.dispose();
      c.outbox.dispose();
    });

    // Granted while the page is hidden, the lock is held from before that hide: the browser that takes it back then took
    // it for its back/forward cache, and the page asks for it again, rather than counting a failure and storing no more.
    it('asks again for a lock granted while it was hidden, then taken back, and stores later calls', async () => {
      const client = manager.client();
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const locks: OutboxLocks = { request: (...args) => gate.then(() => client.locks.request(...args)) };
      const { outbox, stats, hide, show } = page([PAGE_A, PAGE_A2], { client, locks });
      outbox.add(call('Early'));
      hide();
      open();
      await settle();
      // Granted while hidden; WebKit then takes the lock back as the page goes into its back/forward cache.
      const tell = client.takeBack();
      show();
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
});
