/**
 * The outbox: every call admitted and not yet handed to the host is kept in a Web Storage store,
 * so that a later page of the same widget sends what a reload, a crash or a closed tab left.
 *
 * Keys are `otel-cif/<name>/<pageId>/<seq>`, values `{"v":1,"t":<admitted, wall ms>,"data",
 * "eventName","correlationId"}`. Each outbox holds the Web Lock `otel-cif/<name>/<pageId>` for its
 * whole life and writes only once it holds it, so an entry whose page's lock is free belongs to a
 * page that is gone. A page takes such entries only while holding that lock itself, and keeps it
 * until it is disposed: two tabs never both take one entry, and what it has not removed when it
 * dies is taken by the next.
 *
 * Counters (`OutboxStats`, KPI events unless said): `stored` written on admission; `notStored`
 * admitted but not written (`full`: over `maxBytes` or the store's quota; `store_error`: the
 * store or the lock failed), they still travel in memory; `replayed` of pages gone, handed to
 * delivery here; `expired` of pages gone, older than `maxAgeMillis`, removed unsent;
 * `unreadable` entries (not KPI events) under this name this version cannot read, removed;
 * `storeErrors` store or lock accesses that threw (not for quota). Proposed balance for
 * `getStats()`: `kpiEventsSent + replayed = kpiEventsDelivered + kpiEventsPending + Σ dropped
 * + kept`, where `kept` counts KPI events this page gave up on (`cif_not_loaded`, refused at
 * shutdown, or `remove()` false) that stay stored for a later page.
 */
import { v4 as uuidv4 } from 'uuid';
import { log } from '../log.js';
import { createOutboxStats, type CifOutboxStats as OutboxStats } from '../stats.js';
import type { CifCall } from '../types.js';
import { decode, encode, guardStore, sizeOf, type FoundKey, type OutboxStore, type WriteOutcome } from './outbox-store.js';

export type { OutboxStore } from './outbox-store.js';
export { createOutboxStats, type OutboxStats };

/** The part of the Web Locks API the outbox uses; `navigator.locks` satisfies it. */
export interface OutboxLocks {
  request(name: string, options: LockOptions, callback: (lock: object | null) => unknown): Promise<unknown>;
}

/** The options of a lock request the outbox makes: every lock is exclusive. */
export interface LockOptions {
  ifAvailable?: boolean;
  /** An `AbortSignal`, typed by what a lock manager reads of it, so that no DOM types are needed. */
  signal?: { readonly aborted: boolean; addEventListener(type: 'abort', listener: () => void): void };
}

export interface OutboxOptions {
  /**
   * Where calls are kept, or `false` for no outbox. The default, `localStorage`, is used when a
   * test write to it works and `navigator.locks` exists (Web Locks need https or localhost).
   * @default localStorage, where it works
   */
  store?: OutboxStore | false;
  /**
   * Which widget the calls belong to: a later page with the same name sends them. Storage and
   * locks are per origin already. A framed widget's storage is shared by every top-level page of
   * one site, and Dynamics 365 organisations share the site `dynamics.com`, so the default puts the
   * origin of the page at the top first, where the browser tells it (`location.ancestorOrigins`,
   * else the referrer's origin): one organisation's calls then never go to another's host.
   * @default location.pathname, after the top page's origin in a frame
   */
  name?: string;
  /**
   * Most bytes the outbox's entries may take in the store, every page of this name together, as
   * Web Storage counts them (UTF-16: two per character of key and value). localStorage holds
   * about 5 MB per origin, shared with the widget's own data: 1 MiB leaves it four fifths.
   * @default 1_048_576
   */
  maxBytes?: number;
  /**
   * Stored calls older than this are removed unsent when a later page finds them: a week covers
   * a weekend or a few days off, as the Application Insights offline channel does.
   * @default 604_800_000 (7 days)
   */
  maxAgeMillis?: number;
}

export const OUTBOX_DEFAULTS = { maxBytes: 1_048_576, maxAgeMillis: 7 * 24 * 60 * 60 * 1000 } as const;

/** What tests replace: the lock manager (else `navigator.locks`), the wall clock, the page id. */
export interface OutboxDeps {
  locks?: OutboxLocks;
  now?: () => number;
  uuid?: () => string;
}

/** A call the outbox knows of, as the engine holds it. */
export interface OutboxEntry {
  readonly call: CifCall;
}

export interface Outbox {
  /** Keeps a call from its admission on. Written at once, or once this page holds its lock. */
  add(call: CifCall): OutboxEntry;
  /**
   * Takes an entry out, just before its call goes to the host. False when it could not be, or
   * after `dispose()`: the call then stays stored for a later page and must not be handed over.
   */
  remove(entry: OutboxEntry): boolean;
  /** Puts back an entry whose call the host rejected and that waits for a retry. */
  restore(entry: OutboxEntry): void;
  /** Whether the entry's call stays stored for a later page: it is stored, or will be once this page holds its lock. */
  holds(entry: OutboxEntry): boolean;
  /**
   * Finds the calls of pages that are gone and hands them to `onCalls`, oldest first, each as an
   * entry this outbox now holds: at once for pages gone now, later for each page still open now
   * when it goes. `onFirstPass` runs once the pages gone now are handed over (at once when the
   * store holds no other page), so that a page can send them before its own calls. Call it once.
   */
  claim(onCalls: (entries: OutboxEntry[]) => void, onFirstPass?: () => void): void;
  /** Lets go of every lock: what is still stored is left for a later page. */
  dispose(): void;
}

interface Entry extends OutboxEntry, StoredKey {
  at: number;
  /** Bytes it takes while stored. */
  size: number;
  state: 'pending' | 'stored' | 'out';
}

type StoredKey = Pick<FoundKey, 'key' | 'seq'>;

const PREFIX = 'otel-cif';
/** When the byte count says full, the store is counted again at most this often (other tabs remove too). */
const RECOUNT_MILLIS = 1000;

/** The outbox of one delivery engine, or undefined where there is no store or no Web Locks. */
export function createOutbox(options: OutboxOptions, stats: OutboxStats, deps: OutboxDeps = {}): Outbox | undefined {
  const found = findStore(options.store, deps.locks);
  if (typeof found === 'string') {
    if (found) log('debug', `no outbox: ${found}`);
    return undefined;
  }
  const { locks } = found;
  const store = guardStore(found.store, countError);
  const now = deps.now ?? Date.now;
  const { maxBytes = OUTBOX_DEFAULTS.maxBytes, maxAgeMillis = OUTBOX_DEFAULTS.maxAgeMillis } = options;
  const base = `${PREFIX}/${options.name ?? defaultName()}/`;
  const pageId = (deps.uuid ?? uuidv4)();
  let state: 'locking' | 'live' | 'failed' | 'disposed' = 'locking';
  /** Calls admitted before this page held its lock, oldest first. */
  let pending: Entry[] = [];
  let seq = 0;
  /** Bytes of every entry under `base`, as last counted plus this page's own changes since. */
  let bytes = 0;
  let countedAt = -Infinity;
  let endLife!: () => void;
  /** Every lock this page holds is held until this resolves. */
  const life = new Promise<void>((resolve) => (endLife = resolve));
  const stopWaiting = new AbortController();
  const warned = new Set<string>();

  /** Past this length, `pending` drops the entries taken out meanwhile (when the lock is slow to come). */
  let pendingLimit = 1024;

  void requestLock(base + pageId, {}, () => {
    if (state !== 'locking') return undefined;
    state = 'live';
    log('debug', `outbox: storing calls under '${base}' as page ${pageId}`);
    writePending();
    return life;
  }).then((held) => {
    if (held || state !== 'locking') return;
    state = 'failed';
    for (const entry of pending) if (entry.state === 'pending') notStored(entry, 'error');
    pending = [];
  });

  function writePending(): void {
    countBytes();
    for (const entry of pending) if (entry.state === 'pending') write(entry, true);
    pending = [];
  }

  function countError(error: unknown): void {
    stats.storeErrors++;
    warnOnce('store_error', 'outbox: the store or a lock failed; calls it cannot keep travel in memory only', error);
  }

  function warnOnce(reason: string, message: string, error?: unknown): void {
    if (warned.has(reason)) return;
    warned.add(reason);
    log('warn', message, error);
  }

  /**
   * Asks for a lock and resolves true once granted, the lock then held while `onGranted`'s promise
   * lasts; false when not granted: not available, aborted, or the lock manager failed (counted).
   */
  function requestLock(name: string, lockOptions: LockOptions, onGranted: () => Promise<void> | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const onFailure = (error: unknown) => {
        if (!stopWaiting.signal.aborted) countError(error);
        resolve(false);
      };
      try {
        const request = locks.request(name, lockOptions, (lock) => {
          const held = lock ? onGranted() : undefined;
          resolve(held !== undefined);
          return held;
        });
        // A request that ends without granting the lock leaves nothing waiting for it.
        Promise.resolve(request).then(() => resolve(false), onFailure);
      } catch (error) {
        onFailure(error);
      }
    });
  }

  function countBytes(): void {
    countedAt = now();
    bytes = 0;
    for (const { key } of store.list(base)) bytes += sizeOf(key, store.read(key) ?? '');
  }

  function write(entry: Entry, admitted: boolean): void {
    let value: string;
    try {
      value = encode(entry);
    } catch (error) {
      countError(error);
      return notStored(entry, 'error');
    }
    const size = sizeOf(entry.key, value);
    if (bytes + size > maxBytes && now() - countedAt >= RECOUNT_MILLIS) countBytes();
    const outcome: WriteOutcome = bytes + size > maxBytes ? 'full' : store.write(entry.key, value);
    if (outcome !== 'ok') return notStored(entry, outcome);
    entry.state = 'stored';
    entry.size = size;
    bytes += size;
    if (admitted) stats.stored += entry.call.data.events.length;
  }

  function notStored(entry: Entry, outcome: Exclude<WriteOutcome, 'ok'>): void {
    entry.state = 'out';
    const events = entry.call.data.events.length;
    if (outcome === 'full') {
      stats.notStored.full += events;
      warnOnce('full', `outbox: full (maxBytes ${maxBytes} or the store's quota); calls that do not fit travel in memory only`);
      log('debug', `outbox: call '${entry.call.eventName}' not stored: full`);
    } else stats.notStored.store_error += events;
  }

  function take(entry: Entry): boolean {
    if (entry.state === 'stored' && !erase(entry.key, entry.size)) return false;
    entry.state = 'out';
    return true;
  }

  function erase(key: string, size: number): boolean {
    if (!store.remove(key)) return false;
    bytes -= size;
    return true;
  }

  /** Takes the entries of `pageIds`, whose locks this page now holds: expired and unreadable ones are removed. */
  function takeOver(pageIds: ReadonlySet<string>, onCalls: (entries: OutboxEntry[]) => void): void {
    const at = now();
    const taken: Entry[] = [];
    let expired = 0;
    let unreadable = 0;
    for (const { key, pageId, seq } of store.list(base)) {
      if (!pageIds.has(pageId)) continue;
      const value = store.read(key);
      if (value === undefined) continue;
      const size = sizeOf(key, value);
      const stored = decode(value);
      if (!stored) {
        if (erase(key, size)) unreadable++;
      } else if (Math.abs(at - stored.at) > maxAgeMillis) {
        if (erase(key, size)) expired += stored.call.data.events.length;
      } else taken.push({ ...stored, key, seq, size, state: 'stored' });
    }
    if (unreadable > 0) {
      stats.unreadable += unreadable;
      warnOnce('unreadable', `outbox: removed ${unreadable} stored entries this version cannot read`);
    }
    if (expired > 0) {
      stats.expired += expired;
      warnOnce('expired', `outbox: removed KPI events older than maxAgeMillis (${maxAgeMillis} ms) unsent`);
      log('debug', `outbox: removed ${expired} KPI events older than maxAgeMillis`);
    }
    if (taken.length === 0) return;
    taken.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const entry of taken) stats.replayed += entry.call.data.events.length;
    log('debug', `outbox: replaying ${taken.length} calls of ${pageIds.size} pages gone`);
    try {
      onCalls(taken);
    } catch (error) {
      // They stay stored, under locks this page holds until it goes.
      log('warn', 'outbox: delivery refused the calls of pages gone', error);
    }
  }

  return {
    add(call) {
      const entry: Entry = { call, key: `${base}${pageId}/${seq}`, seq: seq++, at: now(), size: 0, state: 'pending' };
      if (state === 'locking') hold(entry);
      else if (state === 'live') write(entry, true);
      else notStored(entry, 'error');
      return entry;
    },
    remove(outboxEntry) {
      const entry = outboxEntry as Entry;
      // Once disposed, what is stored belongs to the next page.
      return state === 'disposed' ? entry.state !== 'stored' : take(entry);
    },
    restore(outboxEntry) {
      const entry = outboxEntry as Entry;
      if (entry.state !== 'out' || state === 'disposed') return;
      if (state === 'live') write(entry, false);
      else if (state === 'locking') hold(entry);
      else notStored(entry, 'error');
    },
    holds: (entry) => (entry as Entry).state !== 'out',
    claim(onCalls, onFirstPass = () => {}) {
      if (state === 'disposed') return onFirstPass();
      const found = new Set<string>();
      for (const { pageId: id } of store.list(base)) if (id !== pageId) found.add(id);
      if (found.size === 0) return onFirstPass();
      log('debug', `outbox: claiming the calls of ${found.size} other pages`);
      const gone = new Set<string>();
      const asked = [...found].map((id) =>
        requestLock(base + id, { ifAvailable: true }, holdIfLive).then((held) => held && gone.add(id)),
      );
      void Promise.all(asked).then(() => {
        if (state !== 'disposed' && gone.size > 0) takeOver(gone, onCalls);
        onFirstPass();
        if (state === 'disposed') return;
        const open = [...found].filter((id) => !gone.has(id));
        if (open.length > 0) log('debug', `outbox: ${open.length} pages still open; taking over their calls when they close`);
        for (const id of open) {
          void requestLock(base + id, { signal: stopWaiting.signal }, holdIfLive).then((held) => held && takeOver(new Set([id]), onCalls));
        }
      });
    },
    dispose() {
      if (state === 'disposed') return;
      // Calls admitted before the lock came are left for a later page as the others are.
      if (state === 'locking') writePending();
      state = 'disposed';
      stopWaiting.abort();
      endLife();
    },
  };

  function hold(entry: Entry): void {
    entry.state = 'pending';
    pending.push(entry);
    if (pending.length < pendingLimit) return;
    pending = pending.filter((held) => held.state === 'pending');
    pendingLimit = Math.max(1024, 2 * pending.length);
  }

  function holdIfLive(): Promise<void> | undefined {
    return state === 'disposed' ? undefined : life;
  }
}

/** The store and lock manager to use, or why there is no outbox (empty outside a browser page). */
function findStore(given: OutboxStore | false | undefined, givenLocks: OutboxLocks | undefined): { store: OutboxStore; locks: OutboxLocks } | string {
  if (given === false) return 'turned off';
  const locks = givenLocks ?? pageLocks();
  // Not a browser page (Node, a worker without storage): nothing to say.
  if (!locks && !given && !pageStorage()) return '';
  if (!locks) return 'no navigator.locks (Web Locks need a secure context: https or localhost)';
  const store = given ?? pageStorage();
  if (!store) return 'no localStorage on this page';
  const probe = `${PREFIX}/probe`;
  try {
    store.setItem(probe, '1');
    store.removeItem(probe);
  } catch {
    return 'the store refused a test write';
  }
  return { store, locks };
}

function pageLocks(): OutboxLocks | undefined {
  try {
    const locks = (globalThis as { navigator?: { locks?: OutboxLocks } }).navigator?.locks;
    return typeof locks?.request === 'function' ? locks : undefined;
  } catch {
    return undefined;
  }
}

/** `localStorage`, whose mere reading throws `SecurityError` in a sandboxed frame. */
function pageStorage(): OutboxStore | undefined {
  try {
    return (globalThis as { localStorage?: OutboxStore }).localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

interface PageGlobals {
  location?: { pathname?: unknown; ancestorOrigins?: ArrayLike<unknown> };
  document?: { referrer?: unknown };
  top?: unknown;
  self?: unknown;
}

/** The page's path; in a frame, after the origin of the page at the top, or of the referrer where the browser does not say. */
function defaultName(): string {
  let name = '';
  try {
    const page = globalThis as PageGlobals;
    const path = page.location?.pathname;
    name = typeof path === 'string' ? path : '';
    if (page.top === page.self) return name;
    const ancestors = page.location?.ancestorOrigins;
    const top = ancestors?.length ? ancestors[ancestors.length - 1] : new URL(String(page.document?.referrer)).origin;
    return `${String(top)}${name}`;
  } catch {
    // The page's globals would not tell: the path alone.
    return name;
  }
}
