import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import {
  createOutbox,
  createOutboxStats,
  OUTBOX_DEFAULTS,
  type Outbox,
  type OutboxEntry,
  type OutboxLocks,
  type OutboxOptions,
  type OutboxStats,
  type OutboxStore,
} from '../../src/delivery/outbox.js';
import type { CifCall } from '../../src/types.js';
import { captureLevels, installActingDiag } from '../helpers/diag.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

const PAGE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const PAGE_B = 'bbbbbbbb-bbbb-4bbb-bbbb-bbbbbbbbbbbb';
const PAGE_C = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

/** A call named `name` carrying `events` KPI events. */
function call(name: string, events = 1): CifCall {
  return {
    data: {
      conversationId: 'conv-1',
      providerSessionId: 'prov-1',
      events: Array.from({ length: events }, () => ({ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' })),
    },
    eventName: name,
    correlationId: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736',
  };
}

/** The stored value of `call` admitted at `at`, parsed: format 3, `[3, at, call]`. */
const storedValue = (c: CifCall, at = NOW): unknown[] => [3, at, c];
const key = (page: string, seq: number, name = 'widget') => `otel-cif/${name}/${page}/${seq}`;
/** Bytes of the entry of call('X') as Web Storage counts them: key 'otel-cif/widget/<uuid>/0' is 54 characters, the value 230. */
const entryBytes = 2 * (key(PAGE_A, 0).length + JSON.stringify(storedValue(call('X'))).length);
/** Runs every pending microtask, lock grants included. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const names = (entries: readonly OutboxEntry[]) => entries.map((entry) => entry.call.eventName);
/** The stored value of call('X') with field `index` replaced by `value`. */
const withField = (index: number, value: unknown) => storedValue(call('X')).map((field, i) => (i === index ? value : field));
/** The stored value of call('X') with the call's fields `fields` replaced. */
const withCall = (fields: Record<string, unknown>) => withField(2, { ...call('X'), ...fields });
/** Counts from now on the scans of `store`: each scan reads its length once. */
function countScans(store: MemoryStore): () => number {
  let scans = 0;
  Object.defineProperty(store, 'length', { get: () => (scans++, store.items.size), configurable: true });
  return () => scans;
}

interface Page {
  outbox: Outbox;
  stats: OutboxStats;
  client: LockClient;
  /** What `claim()` handed over, each hand-over its own array. */
  claimed: OutboxEntry[][];
}

describe('outbox', () => {
  let store: MemoryStore;
  let manager: ReturnType<typeof createLockManager>;
  let now: number;
  let logged: Array<[string, string]>;
  const pages: Page[] = [];

  beforeEach(() => {
    store = new MemoryStore();
    manager = createLockManager();
    now = NOW;
    logged = [];
    // The component logger puts its namespace first; the API logs of its own.
    const keep = (level: string) => (namespace: string, message?: unknown) => {
      if (namespace === 'opentelemetry-exporter-cif') logged.push([level, String(message)]);
    };
    diag.setLogger(
      { error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: keep('verbose') },
      { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true },
    );
  });
  afterEach(() => {
    pages.splice(0).forEach((page) => page.outbox.dispose());
    diag.disable();
  });

  /** A page of the widget with its own outbox over the shared store and lock manager. */
  function open(pageId: string, options: OutboxOptions = {}, locks?: OutboxLocks): Page {
    const client = manager.client();
    const stats = createOutboxStats();
    // The in-memory store shows every page's removals at once: nothing to wait for at a handover.
    const outbox = createOutbox({ store, name: 'widget', ...options }, stats, { locks: locks ?? client.locks, now: () => now, uuid: () => pageId, handoverWaitMillis: 0 });
    if (!outbox) throw new Error('no outbox');
    const page: Page = { outbox, stats, client, claimed: [] };
    pages.push(page);
    return page;
  }

  /** A page, once it holds its lock, that stored `calls`. */
  async function openWith(pageId: string, calls: CifCall[]): Promise<Page> {
    const page = open(pageId);
    await settle();
    calls.forEach((c) => page.outbox.add(c));
    return page;
  }

  /** A page that stored `calls` (admitted at `at`) and crashed. */
  async function crashedWith(pageId: string, calls: CifCall[], at = NOW): Promise<void> {
    const saved = now;
    now = at;
    const page = await openWith(pageId, calls);
    now = saved;
    page.client.crash();
  }

  const claim = (page: Page) => page.outbox.claim((entries) => page.claimed.push(entries));
  const warnings = () => logged.filter(([level]) => level !== 'debug').map(([level, message]) => `${level}: ${message}`);
  const debugLines = () => logged.filter(([level]) => level === 'debug').map(([, message]) => message);

  describe('where it keeps calls', () => {
    const absent: Array<{ title: string; store: OutboxStore | false | undefined; locks: boolean; reason: string }> = [
      { title: 'turned off', store: false, locks: true, reason: 'no outbox: turned off' },
      {
        title: 'without Web Locks, as outside a secure context',
        store: new MemoryStore(),
        locks: false,
        reason: 'no outbox: no navigator.locks',
      },
      { title: 'without a store, as in a worker', store: undefined, locks: true, reason: 'no outbox: no localStorage' },
      {
        title: 'over a store that refuses a test write, as a sandboxed frame or a full quota',
        store: Object.assign(new MemoryStore(), {
          setItem() {
            throw new DOMException('denied', 'SecurityError');
          },
        }),
        locks: true,
        reason: 'no outbox: test write refused',
      },
    ];
    absent.forEach(({ title, store: given, locks, reason }) =>
      it(`is not made ${title}, and says why at DEBUG`, () => {
        // Node.js has navigator.locks from 24 and localStorage from 26: the page is the one each case describes.
        const outbox = withPageGlobals({ navigator: undefined, localStorage: undefined }, () => createOutbox({ store: given }, createOutboxStats(), locks ? { locks: manager.client().locks } : {}));
        expect(outbox).to.equal(undefined);
        expect(logged).to.deep.equal([['debug', reason]]);
      }),
    );

    it('is not made and says nothing outside a browser page, as in Node', () => {
      expect(createOutbox({}, createOutboxStats())).to.equal(undefined);
      expect(logged).to.deep.equal([]);
    });

    const pageGlobals: Array<{ title: string; globals: Record<string, PropertyDescriptor>; made: boolean }> = [
      {
        title: 'uses localStorage and navigator.locks by default',
        globals: { localStorage: { value: new MemoryStore() }, navigator: { value: { locks: {} } } },
        made: true,
      },
      {
        title: 'is not made where reading localStorage throws, as in a sandboxed frame',
        globals: {
          localStorage: {
            get() {
              throw new DOMException('denied', 'SecurityError');
            },
          },
          navigator: { value: { locks: {} } },
        },
        made: false,
      },
      {
        title: 'is not made where reading navigator throws',
        globals: {
          localStorage: { value: new MemoryStore() },
          navigator: {
            get() {
              throw new Error('page bug');
            },
          },
        },
        made: false,
      },
    ];
    pageGlobals.forEach(({ title, globals, made }) =>
      it(title, async () => {
        const locks = manager.client().locks;
        const navigator = globals['navigator']!;
        if ('value' in navigator) navigator.value = { locks };
        const page = { ...globals, location: { value: { pathname: '/widget.html' } } };
        const outbox = withPageGlobals(page, () => createOutbox({ name: 'widget' }, createOutboxStats(), { uuid: () => PAGE_A, now: () => now }), true);
        expect(outbox !== undefined).to.equal(made);
        outbox?.add(call('CallAccepted'));
        await settle();
        outbox?.dispose();
        if (made) expect((globals['localStorage']!.value as MemoryStore).contents()).to.deep.equal({ [key(PAGE_A, 0)]: storedValue(call('CallAccepted')) });
      }),
    );

    const framed: Array<{ title: string; globals: Record<string, unknown>; name: string | undefined }> = [
      {
        title: 'its path, where the page is not framed',
        globals: { location: { origin: 'https://widget.example', pathname: '/cif/widget.html' } },
        name: '/cif/widget.html',
      },
      {
        title: 'its path, where the page is at the top, whatever its referrer',
        globals: { location: { pathname: '/cif/widget.html' }, document: { referrer: 'https://search.example/' }, top: globalThis, self: globalThis },
        name: '/cif/widget.html',
      },
      {
        title: 'nothing, where the path is not a string',
        globals: { location: { pathname: 42 } },
        name: '',
      },
      {
        title: 'the origin of the page at the top, then the path, where the browser gives its ancestors',
        globals: { location: { pathname: '/cif/widget.html', ancestorOrigins: ['https://other.example', 'https://contoso.crm.dynamics.com'] }, top: {}, self: {} },
        name: 'https://contoso.crm.dynamics.com/cif/widget.html',
      },
    ];
    framed.forEach(({ title, globals, name }) =>
      it(`names its entries after ${title}`, async () => {
        const outbox = withPageGlobals(globals, () =>
          createOutbox({ store }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_A, now: () => now }),
        )!;
        await settle();
        outbox.add(call('CallAccepted'));
        outbox.dispose();
        expect([...store.items.keys()]).to.deep.equal([`otel-cif/${name}/${PAGE_A}/0`]);
      }),
    );

    // Every organisation is on the site dynamics.com, which a frame's storage is shared by: a name
    // without the top page's origin would send one organisation's calls to another's host.
    const unnamed: Array<{ title: string; globals: Record<string, unknown> }> = [
      {
        title: 'a frame whose browser gives no ancestors, whatever its referrer',
        globals: { location: { pathname: '/cif/widget.html' }, document: { referrer: 'https://fabrikam.crm4.dynamics.com/main.aspx' }, top: {}, self: {} },
      },
      {
        title: 'a frame whose top page has an opaque origin',
        globals: { location: { pathname: '/cif/widget.html', ancestorOrigins: ['null'] }, top: {}, self: {} },
      },
      {
        title: 'a page whose location throws',
        globals: {
          location: {
            get pathname() {
              throw new Error('page bug');
            },
          },
        },
      },
    ];
    unnamed.forEach(({ title, globals }) => {
      it(`is not made by default in ${title}, and says why at DEBUG`, () => {
        const outbox = withPageGlobals(globals, () => createOutbox({ store }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_A }));
        expect(outbox).to.equal(undefined);
        expect(store.items.size).to.equal(0);
        expect(debugLines()).to.deep.equal(["no outbox: the top page's origin is unknown: set outbox.name"]);
      });

      it(`is made in ${title} when given a name`, async () => {
        const outbox = withPageGlobals(globals, () =>
          createOutbox({ store, name: 'fabrikam/widget' }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_A, now: () => now }),
        )!;
        await settle();
        outbox.add(call('CallAccepted'));
        outbox.dispose();
        expect([...store.items.keys()]).to.deep.equal([`otel-cif/fabrikam/widget/${PAGE_A}/0`]);
      });
    });

    it('has a 2 MiB byte cap and a 7 day age cap by default', () => {
      expect(OUTBOX_DEFAULTS).to.deep.equal({ maxBytes: 2_097_152, maxAgeMillis: 7 * DAY });
    });
  });

  describe('on admission', () => {
    it('stores each call under its page and sequence number, as versioned JSON with its admission time', async () => {
      const page = open(PAGE_A);
      await settle();
      page.outbox.add(call('CallAccepted', 2));
      now += 5;
      page.outbox.add(call('CallEnded'));
      expect(store.contents()).to.deep.equal({
        [key(PAGE_A, 0)]: storedValue(call('CallAccepted', 2)),
        [key(PAGE_A, 1)]: storedValue(call('CallEnded'), NOW + 5),
      });
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 3 });
      expect(debugLines()).to.deep.equal([`outbox: storing as otel-cif/widget/${PAGE_A}`]);
    });

    it('keeps calls admitted before its lock is granted in memory, and writes those still there once it is', async () => {
      const page = open(PAGE_A);
      const first = page.outbox.add(call('CallAccepted'));
      page.outbox.add(call('CallEnded'));
      expect(store.contents()).to.deep.equal({});
      expect(page.outbox.remove(first)).to.equal(true);
      await settle();
      expect(store.contents()).to.deep.equal({ [key(PAGE_A, 1)]: storedValue(call('CallEnded')) });
      // The call taken out before the lock came is counted neither stored nor not stored.
      expect([page.stats.stored, page.stats.notStored]).to.deep.equal([1, { full: 0, store_error: 0 }]);
    });

    it("holds its page's lock for its whole life, and lets go when disposed", async () => {
      const page = open(PAGE_A);
      await settle();
      expect(manager.held()).to.deep.equal([`otel-cif/widget/${PAGE_A}`]);
      page.outbox.dispose();
      await settle();
      expect(manager.held()).to.deep.equal([]);
    });

    it('takes a call out before it goes to the host, and puts it back with its admission time when the host rejects it', async () => {
      const page = open(PAGE_A);
      await settle();
      const entry = page.outbox.add(call('CallAccepted'));
      now += 1000;
      expect(page.outbox.remove(entry)).to.equal(true);
      expect(store.contents()).to.deep.equal({});
      page.outbox.restore(entry);
      page.outbox.restore(entry);
      expect(store.contents()).to.deep.equal({ [key(PAGE_A, 0)]: storedValue(call('CallAccepted')) });
      expect(page.stats.stored).to.equal(1);
    });

    it('puts a call back in memory when the host rejects it before the lock is granted', async () => {
      const page = open(PAGE_A);
      const entry = page.outbox.add(call('CallAccepted'));
      page.outbox.remove(entry);
      page.outbox.restore(entry);
      await settle();
      expect(store.contents()).to.deep.equal({ [key(PAGE_A, 0)]: storedValue(call('CallAccepted')) });
    });
  });

  describe('bounds', () => {
    it('counts an entry as Web Storage does, two bytes per character of key and value', () => {
      expect(entryBytes).to.equal(568);
    });

    const caps: Array<{ maxBytes: number; stored: number }> = [
      { maxBytes: 2 * entryBytes, stored: 2 },
      { maxBytes: 2 * entryBytes - 1, stored: 1 },
      { maxBytes: entryBytes - 1, stored: 0 },
    ];
    caps.forEach(({ maxBytes, stored }) =>
      it(`stores ${stored} of 3 calls under maxBytes ${maxBytes}, counts the rest as full and warns once`, async () => {
        const page = open(PAGE_A, { maxBytes });
        await settle();
        ['X', 'X', 'X'].forEach((name) => page.outbox.add(call(name)));
        expect(store.items.size).to.equal(stored);
        expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored, notStored: { full: 3 - stored, store_error: 0 } });
        expect(warnings()).to.deep.equal([`warn: outbox: call 'X' not stored: over maxBytes ${maxBytes} or the quota (getStats().outbox.notStored.full)`]);
      }),
    );

    it('warns in each delivery of a page the first time a call is not stored, and at DEBUG after', async () => {
      const pages = [open(PAGE_A, { maxBytes: 1 }), open(PAGE_B, { maxBytes: 1 })];
      await settle();
      for (const page of pages) ['X', 'Y'].forEach((name) => page.outbox.add(call(name)));
      const line = (name: string) => `outbox: call '${name}' not stored: over maxBytes 1 or the quota (getStats().outbox.notStored.full)`;
      expect([warnings(), debugLines().filter((message) => message.includes('not stored'))]).to.deep.equal([
        [`warn: ${line('X')}`, `warn: ${line('X')}`],
        [line('Y'), line('Y')],
      ]);
    });

    it('stores again once its own calls leave room', async () => {
      const page = open(PAGE_A, { maxBytes: entryBytes });
      await settle();
      const first = page.outbox.add(call('X'));
      page.outbox.add(call('Y'));
      page.outbox.remove(first);
      page.outbox.add(call('Z'));
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 2)]);
    });

    it('stays within maxBytes when calls stored before a localStorage.clear() (a sign-out) are taken out after it', async () => {
      const page = open(PAGE_A, { maxBytes: 3 * entryBytes });
      await settle();
      const before = ['X', 'X', 'X'].map((name) => page.outbox.add(call(name)));
      store.items.clear();
      now += 1000;
      page.outbox.add(call('X'));
      // Gone with the clear, they free no room the count still held.
      before.forEach((entry) => expect(page.outbox.remove(entry)).to.equal(true));
      for (let i = 0; i < 5; i++) page.outbox.add(call('X'));
      expect(store.items.size).to.equal(3);
    });

    it("counts other pages' entries, and counts the store again at most once a second when full", async () => {
      await crashedWith(PAGE_B, [call('X')]);
      const page = open(PAGE_A, { maxBytes: 2 * entryBytes });
      await settle();
      page.outbox.add(call('A'));
      store.removeItem(key(PAGE_B, 0));
      now += 999;
      page.outbox.add(call('B'));
      now += 1;
      page.outbox.add(call('C'));
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0), key(PAGE_A, 2)]);
      expect(page.stats.notStored.full).to.equal(1);
    });

    it("counts a write past the store's own quota as full", async () => {
      store = new MemoryStore(entryBytes);
      const page = open(PAGE_A);
      await settle();
      page.outbox.add(call('X'));
      page.outbox.add(call('Y'));
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0)]);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 1, notStored: { full: 1, store_error: 0 } });
    });

    const thrown: Array<{ title: string; error: () => unknown; outcome: 'full' | 'store_error' }> = [
      { title: 'QuotaExceededError', error: () => new DOMException('quota exceeded', 'QuotaExceededError'), outcome: 'full' },
      { title: "older Firefox's NS_ERROR_DOM_QUOTA_REACHED", error: () => Object.assign(new Error('quota'), { name: 'NS_ERROR_DOM_QUOTA_REACHED' }), outcome: 'full' },
      { title: 'any other error', error: () => new DOMException('denied', 'SecurityError'), outcome: 'store_error' },
      { title: 'null', error: () => null, outcome: 'store_error' },
      {
        title: 'an error whose name throws',
        error: () => ({
          get name(): string {
            throw new Error('page bug');
          },
        }),
        outcome: 'store_error',
      },
    ];
    thrown.forEach(({ title, error, outcome }) =>
      it(`counts a call whose write throws ${title} as not stored, ${outcome}, and never throws`, async () => {
        const page = open(PAGE_A);
        await settle();
        store.setItem = () => {
          throw error();
        };
        const entry = page.outbox.add(call('X', 2));
        expect(page.outbox.holds(entry)).to.equal(false);
        expect(page.stats).to.deep.equal({
          ...createOutboxStats(),
          notStored: { full: 0, store_error: 0, [outcome]: 2 },
          storeErrors: outcome === 'full' ? 0 : 1,
        });
      }),
    );

    [undefined, 0].forEach((text) =>
      it(`counts a call as not stored, store_error, where the page's JSON.stringify writes it as ${String(text)}, and stores nothing`, async () => {
        const page = open(PAGE_A);
        await settle();
        const stringify = JSON.stringify;
        JSON.stringify = () => text as never;
        let entry: OutboxEntry;
        try {
          entry = page.outbox.add(call('X', 2));
        } finally {
          JSON.stringify = stringify;
        }
        expect(page.outbox.holds(entry)).to.equal(false);
        expect(store.contents()).to.deep.equal({});
        expect(page.stats).to.deep.equal({ ...createOutboxStats(), notStored: { full: 0, store_error: 2 }, storeErrors: 1 });
      }),
    );

    const ages: Array<{ title: string; at: number; expired: boolean }> = [
      { title: 'exactly maxAgeMillis old', at: NOW - 7 * DAY, expired: false },
      { title: 'older than maxAgeMillis', at: NOW - 7 * DAY - 1, expired: true },
      { title: 'dated more than maxAgeMillis ahead, by a wrong clock', at: NOW + 7 * DAY + 1, expired: true },
      { title: 'dated ahead by less', at: NOW + DAY, expired: false },
    ];
    ages.forEach(({ title, at, expired }) =>
      it(`${expired ? 'removes unsent' : 'replays'} a stored call ${title}`, async () => {
        await crashedWith(PAGE_B, [call('Old', 2)], at);
        const page = open(PAGE_A);
        claim(page);
        await settle();
        expect(page.claimed.map(names)).to.deep.equal(expired ? [] : [['Old']]);
        expect(store.items.size).to.equal(expired ? 0 : 1);
        expect(page.stats).to.deep.equal({ ...createOutboxStats(), expired: expired ? 2 : 0 });
        if (expired) {
          expect(warnings()).to.deep.equal([`warn: outbox: call 'Old' removed unsent: older than ${7 * DAY} ms (getStats().outbox.expired)`]);
        }
      }),
    );
  });

  describe('claims', () => {
    it('hands over the calls of pages that are gone, oldest first by admission time then order, with the original payloads', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1')], NOW - 10);
      await crashedWith(PAGE_C, [call('C0')], NOW - 20);
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['C0', 'B0', 'B1']]);
      expect(page.claimed[0]![1]!.call).to.deep.equal(call('B0'));
      expect(debugLines()).to.include.members(['outbox: claiming 2 other page(s)', 'outbox: replaying 3 call(s) of 2 page(s)']);
    });

    it('hands over the calls of a page in the order it admitted them, whatever its wall clock did, and counts at DEBUG only the pages it took calls from', async () => {
      const gone = open(PAGE_B);
      await settle();
      gone.outbox.add(call('First'));
      // The wall clock set back an hour (NTP, the user) between two calls.
      now = NOW - 3_600_000;
      gone.outbox.add(call('Second'));
      gone.client.crash();
      await crashedWith(PAGE_C, [call('Old')], NOW - 8 * DAY);
      now = NOW;
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['First', 'Second']]);
      expect(debugLines()).to.include.members(['outbox: claiming 2 other page(s)', 'outbox: replaying 2 call(s) of 1 page(s)']);
    });

    it('hands over every call of a page gone, those with sequence numbers of two digits included', async () => {
      const left = Array.from({ length: 12 }, (_, i) => `B${i}`);
      await crashedWith(PAGE_B, left.map((name) => call(name)));
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([left]);
    });

    it("never takes the calls of a page still open, and takes them when it goes", async () => {
      const live = await openWith(PAGE_B, [call('B0')]);
      const handedOver = live.outbox.add(call('B1'));
      live.outbox.add(call('B2'));
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed).to.deep.equal([]);
      expect(debugLines()).to.include('outbox: waiting for 1 open page(s) to close');
      live.outbox.remove(handedOver);
      live.outbox.dispose();
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['B0', 'B2']]);
    });

    describe('a page opened after its claim', () => {
      /** The window of the claiming page: the storage events it hears are those the test fires. */
      let window: EventTarget;
      beforeEach(() => (window = new EventTarget()));
      const claimInWindow = (page: Page) => withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () => claim(page));
      /** What another tab's write (or removal) under `storageKey` tells this one, as a `StorageEvent` has it. */
      const storageEvent = (storageKey: unknown) => window.dispatchEvent(Object.assign(new Event('storage'), { key: storageKey }));
      /** A lock manager of its own for the claiming page, which notes the name of each lock asked for. */
      function notingLocks(requests: string[]): OutboxLocks {
        const { locks } = manager.client();
        return { request: (name, options, callback) => (requests.push(name), locks.request(name, options, callback)) };
      }

      it('is known by the storage event of its first write, and its calls are taken when it closes', async () => {
        const page = open(PAGE_A);
        claimInWindow(page);
        await settle();
        const later = await openWith(PAGE_B, [call('B0'), call('B1')]);
        storageEvent(key(PAGE_B, 0));
        await settle();
        expect(page.claimed).to.deep.equal([]);
        expect(debugLines()).to.include('outbox: waiting for 1 open page(s) to close');
        later.client.crash();
        await settle();
        expect(page.claimed.map(names)).to.deep.equal([['B0', 'B1']]);
      });

      it('asks for the lock of each such page once, whatever it writes or removes', async () => {
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        claimInWindow(page);
        await settle();
        [key(PAGE_B, 0), key(PAGE_B, 1), key(PAGE_B, 0), key(PAGE_C, 0)].forEach(storageEvent);
        expect(requests).to.deep.equal([`otel-cif/widget/${PAGE_A}`, `otel-cif/widget/${PAGE_B}`, `otel-cif/widget/${PAGE_C}`]);
      });

      it('ignores the keys of other names, of names nested in its own, of other formats, its own and those it found at its claim', async () => {
        await crashedWith(PAGE_C, [call('C0')]);
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        claimInWindow(page);
        await settle();
        requests.splice(0);
        [key(PAGE_B, 0, 'other'), key(PAGE_B, 0, 'widget/nested'), `otel-cif/widget/${PAGE_B}`, 'otel-cif/probe', key(PAGE_A, 0), key(PAGE_C, 1), null].forEach(storageEvent);
        await settle();
        expect(requests).to.deep.equal([]);
        expect(page.claimed.map(names)).to.deep.equal([['C0']]);
      });

      it('never throws into the page for an event it made up, whose key is no string or cannot be read', async () => {
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        claimInWindow(page);
        await settle();
        requests.splice(0);
        const unreadable = Object.defineProperty(new Event('storage'), 'key', {
          get() {
            throw new Error('page bug');
          },
        });
        for (const event of [unreadable, Object.assign(new Event('storage'), { key: 42 }), Object.assign(new Event('storage'), { key: { startsWith: 1 } })]) {
          expect(window.dispatchEvent(event)).to.equal(true);
        }
        storageEvent(key(PAGE_B, 0));
        expect(requests).to.deep.equal([`otel-cif/widget/${PAGE_B}`]);
      });

      it('stops listening once disposed, its listener removed', async () => {
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        /** Listeners added and not yet removed by their `signal`. */
        let listeners = 0;
        const countingAdd = (type: string, listener: EventListener, options?: AddEventListenerOptions) => {
          listeners++;
          options?.signal?.addEventListener('abort', () => listeners--);
          window.addEventListener(type, listener, options);
        };
        withPageGlobals({ addEventListener: countingAdd }, () => claim(page));
        await settle();
        expect(listeners).to.equal(1);
        page.outbox.dispose();
        expect(listeners).to.equal(0);
        requests.splice(0);
        storageEvent(key(PAGE_B, 0));
        await settle();
        expect(requests).to.deep.equal([]);
      });

      it('hears nothing once disposed in a browser that keeps the listener, as one without `signal` in addEventListener options', async () => {
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        const withoutSignal = (type: string, listener: EventListener) => window.addEventListener(type, listener);
        withPageGlobals({ addEventListener: withoutSignal }, () => claim(page));
        await settle();
        page.outbox.dispose();
        requests.splice(0);
        logged.splice(0);
        storageEvent(key(PAGE_B, 0));
        await settle();
        expect(requests).to.deep.equal([]);
        expect(debugLines()).to.deep.equal([]);
      });

      it('lets go of the lock of each page that closed leaving nothing to take, and forgets it, so made-up pages hold nothing', async () => {
        const requests: string[] = [];
        const page = open(PAGE_A, {}, notingLocks(requests));
        claimInWindow(page);
        await settle();
        const sent = open(PAGE_B);
        const left = open(PAGE_C);
        await settle();
        const b0 = sent.outbox.add(call('B0'));
        left.outbox.add(call('C0'));
        const madeUp = ['dddddddd-dddd-4ddd-8ddd-dddddddddddd', 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee'];
        [PAGE_B, PAGE_C, ...madeUp].forEach((id) => storageEvent(key(id, 0)));
        sent.outbox.remove(b0);
        sent.client.crash();
        left.client.crash();
        await settle();
        expect(page.claimed.map(names)).to.deep.equal([['C0']]);
        expect(manager.held().sort()).to.deep.equal([`otel-cif/widget/${PAGE_A}`, `otel-cif/widget/${PAGE_C}`]);
        requests.splice(0);
        [PAGE_B, PAGE_C, ...madeUp].forEach((id) => storageEvent(key(id, 1)));
        expect(requests).to.deep.equal([PAGE_B, ...madeUp].map((id) => `otel-cif/widget/${id}`));
      });

      it('is not watched where the page has no window to listen on, and the claim goes on', async () => {
        await crashedWith(PAGE_C, [call('C0')]);
        const page = open(PAGE_A);
        withPageGlobals(
          {
            addEventListener: () => {
              throw new Error('no window');
            },
          },
          () => claim(page),
        );
        await settle();
        expect(page.claimed.map(names)).to.deep.equal([['C0']]);
      });
    });

    it('keeps the locks of pages it took from until it goes, so what it has not removed is taken by the next page', async () => {
      await crashedWith(PAGE_C, [call('C0'), call('C1'), call('C2')]);
      const first = open(PAGE_A);
      const second = open(PAGE_B);
      claim(first);
      claim(second);
      await settle();
      expect(first.claimed.map(names)).to.deep.equal([['C0', 'C1', 'C2']]);
      expect(second.claimed).to.deep.equal([]);
      const [c0, c1] = first.claimed[0]!;
      first.outbox.remove(c0!);
      first.outbox.remove(c1!);
      first.outbox.restore(c1!);
      first.client.crash();
      await settle();
      expect(second.claimed.map(names)).to.deep.equal([['C1', 'C2']]);
    });

    it('hands over only the calls of the pages gone, not its own stored ones, and says which at DEBUG', async () => {
      await crashedWith(PAGE_B, [call('B0')]);
      const page = open(PAGE_A);
      await settle();
      page.outbox.add(call('A0'));
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['B0']]);
      expect(debugLines().filter((line) => line.startsWith('outbox: ') && !line.startsWith('outbox: storing'))).to.deep.equal([
        'outbox: claiming 1 other page(s)',
        'outbox: replaying 1 call(s) of 1 page(s)',
      ]);
    });

    it('skips an entry another tab removed between listing and reading, and replays the others', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1')]);
      const getItem = store.getItem.bind(store);
      store.getItem = (k: string) => (k === key(PAGE_B, 0) ? null : getItem(k));
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['B1']]);
      expect(page.stats).to.deep.include({ unreadable: 0, storeErrors: 0 });
    });

    it('ends its first claim pass at once, handing nothing over, when claimed after dispose', async () => {
      await crashedWith(PAGE_B, [call('B0')]);
      const page = open(PAGE_A);
      page.outbox.dispose();
      let first = 0;
      page.outbox.claim((entries) => page.claimed.push(entries), () => first++);
      expect(first).to.equal(1);
      await settle();
      expect(page.claimed).to.deep.equal([]);
    });

    it("never claims its own calls, nor another name's", async () => {
      await crashedWith(PAGE_B, [call('Other')]);
      const other = { ...store.contents() };
      const page = open(PAGE_A, { name: 'widget/2' });
      await settle();
      page.outbox.add(call('Own'));
      claim(page);
      await settle();
      expect(page.claimed).to.deep.equal([]);
      expect(Object.keys(other)).to.deep.equal([key(PAGE_B, 0)]);
      expect(store.items.has(key(PAGE_B, 0))).to.equal(true);
    });

    it('never claims the calls of a name nested in its own', async () => {
      const nested = `otel-cif/widget/2/${PAGE_B}/0`;
      store.setItem(nested, JSON.stringify(storedValue(call('Nested'))));
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed).to.deep.equal([]);
      expect(store.items.has(nested)).to.equal(true);
    });

    const unreadable: Array<{ title: string; value: string }> = [
      { title: 'text that is not JSON', value: 'not json' },
      { title: 'JSON that is not an array', value: '{"0":2}' },
      { title: 'JSON null', value: 'null' },
      {
        title: 'the object of format 1',
        value: JSON.stringify({ v: 1, t: NOW, data: call('X').data, eventName: 'X', correlationId: call('X').correlationId }),
      },
      {
        title: 'the array of format 2',
        value: JSON.stringify([2, NOW, call('X').data, 'X', call('X').correlationId]),
      },
      { title: 'a format that is not a number', value: JSON.stringify(withField(0, '4')) },
      { title: 'a time that is not a number', value: JSON.stringify(withField(1, '2026')) },
      { title: 'no call', value: JSON.stringify(withField(2, null)) },
      { title: 'a call that is an array', value: JSON.stringify(withField(2, [])) },
      { title: 'no data', value: JSON.stringify(withCall({ data: null })) },
      { title: 'data that is an array', value: JSON.stringify(withCall({ data: [] })) },
      { title: 'no event name', value: JSON.stringify(withCall({ eventName: null })) },
      { title: 'a correlation id that is not a string', value: JSON.stringify(withCall({ correlationId: 1 })) },
      { title: 'no KPI events', value: JSON.stringify(withCall({ data: { events: [] } })) },
      { title: 'KPI events that are not objects', value: JSON.stringify(withCall({ data: { events: ['x'] } })) },
      { title: 'a KPI event that is an array', value: JSON.stringify(withCall({ data: { events: [{}, []] } })) },
      { title: 'a KPI event that is null', value: JSON.stringify(withCall({ data: { events: [{}, null] } })) },
      { title: 'KPI events that are a string', value: JSON.stringify(withCall({ data: { events: 'xy' } })) },
      { title: 'KPI events that are an object with a length', value: JSON.stringify(withCall({ data: { events: { length: 1 } } })) },
    ];
    unreadable.forEach(({ title, value }) =>
      it(`removes an entry of a page gone holding ${title}, counted and warned, and replays the others`, async () => {
        await crashedWith(PAGE_B, [call('B0'), call('B1')]);
        store.setItem(key(PAGE_B, 0), value);
        const page = open(PAGE_A);
        claim(page);
        await settle();
        expect(page.claimed.map(names)).to.deep.equal([['B1']]);
        expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_B, 1)]);
        expect(page.stats).to.deep.equal({ ...createOutboxStats(), unreadable: 1 });
        expect(warnings()).to.deep.equal([`warn: outbox: ${key(PAGE_B, 0)} removed: unreadable (getStats().outbox.unreadable)`]);
      }),
    );

    it('leaves an entry of a later format, which a later version reads, in the store uncounted, and replays the others', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1')]);
      const later = JSON.stringify([4, NOW, { ...call('B0'), attempts: 2 }]);
      store.setItem(key(PAGE_B, 0), later);
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['B1']]);
      expect(store.getItem(key(PAGE_B, 0))).to.equal(later);
      expect(page.stats).to.deep.equal(createOutboxStats());
      expect(warnings()).to.deep.equal([]);
    });

    it("lets go of the lock of a page gone that left only a later version's entries, so a page of that version can take them while this one lives", async () => {
      const later = JSON.stringify([4, NOW, { ...call('B0'), attempts: 2 }]);
      store.setItem(key(PAGE_B, 0), later);
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(store.getItem(key(PAGE_B, 0))).to.equal(later);
      // A page of the later version, opened now, asks for that page's lock as every page does at its claim.
      let granted: unknown;
      await manager.client().locks.request(`otel-cif/widget/${PAGE_B}`, { ifAvailable: true }, (lock) => (granted = lock));
      expect(granted, `lock of ${PAGE_B} while this page lives`).to.not.equal(null);
    });

    const foreignKeys = [
      'otel-cif/widget/not-a-page/0',
      `otel-cif/widget/${PAGE_B}/x`,
      `otel-cif/widget/${PAGE_B}/0/1`,
      `otel-cif/widget/${PAGE_B.toUpperCase()}/0`,
      `otel-cif/widget-2/${PAGE_B}/0`,
      'the widget’s own data',
    ];
    it('leaves keys of any other format alone', async () => {
      for (const foreign of foreignKeys) store.setItem(foreign, 'garbage');
      const page = open(PAGE_A);
      claim(page);
      await settle();
      page.outbox.add(call('A'));
      expect(Object.keys(store.contents())).to.deep.equal([...foreignKeys, key(PAGE_A, 0)]);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 1 });
      expect(page.claimed).to.deep.equal([]);
    });

    it('hands nothing over once disposed, and stops waiting for pages still open', async () => {
      const live = await openWith(PAGE_B, [call('B0')]);
      await crashedWith(PAGE_C, [call('C0')]);
      const page = open(PAGE_A);
      claim(page);
      page.outbox.dispose();
      await settle();
      live.outbox.dispose();
      await settle();
      expect(page.claimed).to.deep.equal([]);
      expect(manager.held()).to.deep.equal([]);
      expect(page.stats.storeErrors).to.equal(0);
    });
  });

  describe('a hostile store or lock manager', () => {
    const boom = () => {
      throw new DOMException('the store went away', 'SecurityError');
    };
    /** Faults applied to the shared store once a page gone has stored B0 and B1 and page A has started. */
    const faults: Array<{ title: string; fault: Partial<Record<keyof OutboxStore, unknown>>; removed: boolean; claimed: string[]; errors: boolean; unstored?: string }> = [
      { title: 'getItem throws', fault: { getItem: boom }, removed: true, claimed: [], errors: true },
      { title: 'setItem throws', fault: { setItem: boom }, removed: true, claimed: ['B0', 'B1'], errors: true, unstored: 'A1' },
      { title: 'removeItem throws', fault: { removeItem: boom }, removed: false, claimed: ['B0', 'B1'], errors: true },
      { title: 'removeItem and getItem throw', fault: { removeItem: boom, getItem: boom }, removed: false, claimed: [], errors: true },
      // A wrapper that swallows its store's errors: the call stays stored, so handed over it would go again from a later page.
      { title: 'removeItem returns without removing', fault: { removeItem: () => {} }, removed: false, claimed: ['B0', 'B1'], errors: true },
      { title: 'key throws', fault: { key: boom }, removed: true, claimed: [], errors: true },
      { title: 'length throws', fault: { length: { get: boom } }, removed: true, claimed: [], errors: true },
      { title: 'getItem returns garbage', fault: { getItem: () => 42 }, removed: true, claimed: [], errors: false },
      { title: 'key returns garbage', fault: { key: () => ({ toString: boom }) }, removed: true, claimed: [], errors: false },
      { title: 'length is NaN', fault: { length: { value: Number.NaN } }, removed: true, claimed: [], errors: false },
      { title: 'length is huge', fault: { length: { value: 1e300 } }, removed: true, claimed: ['B0', 'B1'], errors: false },
      { title: 'length is negative', fault: { length: { value: -1 } }, removed: true, claimed: [], errors: false },
    ];
    faults.forEach(({ title, fault, removed, claimed, errors, unstored }) =>
      it(`never throws when ${title}: every failure counted, warned once, and what it could not remove not handed over`, async () => {
        await crashedWith(PAGE_B, [call('B0'), call('B1')]);
        const page = open(PAGE_A);
        await settle();
        const entry = page.outbox.add(call('A0'));
        for (const [name, value] of Object.entries(fault)) {
          const descriptor = typeof value === 'object' && value !== null ? value : { value };
          Object.defineProperty(store, name, { ...descriptor, configurable: true });
        }
        expect(page.outbox.remove(entry)).to.equal(removed);
        page.outbox.restore(entry);
        page.outbox.add(call('A1'));
        claim(page);
        await settle();
        expect(page.claimed.map(names)).to.deep.equal(claimed.length > 0 ? [claimed] : []);
        expect(page.stats.storeErrors > 0).to.equal(errors);
        expect(warnings()).to.deep.equal([
          ...(errors ? ['warn: outbox: store or lock failed (getStats().outbox.storeErrors)'] : []),
          ...(unstored ? [`warn: outbox: call '${unstored}' not stored: no lock, or the store failed (getStats().outbox.notStored.store_error)`] : []),
        ]);
        page.outbox.dispose();
      }),
    );

    it('reads no further than the length the store gives', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1')]);
      const page = open(PAGE_A);
      await settle();
      Object.defineProperty(store, 'length', { get: () => store.items.size - 1, configurable: true });
      claim(page);
      await settle();
      expect(page.claimed.map(names)).to.deep.equal([['B0']]);
    });

    it('counts as not stored, not an error of the store, a call the store refuses after a write it took', async () => {
      const page = open(PAGE_A);
      await settle();
      Object.defineProperty(store, 'setItem', { value: boom, configurable: true });
      page.outbox.add(call('A0', 3));
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), notStored: { full: 0, store_error: 3 }, storeErrors: 1 });
    });

    it('takes a call out of a store that was cleared by another tab, and stores it again when put back', async () => {
      const page = open(PAGE_A);
      await settle();
      const entry = page.outbox.add(call('A0'));
      store.items.clear();
      expect(page.outbox.remove(entry)).to.equal(true);
      page.outbox.restore(entry);
      expect(store.contents()).to.deep.equal({ [key(PAGE_A, 0)]: storedValue(call('A0')) });
    });

    it('takes out a call it has not written yet without touching the store', async () => {
      const page = open(PAGE_A);
      const entry = page.outbox.add(call('A0'));
      Object.defineProperty(store, 'removeItem', { value: boom, configurable: true });
      expect(page.outbox.remove(entry)).to.equal(true);
      await settle();
      expect(page.stats).to.deep.equal(createOutboxStats());
      expect(store.contents()).to.deep.equal({});
    });

    it('keeps in the store a call whose removeItem returned without removing it, saying why', async () => {
      const page = open(PAGE_A);
      await settle();
      const entry = page.outbox.add(call('A0'));
      Object.defineProperty(store, 'removeItem', { value: () => {}, configurable: true });
      const lines = captureLevels();
      expect(page.outbox.remove(entry)).to.equal(false);
      expect(lines).to.deep.equal(['warn outbox: store or lock failed (getStats().outbox.storeErrors) Error: removeItem left it stored']);
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0)]);
    });

    it('says a call was taken out when removeItem throws yet the entry is gone', async () => {
      const page = open(PAGE_A);
      await settle();
      const entry = page.outbox.add(call('A0'));
      Object.defineProperty(store, 'removeItem', {
        value: (k: string) => {
          store.items.delete(k);
          boom();
        },
        configurable: true,
      });
      expect(page.outbox.remove(entry)).to.equal(true);
      expect(page.stats.storeErrors).to.equal(1);
    });

    const brokenLocks: Array<{ title: string; locks: OutboxLocks; errors: number }> = [
      // Each of its requests fails: its own lock, the claim's and the wait for a page that may be open.
      { title: 'request throws', locks: { request: boom }, errors: 1 },
      { title: 'request rejects', locks: { request: () => Promise.reject(new Error('no locks')) }, errors: 1 },
      { title: 'request resolves without granting', locks: { request: () => Promise.resolve(undefined) }, errors: 0 },
      { title: 'request returns a thenable that throws', locks: { request: () => ({ then: boom }) as unknown as Promise<unknown> }, errors: 1 },
      { title: 'request grants a null lock', locks: { request: async (_n, _o, callback) => callback(null) }, errors: 0 },
    ];
    brokenLocks.forEach(({ title, locks, errors }) =>
      it(`stores nothing and never throws when the lock manager's ${title}, counting each call once, at its admission, as not stored`, async () => {
        await crashedWith(PAGE_B, [call('B0')]);
        const page = open(PAGE_A, {}, locks);
        page.outbox.add(call('A0'));
        await settle();
        const late = page.outbox.add(call('A1', 2));
        page.outbox.remove(late);
        page.outbox.restore(late);
        claim(page);
        await settle();
        expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_B, 0)]);
        expect(page.claimed).to.deep.equal([]);
        expect(page.stats).to.deep.equal({ ...createOutboxStats(), notStored: { full: 0, store_error: 3 }, storeErrors: 3 * errors });
        expect(debugLines()).not.to.include(`outbox: storing as otel-cif/widget/${PAGE_A}`);
      }),
    );

    it('leaves for a later page what it wrote at dispose, though its lock request ends without the lock afterwards', async () => {
      let end!: () => void;
      const page = open(PAGE_A, {}, { request: () => new Promise<unknown>((resolve) => (end = () => resolve(undefined))) });
      const entry = page.outbox.add(call('A0'));
      page.outbox.dispose();
      end();
      await settle();
      expect(page.outbox.remove(entry)).to.equal(false);
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0)]);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 1 });
    });

    it('withdraws at dispose its wait for the lock of a page still open, counting no store error', async () => {
      await openWith(PAGE_B, [call('B0')]);
      const page = open(PAGE_A);
      claim(page);
      await settle();
      expect(manager.waiting()).to.deep.equal([`otel-cif/widget/${PAGE_B}`]);
      page.outbox.dispose();
      await settle();
      expect(manager.waiting()).to.deep.equal([]);
      expect(page.stats.storeErrors).to.equal(0);
      expect(warnings()).to.deep.equal([]);
    });

    it('counts as not stored, when its lock request fails, only the calls it still holds', async () => {
      const page = open(PAGE_A, {}, { request: () => new Promise((_, reject) => setImmediate(() => reject(new Error('no locks')))) });
      page.outbox.remove(page.outbox.add(call('X')));
      page.outbox.add(call('Y'));
      await settle();
      await settle();
      expect(page.stats.notStored).to.deep.equal({ full: 0, store_error: 1 });
    });

    it('lets go of the calls taken out while it waits for a lock that never comes, and writes the others at dispose', async () => {
      const page = open(PAGE_A, {}, { request: () => new Promise(() => {}) });
      const kept = page.outbox.add(call('W'));
      const first = new WeakRef(page.outbox.add(call('X')));
      page.outbox.remove(first.deref()!);
      for (let i = 2; i < 3000; i++) page.outbox.remove(page.outbox.add(call('X')));
      const waiting = page.outbox.add(call('Y'));
      await settle();
      global.gc!();
      expect(first.deref()).to.equal(undefined);
      page.outbox.dispose();
      expect([page.outbox.remove(kept), page.outbox.remove(waiting)]).to.deep.equal([false, false]);
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0), key(PAGE_A, 3000)]);
    });
  });

  describe('a page hidden before its lock came', () => {
    const window = new EventTarget();
    /** A page whose lock request never ends, as one whose grant has not come yet, opened where `window` hears page events. */
    const openWaiting = (pageId: string) =>
      withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () => open(pageId, {}, { request: () => new Promise(() => {}) }));
    const hide = () => window.dispatchEvent(new Event('pagehide'));
    const show = () => window.dispatchEvent(new Event('pageshow'));

    it('writes at pagehide what waits for its lock, and until pageshow what it admits, and a later page takes each once', async () => {
      const page = openWaiting(PAGE_A);
      const before = [page.outbox.add(call('A0')), page.outbox.add(call('A1'))];
      expect(store.contents()).to.deep.equal({});
      hide();
      const meanwhile = page.outbox.add(call('A2'));
      show();
      const after = page.outbox.add(call('A3'));
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0), key(PAGE_A, 1), key(PAGE_A, 2)]);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 3 });
      // Its lock is free: a later page takes them at once, and the page that wrote them never hands them over.
      const later = open(PAGE_B);
      claim(later);
      await settle();
      expect(later.claimed.map((entries) => entries.map((entry) => entry.call.eventName))).to.deep.equal([['A0', 'A1', 'A2']]);
      // Taken by the later page, they are held all the same: this page gave them up as kept, not dropped.
      expect([...before, meanwhile, after].map((entry) => [page.outbox.holds(entry), page.outbox.remove(entry)])).to.deep.equal([
        [true, false],
        [true, false],
        [true, false],
        [false, true],
      ]);
    });

    it('hands over, once its lock comes, what it wrote at pagehide and a later page did not take out, and never what it did', async () => {
      let grant!: () => void;
      const page = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
        open(PAGE_A, {}, { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({ name: 'lock', mode: 'exclusive' })))) }),
      );
      const written = [page.outbox.add(call('A0')), page.outbox.add(call('A1'))];
      hide();
      show();
      // A later page takes both, sends the first (taken out first), and goes: its locks are free again.
      const later = open(PAGE_B);
      claim(later);
      await settle();
      const [taken] = later.claimed;
      expect(later.outbox.remove(taken![0]!)).to.equal(true);
      later.client.crash();
      await settle();
      expect([page.outbox.remove(written[0]!), page.outbox.remove(written[1]!)]).to.deep.equal([false, false]);
      grant();
      await settle();
      expect(written.map((entry) => [page.outbox.holds(entry), page.outbox.remove(entry)])).to.deep.equal([
        [true, false],
        [true, true],
      ]);
      expect(store.contents()).to.deep.equal({});
    });

    it('lets go, once its lock comes, of what it wrote without it', async () => {
      let grant!: () => void;
      const page = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () =>
        open(PAGE_A, {}, { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({ name: 'lock', mode: 'exclusive' })))) }),
      );
      const written = new WeakRef(page.outbox.add(call('A0')));
      hide();
      grant();
      await settle();
      global.gc!();
      expect([written.deref(), Object.keys(store.contents())]).to.deep.equal([undefined, [key(PAGE_A, 0)]]);
    });

    it('changes nothing at pagehide once it holds its lock, nor once disposed', async () => {
      const page = withPageGlobals({ addEventListener: window.addEventListener.bind(window) }, () => open(PAGE_A));
      await settle();
      const entry = page.outbox.add(call('A0'));
      hide();
      expect(page.outbox.remove(entry)).to.equal(true);
      const waiting = openWaiting(PAGE_B);
      waiting.outbox.add(call('B0'));
      waiting.outbox.dispose();
      store.items.clear();
      hide();
      expect(store.contents()).to.deep.equal({});
    });
  });

  describe('each warning and outcome on its own', () => {
    it('warns once for each of a failing store, a call not stored for it, and a full one, then says at DEBUG each later store failure and each call not stored', async () => {
      const page = open(PAGE_A, { maxBytes: 2 * entryBytes - 1 });
      await settle();
      const setItem = store.setItem.bind(store);
      store.setItem = () => {
        throw new DOMException('denied', 'SecurityError');
      };
      page.outbox.add(call('X'));
      page.outbox.add(call('X2'));
      store.setItem = setItem;
      page.outbox.add(call('Y'));
      page.outbox.add(call('Z'));
      page.outbox.add(call('W'));
      const full = `over maxBytes ${2 * entryBytes - 1} or the quota (getStats().outbox.notStored.full)`;
      const failed = 'no lock, or the store failed (getStats().outbox.notStored.store_error)';
      expect(warnings()).to.deep.equal([
        'warn: outbox: store or lock failed (getStats().outbox.storeErrors)',
        `warn: outbox: call 'X' not stored: ${failed}`,
        `warn: outbox: call 'Z' not stored: ${full}`,
      ]);
      expect(debugLines()).to.include.members([
        'outbox: store or lock failed (getStats().outbox.storeErrors)',
        `outbox: call 'X2' not stored: ${failed}`,
        `outbox: call 'W' not stored: ${full}`,
      ]);
      expect(page.stats).to.deep.include({ stored: 1, notStored: { full: 2, store_error: 2 }, storeErrors: 2 });
    });

    it('warns once for each of unreadable and expired entries found in one claim, then says each at DEBUG', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1'), call('B2'), call('B3')], NOW - 8 * DAY);
      store.setItem(key(PAGE_B, 0), 'not json');
      store.setItem(key(PAGE_B, 1), 'not json either');
      const page = open(PAGE_A);
      claim(page);
      await settle();
      const older = `older than ${7 * DAY} ms (getStats().outbox.expired)`;
      expect(warnings()).to.deep.equal([
        `warn: outbox: ${key(PAGE_B, 0)} removed: unreadable (getStats().outbox.unreadable)`,
        `warn: outbox: call 'B2' removed unsent: ${older}`,
      ]);
      expect(debugLines()).to.include.members([`outbox: ${key(PAGE_B, 1)} removed: unreadable (getStats().outbox.unreadable)`, `outbox: call 'B3' removed unsent: ${older}`]);
      expect(page.stats).to.deep.include({ unreadable: 2, expired: 2 });
    });

    it('counts each unreadable and expired entry before it says so, for a diag logger that reads the counters', async () => {
      await crashedWith(PAGE_B, [call('B0'), call('B1'), call('B2')], NOW - 8 * DAY);
      store.setItem(key(PAGE_B, 0), 'not json');
      const page = open(PAGE_A);
      const read: string[] = [];
      const restore = installActingDiag((_level, line) => {
        if (line.includes('removed')) read.push(`${line.includes('unreadable') ? 'unreadable' : 'expired'} ${page.stats.unreadable}/${page.stats.expired}`);
      });
      try {
        claim(page);
        await settle();
      } finally {
        restore();
      }
      expect(read).to.deep.equal(['unreadable 1/0', 'expired 1/1', 'expired 1/2']);
    });

    it('counts a call it cannot write as JSON as a store error, never throwing, and no longer holds it', async () => {
      const page = open(PAGE_A);
      await settle();
      const odd = call('X');
      (odd.data.events[0] as unknown as Record<string, unknown>)['msdyn_customattribute1'] = 1n;
      const entry = page.outbox.add(odd);
      expect(page.outbox.holds(entry)).to.equal(false);
      expect(page.stats).to.deep.include({ stored: 0, notStored: { full: 0, store_error: 1 }, storeErrors: 1 });
    });

    it('no longer holds a call that did not fit', async () => {
      const page = open(PAGE_A, { maxBytes: 1 });
      await settle();
      expect(page.outbox.holds(page.outbox.add(call('X')))).to.equal(false);
    });

    it('counts the store again only when its own count says full, though other pages wrote meanwhile', async () => {
      const other = open(PAGE_B);
      const page = open(PAGE_A, { maxBytes: 2 * entryBytes });
      await settle();
      other.outbox.add(call('X'));
      now += 1_000;
      page.outbox.add(call('X'));
      page.outbox.add(call('X'));
      expect(page.stats).to.deep.include({ stored: 2, notStored: { full: 0, store_error: 0 } });
    });

    it('counts the store again when its own count says full after the clock stepped back', async () => {
      const other = open(PAGE_B);
      await settle();
      const left = other.outbox.add(call('X'));
      const page = open(PAGE_A, { maxBytes: 2 * entryBytes });
      await settle();
      page.outbox.add(call('X'));
      other.outbox.remove(left);
      now -= 3_600_000;
      page.outbox.add(call('X'));
      expect(page.stats).to.deep.include({ stored: 2, notStored: { full: 0, store_error: 0 } });
    });

    it('reads the store once when claiming while every other page is still open', async () => {
      await openWith(PAGE_B, [call('B0')]);
      const page = open(PAGE_A);
      await settle();
      const reads = countScans(store);
      claim(page);
      await settle();
      expect([reads(), page.claimed]).to.deep.equal([1, []]);
    });

    it('never reads the store when its lock request fails', async () => {
      const reads = countScans(store);
      const page = open(PAGE_A, {}, { request: () => Promise.reject(new Error('no locks')) });
      page.outbox.add(call('A0'));
      await settle();
      expect(reads()).to.equal(0);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), notStored: { full: 0, store_error: 1 }, storeErrors: 1 });
    });

    it('says nothing of pages still open once disposed during its claim', async () => {
      await openWith(PAGE_B, [call('B0')]);
      const page = open(PAGE_A);
      claim(page);
      page.outbox.dispose();
      await settle();
      expect(debugLines().filter((line) => line.includes('open pages'))).to.deep.equal([]);
    });

    it('neither stores nor counts a call put back after dispose', async () => {
      const page = open(PAGE_A);
      await settle();
      const entry = page.outbox.add(call('A0'));
      page.outbox.remove(entry);
      page.outbox.dispose();
      page.outbox.restore(entry);
      expect(page.outbox.holds(entry)).to.equal(false);
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), stored: 1 });
      expect(store.contents()).to.deep.equal({});
    });

    it('writes a call put back while still stored only once, counting its bytes once', async () => {
      const page = open(PAGE_A, { maxBytes: 2 * entryBytes });
      await settle();
      const entry = page.outbox.add(call('X'));
      page.outbox.restore(entry);
      page.outbox.add(call('X'));
      expect(page.stats).to.deep.include({ stored: 2, notStored: { full: 0, store_error: 0 } });
    });

    it('says whether it holds a call, stored, until taken out; one waiting for the lock is held once written, and says so then', async () => {
      const page = open(PAGE_A);
      const told: string[] = [];
      const early = page.outbox.add(call('A0'), () => told.push('A0'));
      expect([page.outbox.holds(early), told]).to.deep.equal([false, []]);
      await settle();
      expect([page.outbox.holds(early), told]).to.deep.equal([true, ['A0']]);
      const stored = page.outbox.add(call('A1'), () => told.push('A1'));
      expect(told).to.deep.equal(['A0', 'A1']);
      expect([page.outbox.holds(stored), page.outbox.remove(stored), page.outbox.holds(stored)]).to.deep.equal([true, true, false]);
      // Put back, it is written, and told again as it was added; one still stored is told at once.
      page.outbox.restore(stored, () => told.push('A1 again'));
      page.outbox.restore(early, () => told.push('A0 again'));
      expect(told).to.deep.equal(['A0', 'A1', 'A1', 'A0 again']);
    });

    it('tells nothing of a call that did not fit once the lock came', async () => {
      const page = open(PAGE_A, { maxBytes: 1 });
      const told: string[] = [];
      const early = page.outbox.add(call('A0'), () => told.push('A0'));
      await settle();
      expect([page.outbox.holds(early), told, page.stats.notStored.full]).to.deep.equal([false, [], 1]);
    });

    it('says when its first claim pass is over: at once with no other page, after the hand-over with one gone', async () => {
      const alone = open(PAGE_A);
      let first = 0;
      alone.outbox.claim(() => {}, () => first++);
      expect(first).to.equal(1);
      await crashedWith(PAGE_B, [call('B0')]);
      const next = open(PAGE_C);
      const order: string[] = [];
      next.outbox.claim((entries) => order.push(...names(entries)), () => order.push('first pass'));
      expect(order).to.deep.equal([]);
      await settle();
      expect(order).to.deep.equal(['B0', 'first pass']);
    });
  });

  describe('dispose', () => {
    it('leaves what is stored for a later page: remove() then says the call must not be handed over', async () => {
      const page = open(PAGE_A);
      await settle();
      const stored = page.outbox.add(call('Stored'));
      const taken = page.outbox.add(call('Taken'));
      page.outbox.remove(taken);
      page.outbox.dispose();
      expect(page.outbox.remove(stored)).to.equal(false);
      expect(page.outbox.remove(taken)).to.equal(true);
      page.outbox.restore(taken);
      expect(Object.keys(store.contents())).to.deep.equal([key(PAGE_A, 0)]);
    });

    it('writes no call added after dispose, counting it not stored', async () => {
      const page = open(PAGE_A);
      await settle();
      page.outbox.dispose();
      page.outbox.add(call('Late'));
      expect(store.contents()).to.deep.equal({});
      expect(page.stats).to.deep.equal({ ...createOutboxStats(), notStored: { full: 0, store_error: 1 } });
    });

    it('lets go at once of its own lock granted only after dispose, writing nothing more', async () => {
      let grant!: () => unknown;
      const page = open(PAGE_A, {}, { request: (_name, _options, callback) => new Promise((resolve) => (grant = () => resolve(callback({})))) });
      page.outbox.dispose();
      const held = grant();
      page.outbox.add(call('Late'));
      expect(held).to.equal(undefined);
      expect(store.contents()).to.deep.equal({});
      expect(debugLines()).to.deep.equal([]);
    });

    it('writes the calls admitted before its lock came, for a later page', async () => {
      const page = open(PAGE_A);
      page.outbox.add(call('Early'));
      page.outbox.dispose();
      await settle();
      expect(store.contents()).to.deep.equal({ [key(PAGE_A, 0)]: storedValue(call('Early')) });
      expect(manager.held()).to.deep.equal([]);
      const next = open(PAGE_B);
      claim(next);
      await settle();
      expect(next.claimed.map(names)).to.deep.equal([['Early']]);
    });
  });
});
