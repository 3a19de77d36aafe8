/** The outbox of one delivery engine: see outbox-api.ts for what it keeps, where, and its counters. */
import { log } from '../log.js';
import { createOutboxStats, type CifOutboxStats as OutboxStats } from '../stats.js';
import { OUTBOX_DEFAULTS, type Outbox, type OutboxDeps, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
import { findStore, isQuotaError, type LockOptions } from './outbox-page.js';
import { PAGE_AND_SEQ, decode, encode, sizeOf, type Entry, type Hold } from './outbox-store.js';
import { readClock, startTimer, stopTimer, type Timer } from './timers.js';
import { uuid } from '../mapping/trace-id.js';

/** How long a page holds the lock of a page that closed before it reads what that page left (see `settled`). */
export const HANDOVER_WAIT_MILLIS = 1_000;

export { OUTBOX_DEFAULTS, type Outbox, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
export type { OutboxLocks } from './outbox-page.js';
export type { OutboxStore } from './outbox-store.js';
export { createOutboxStats, type OutboxStats };

/** The outbox of one delivery engine, or undefined where there is no store or no Web Locks. */
export function createOutbox(options: OutboxOptions, stats: OutboxStats, deps?: OutboxDeps): Outbox | undefined {
  const found = findStore(options.store, deps?.locks, options.name);
  if (typeof found === 'string') {
    if (found) log('debug', `no outbox: ${found}`);
    return undefined;
  }
  const [store, locks, name] = found;
  /** The wall clock the page had, or NaN where it throws or gives no finite number: what it stamps cannot be written, and ages nothing. */
  const clock = deps?.now ?? Date.now;
  const now = (): number => readClock(clock);
  const { maxBytes, maxAgeMillis } = { ...OUTBOX_DEFAULTS, ...options };
  const base = `otel-cif/${name}/`;
  /** A new page id: at the start, and where another page holds this one's lock (see `retake`). */
  const newId = (): string => (deps?.uuid ?? uuid)();
  let pageId: string;
  let stopWaiting: AbortController;
  try {
    pageId = newId();
    // A page's getRandomValues that fills nothing (a broken polyfill) would give all its pages one id, and none could
    // tell the calls of a page gone from its own.
    if (pageId === uuid()) throw new Error('crypto.getRandomValues gave one id twice');
    stopWaiting = new AbortController();
  } catch (error) {
    log('debug', 'no outbox: no page id or no AbortController', error);
    return undefined;
  }
  /** Calls admitted before this page held its lock, until it holds it, fails to, or is disposed. */
  let pending: Set<Entry> | undefined = new Set();
  /** This page holds its lock and writes calls: from the grant to `dispose()`, or until the browser takes the lock back. */
  let live = false;
  /** The stretch of the page's life its locks are held in, which every entry it stores or takes is stored under: lost once the browser takes them back. */
  let hold: Hold = {};
  /**
   * From `pagehide` to `pageshow`: the page may be going, so that what waits for its lock is written without it, and a
   * lock it loses then goes with it (the browser tells of a lock it took back, for its back/forward cache, once the
   * page is shown again). What it says then may reach the logger of the page loaded next in its window, which `globalThis` names.
   */
  let hidden = false;
  /** `pagehide` events so far: a lock that ends after one was taken back by the browser, with the page in its back/forward cache. */
  let hides = 0;
  /** What it wrote without its lock (`Entry.given`), until the lock comes. */
  const given = new Set<Entry>();
  /** The entries `drain()` writes, until it is done. */
  let draining: Set<Entry> | undefined;
  let disposed = false;
  let seq = 0;
  /** Bytes of every entry under `base`, as last counted plus this page's own changes since. */
  let bytes = 0;
  let countedAt = 0;
  const { signal } = stopWaiting;
  /** Every lock this page holds is held until this resolves, at `dispose()`, whatever the page's AbortController does. */
  let endLife!: () => void;
  const life = new Promise<void>((resolve) => (endLife = resolve));
  const handoverWait = deps?.handoverWaitMillis ?? HANDOVER_WAIT_MILLIS;
  /** Where `claim()` hands the calls of pages gone. */
  let handOver: (entries: OutboxEntry[]) => void;

  /** The counters warned about: each once, the first time it is said; from then on at DEBUG. */
  const warned = new Set<string>();
  /** Says `what` at DEBUG, with `error` if given, and with `counter` where it is counted (and at WARN the first time). */
  const say = (what: string, counter?: string, ...error: [unknown?]): void =>
    log(counter && !warned.has(counter) && warned.add(counter) ? 'warn' : 'debug', `outbox: ${what}${counter ? ` (getStats().outbox.${counter})` : ''}`, ...error);

  const countError = (error: unknown): void => {
    stats.storeErrors++;
    say('store or lock failed', 'storeErrors', error);
  };

  /**
   * Asks for the lock of page `id`; resolves true once granted, the lock then held until this page
   * goes, or let go as soon as `take`, run at the grant with its `hold`, says (or resolves to say) nothing was taken;
   * false when not: not available, aborted, disposed, or the lock manager failed (counted). A lock kept that ends
   * while the page lives loses the `hold` it was granted in, and runs `lost`, told whether the page was hidden since
   * the grant: then the browser took it back (WebKit lets go of a page's locks as it goes into its back/forward
   * cache, and says so once it is restored); else the lock manager failed (counted).
   */
  function lock(id: string, options: LockOptions, take: (grant: Hold) => unknown, lost?: (takenBack: boolean) => void): Promise<boolean> {
    return new Promise((resolve) => {
      let called = false;
      /** The `hold` of the grant while the lock is kept: one taken back while `take` runs loses what it took. */
      let kept: Hold | undefined;
      let hidesAtGrant = 0;
      // Withdrawn or let go at dispose: nothing was lost, nothing failed.
      const ended = (failed: boolean, error?: unknown): void => {
        if (disposed) return;
        if (kept) {
          // What was stored or taken under it, and under every lock granted with it, is another page's from now on.
          kept.lost = true;
          hold = {};
          const takenBack = hides > hidesAtGrant;
          if (!takenBack) countError(failed ? error : new Error('the lock manager let go of a lock the page held'));
          lost?.(takenBack);
        } else if (failed && !hidden) countError(error);
      };
      // Async, so that a lock manager that throws, or returns a thenable that throws, rejects. A request that ends
      // without granting the lock leaves nothing waiting for it.
      void (async () =>
        locks.request(base + id, options, async (granted) => {
          // Granted once, whatever the lock manager does: a second grant would take the same calls again.
          const held = !called && !!granted && !disposed;
          called = true;
          resolve(held);
          // A lock not held is let go at once, as one whose `take` took nothing or threw.
          kept = hold;
          // Granted while hidden, it is held from before that hide: a lock the browser then takes back was taken for it.
          hidesAtGrant = hidden ? hides - 1 : hides;
          let took: unknown;
          try {
            took = held && (await take(kept));
          } finally {
            if (!took) kept = undefined;
          }
          return took && life;
        }))()
        .then(() => ended(false), (error: unknown) => ended(true, error))
        .then(() => resolve(false));
    });
  }

  /** Whether `entry` is stored under this page's id as it is now: see `retake`. */
  const mine = (entry: Entry): boolean => entry.key.startsWith(`${base}${pageId}/`);

  /**
   * Whether this page may hand over `entry`: not one written without its lock (`given`), nor one stored under a lock
   * taken back since, which another page may have taken and sent; unless that is this page's own lock, granted
   * again, and it finds the entry still stored. One that is not this page's is a later page's.
   */
  function ours(entry: Entry): boolean {
    if (entry.size > 0 && entry.hold?.lost && !entry.given) {
      if (live && !entry.page && mine(entry) && stored(entry.key) === true) entry.hold = hold;
      else entry.given = true;
    }
    return !entry.given;
  }

  /** Whether the store holds `key`, with `value` if given; `undefined` where it cannot be read, which is counted. */
  function stored(key: string, value?: string): boolean | undefined {
    try {
      const held = store.getItem(key);
      return value ? held === value : held !== null;
    } catch (error) {
      countError(error);
      return undefined;
    }
  }

  /** Whether the store surely lacks `key`: one that cannot be read is taken to hold what it held. */
  const absent = (key: string): boolean => stored(key) === false;

  /** Removes `key`, of `size` bytes; true once it is surely gone: removed, or found absent. */
  function erase(key: string, size: number): boolean {
    const there = stored(key);
    // Counted off only if still there: what a page cleared (`localStorage.clear()` at sign-out) left the count with the clear.
    if (there === false) return true;
    try {
      store.removeItem(key);
      // A store that keeps it without a throw (a wrapper that swallows errors) failed too; one whose reads fail is trusted.
      if (there && typeof store.getItem(key) === 'string') throw new Error('removeItem left it stored');
    } catch (error) {
      countError(error);
      if (!absent(key)) return false;
    }
    bytes -= size;
    return true;
  }

  /** The page id and sequence number a key of this outbox names; nothing for any other key. */
  const parse = (key: unknown) => (typeof key === 'string' && key.startsWith(base) ? PAGE_AND_SEQ.exec(key.slice(base.length)) : null);

  /**
   * The entries under `base` in this outbox's format, in store order: key, page, sequence number and
   * value. Counts `bytes` afresh on the way.
   */
  function list(): Array<[key: string, pageId: string, seq: number, value: string]> {
    const rows: Array<[string, string, number, string]> = [];
    // A store that names a key twice would have its call handed over twice.
    const seen = new Set<unknown>();
    countedAt = now();
    bytes = 0;
    try {
      // A store may report any length: a 5 MB store holds fewer than a million keys.
      const length = Math.min(store.length, 1e6);
      for (let i = 0; i < length; i++) {
        const key: unknown = store.key(i);
        const match = !seen.has(key) && seen.add(key) && parse(key);
        if (!match) continue;
        // Removed by another tab since `key()` named it, or a store that lies: skipped.
        const value: unknown = store.getItem(key as string);
        if (typeof value !== 'string') continue;
        rows.push([key as string, match[1]!, +match[2]!, value]);
        bytes += sizeOf(key as string, value);
      }
    } catch (error) {
      countError(error);
    }
    return rows;
  }

  /** Ends the wait for this page's lock: the calls still waiting are written when `live`, else counted not stored. */
  function endWait(): void {
    const waiting = pending;
    pending = undefined;
    drain(waiting, live);
  }

  /**
   * Writes the entries that waited for the lock, with the store counted afresh first when `recount`. One taken out
   * meanwhile (by a call the store's count or a write reached: a diag logger told of a failed store, which exports)
   * is left out, as it went to the host; one counted before (at `pagehide`) is not counted again.
   */
  function drain(waiting: Set<Entry> | undefined, recount: boolean): void {
    draining = waiting;
    if (waiting && recount) list();
    waiting?.forEach((entry) => write(entry, entry.at === 0));
    draining = undefined;
  }

  /**
   * Writes an entry to the store, once this page holds its lock (it waits in `pending` until then), else leaves
   * it in memory only: full (over `maxBytes` or the quota), or for a store or lock failure. Counted, as stored or not, when `admitted`.
   */
  function write(entry: Entry, admitted: boolean): void {
    if (pending && !hidden) {
      pending.add(entry);
      return;
    }
    let full = false;
    // Hidden while it waits for its lock, it writes without it: see `hide`.
    if (live || pending) {
      // This page's call under its id as it is now: see `retake`.
      if (!entry.page) entry.key = `${base}${pageId}/${entry.seq}`;
      try {
        // Stamped at its first write, where a page's clock that gives no time is a failed write: the next page could not read it.
        if (Number.isNaN((entry.at ||= now()))) throw new TypeError('the wall clock gave no time');
        const value = encode(entry);
        const size = sizeOf(entry.key, value);
        // When the count says full, the store is counted again at most once a second (either way, for
        // a wall clock set back; at each write where it gave no time): other tabs remove too.
        if (bytes + size > maxBytes && !(Math.abs(now() - countedAt) < 1000)) list();
        full = bytes + size > maxBytes;
        if (!full) {
          try {
            store.setItem(entry.key, value);
          } catch (error) {
            // A page's wrapper may write, then throw: the call is stored all the same, and is taken out before it goes.
            // Anything else it left under the key (the call written otherwise) is removed, for no later page to send.
            if (!stored(entry.key, value)) {
              erase(entry.key, 0);
              throw error;
            }
            countError(error);
          }
          entry.size = size;
          if (!live) {
            entry.given = true;
            given.add(entry);
          } else if (!entry.page) entry.hold = hold;
          bytes += size;
          if (admitted) stats.stored += entry.events;
          return entry.kept?.();
        }
      } catch (error) {
        full = isQuotaError(error);
        if (!full) countError(error);
      }
    }
    // Counted before it is told, as delivery's drops are: a diag logger may read the count, or export again.
    const reason = full ? 'full' : 'store_error';
    if (admitted) stats.notStored[reason] += entry.events;
    // A rewrite before a retry counts nothing, so it names no counter.
    say(`call '${entry.call.eventName}' not stored: ${full ? `over maxBytes ${maxBytes} or the quota` : 'no lock, or the store failed'}`, admitted ? `notStored.${reason}` : undefined);
  }

  /**
   * Resolves a while after the lock of a page that closed is granted, or as this page goes: Chromium may grant it
   * before this page's `localStorage` shows the calls that page took out, and sent, in its last moments. Rejects
   * where the page's setTimeout throws, which gives up the lock, counted: the calls wait for a later page.
   */
  async function settled(): Promise<void> {
    let timer: Timer | undefined;
    if (handoverWait) await Promise.race([life, new Promise<void>((resolve) => (timer = startTimer(resolve, handoverWait)))]);
    stopTimer(timer);
  }

  /**
   * Hands over, oldest first, the entries of the pages `gone`, whose locks this page now holds, granted in `grant`
   * (none once that is lost); removes expired and unreadable ones. Returns the pages it took calls from.
   */
  function takeOver(gone: string[], grant: Hold): Set<string> {
    const at = now();
    const taken: Entry[] = [];
    const from = new Set<string>();
    for (const [key, id, seq, value] of gone.length > 0 && !disposed && !grant.lost ? list() : []) {
      if (!gone.includes(id)) continue;
      const size = sizeOf(key, value);
      const stored = decode(value);
      // A later version's entry is left for a page of that version.
      if (stored === null) continue;
      // Kept unless surely too old: a clock that gives no time ages nothing.
      if (stored && !(Math.abs(at - stored.at) > maxAgeMillis)) {
        taken.push({ ...stored, key, seq, events: stored.call.data.events.length, size, page: id, hold: grant });
        from.add(id);
      } else if (erase(key, size)) {
        const counter = stored ? 'expired' : 'unreadable';
        stats[counter] += stored ? stored.call.data.events.length : 1;
        say(stored ? `call '${stored.call.eventName}' removed unsent: older than ${maxAgeMillis} ms` : `${key} removed: unreadable`, counter);
      }
    }
    if (taken.length > 0) {
      // Pages in the order of the earliest call each left, by the wall clock; a page's calls in the order it admitted them
      // (a call rejected at once is stored later).
      taken.sort((a, b) => a.at - b.at);
      const pages = [...new Set(taken.map((entry) => entry.page))];
      taken.sort((a, b) => pages.indexOf(a.page) - pages.indexOf(b.page) || a.seq - b.seq);
      say(`replaying ${taken.length} call(s) of ${from.size} page(s)`);
      // Delivery admits them as it admits an export's calls, which never throws.
      handOver(taken);
    }
    return from;
  }

  /** Asks for this page's own lock; once granted, the page writes its calls (`live`). */
  const own = (options: LockOptions): Promise<boolean> =>
    lock(
      pageId,
      options,
      (grant) => {
        say(`storing as ${base}${pageId}`);
        // What it wrote without the lock under the id granted, and finds still stored, is its own again, stored under this
        // lock from now on: a page that took it would have removed it before sending it, and held the lock until it went.
        // What it cannot read, or wrote under an id it no longer has, stays a later page's.
        given.forEach((entry) => {
          entry.given = !mine(entry) || stored(entry.key) !== true;
          entry.hold = grant;
        });
        given.clear();
        return (live = true);
      },
      (takenBack) => {
        live = false;
        // Asked for again only as the browser took it back, and the page is shown again: a lock manager that ends every lock would be asked without end.
        if (takenBack && !hidden) retake();
      },
    );

  /**
   * Asks again for this page's lock, which the browser took back: what the page admits waits for it, in memory, as
   * at the start. Granted at once, what the page stored is its own again where no page took it meanwhile (`ours`);
   * held by a page that took its calls, the page writes under an id of its own anew.
   */
  function retake(): void {
    pending ??= new Set();
    say('its locks were taken back (a back/forward cache): what it stored is for the page that takes its lock');
    void own({ ifAvailable: true })
      .then((granted) => granted || ((pageId = newId()), own({})))
      .catch(countError)
      .then(endWait);
  }

  void own({}).then(endWait);

  /**
   * As the page may be going (`pagehide`) before its lock came, writes what waits for it, and what it admits until
   * `pageshow`, without the lock: for a later page, which may take it at once, as the lock is free. So that a call is
   * never sent twice, this page hands such a call over (`remove()`) only once its lock came and found it still stored.
   */
  const hide = (): void => {
    hidden = true;
    hides++;
    const waiting = pending;
    // Once disposed, or with the lock (or its failure), nothing waits.
    if (!waiting) return;
    pending = new Set();
    drain(waiting, true);
    say(`hidden before its lock came: ${waiting.size} call(s) written for a later page`);
  };
  try {
    addEventListener('pagehide', hide, { signal });
    addEventListener('pageshow', () => (hidden = false), { signal });
  } catch {
    // No window to listen on (outside a page, with a store given): nothing hides.
  }

  return {
    add(call, kept, rank = seq++, events = call.data.events.length) {
      const entry: Entry = { call, key: `${base}${pageId}/${rank}`, seq: rank, events, at: 0, size: 0, kept };
      write(entry, true);
      return entry;
    },
    remove(entry: Entry) {
      // Written without the lock, or taken from this page since, the call is a later page's; once disposed, what is stored is.
      if (!ours(entry)) return false;
      if (disposed) return entry.size === 0;
      if (entry.size > 0 && !erase(entry.key, entry.size)) return false;
      entry.size = 0;
      pending?.delete(entry);
      draining?.delete(entry);
      return true;
    },
    restore(entry: Entry, kept) {
      if (entry.size) kept?.();
      else write(entry, false);
    },
    holds(entry: Entry) {
      // Gone from the store, the entry is this page's to settle (`bytes` is counted afresh when it matters); but one
      // written without the lock, or taken from this page since, which a later page may have taken already.
      ours(entry);
      if (entry.size && absent(entry.key)) entry.size = 0;
      return entry.size > 0 || !!entry.given;
    },
    claim(onCalls, onFirstPass) {
      handOver = onCalls;
      /** This page and each page it takes from or waits for, so that it asks for each page's lock once. */
      const watched = new Set([pageId]);
      const others = disposed ? [] : list().map(([, id]) => id).filter((id) => !watched.has(id) && watched.add(id));
      /** Takes the calls of each page of `open` once it closes (none once disposed); the lock of one that left none is let go of, and the page forgotten. */
      const takeWhenClosed = (open: string[]): void => {
        // Once disposed, also for a browser that keeps the storage listener for want of `signal` support.
        if (disposed || open.length === 0) return;
        say(`waiting for ${open.length} open page(s) to close`);
        for (const id of open) void lock(id, { signal }, async (grant) => (await settled(), takeOver([id], grant).size || !watched.delete(id)));
      };
      try {
        // A page that opens later is known by its first write, which other tabs hear of: its calls are taken when it closes.
        addEventListener(
          'storage',
          (event: { key: string | null }) => {
            try {
              const id = parse(event.key)?.[1];
              if (id && !watched.has(id) && watched.add(id)) takeWhenClosed([id]);
            } catch {
              // An event the page made up, whose key cannot be read.
            }
          },
          { signal },
        );
      } catch {
        // No window to listen on (outside a page, with a store given): only the pages found now are watched.
      }
      if (others.length === 0) return onFirstPass?.();
      say(`claiming ${others.length} other page(s)`);
      /** How each lock granted is to be kept: held for this page's life once calls were taken from its page, else let go. */
      const keep = new Map<string, (took: boolean) => void>();
      const grant = hold;
      void Promise.all(others.map((id) => lock(id, { ifAvailable: true }, () => new Promise((took) => keep.set(id, took))))).then((granted) => {
        const from = takeOver(others.filter((_, i) => granted[i]), grant);
        // A page that left nothing to take (expired, unreadable, or a later version's) is let go of.
        keep.forEach((took, id) => took(from.has(id)));
        onFirstPass?.();
        takeWhenClosed(others.filter((_, i) => !granted[i]));
      });
    },
    dispose() {
      // Calls admitted before the lock came are written for a later page as the others are: live for this once.
      live = true;
      endWait();
      live = false;
      disposed = true;
      endLife();
      try {
        stopWaiting.abort();
      } catch (error) {
        // A page's own AbortController: its locks are let go as the page goes.
        countError(error);
      }
    },
  };
}
