/** The outbox of one delivery engine: see outbox-api.ts for what it keeps, where, and its counters. */
import { v4 as uuidv4 } from 'uuid';
import { log } from '../log.js';
import { createOutboxStats, type CifOutboxStats as OutboxStats } from '../stats.js';
import { OUTBOX_DEFAULTS, type Outbox, type OutboxDeps, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
import { PREFIX, defaultName, findStore, lockRequests, type LockOptions } from './outbox-page.js';
import { PAGE_AND_SEQ, decode, encode, sizeOf, type Entry } from './outbox-store.js';

export { OUTBOX_DEFAULTS, type Outbox, type OutboxDeps, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
export type { LockOptions, OutboxLocks } from './outbox-page.js';
export type { OutboxStore } from './outbox-store.js';
export { createOutboxStats, type OutboxStats };

/** When the byte count says full, the store is counted again at most this often (other tabs remove too). */
const RECOUNT_MILLIS = 1000;
/** A store may report any length; a scan reads at most this many keys (a 5 MB store holds fewer). */
const MAX_KEYS = 1_000_000;

const eventsOf = (entry: OutboxEntry): number => entry.call.data.events.length;

/** The outbox of one delivery engine, or undefined where there is no store or no Web Locks. */
export function createOutbox(options: OutboxOptions, stats: OutboxStats, deps: OutboxDeps = {}): Outbox | undefined {
  const found = findStore(options.store, deps.locks);
  if (typeof found === 'string') {
    if (found) log('debug', `no outbox: ${found}`);
    return undefined;
  }
  const { store } = found;
  const now = deps.now ?? Date.now;
  const { maxBytes = OUTBOX_DEFAULTS.maxBytes, maxAgeMillis = OUTBOX_DEFAULTS.maxAgeMillis } = options;
  const base = `${PREFIX}/${options.name ?? defaultName()}/`;
  const pageId = (deps.uuid ?? uuidv4)();
  /** Calls admitted before this page held its lock, until it holds it, fails to, or is disposed. */
  let pending: Set<Entry> | undefined = new Set();
  /** This page holds its lock and writes calls: from the grant to `dispose()`. */
  let live = false;
  let disposed = false;
  let seq = 0;
  /** Bytes of every entry under `base`, as last counted plus this page's own changes since. */
  let bytes = 0;
  let countedAt = 0;
  let endLife!: () => void;
  /** Every lock this page holds is held until this resolves. */
  const life = new Promise<void>((resolve) => (endLife = resolve));
  const hold = () => life;
  const stopWaiting = new AbortController();
  const requestLock = lockRequests(found.locks, stopWaiting.signal, countError);
  /** Where `claim()` hands the calls of pages gone. */
  let handOver: (entries: OutboxEntry[]) => void;

  void requestLock(base + pageId, {}, () => {
    if (!pending) return undefined;
    live = true;
    say(`storing calls under '${base}' as page ${pageId}`);
    endWait(true);
    return life;
  }).then(() => endWait(false));

  function say(message: string, level: 'debug' | 'warn' = 'debug', error?: unknown): void {
    log(level, `outbox: ${message}`, error);
  }

  /** Says `message` at WARN the first time, when its counter stood at `counted` 0, and at DEBUG after. */
  function report(counted: number, message: string, error?: unknown): void {
    say(message, counted === 0 ? 'warn' : 'debug', error);
  }

  function countError(error: unknown): void {
    report(stats.storeErrors++, 'the store or a lock failed; calls it cannot keep travel in memory only', error);
  }

  /** Removes `key`, of `size` bytes; true once it is surely gone: removed, or found absent after a failed removal. */
  function erase(key: string, size: number): boolean {
    try {
      store.removeItem(key);
    } catch (error) {
      countError(error);
      try {
        if (store.getItem(key) !== null) return false;
      } catch {
        return false;
      }
    }
    bytes -= size;
    return true;
  }

  /** The entries under `base` in this outbox's format, in store order: key, page, sequence number and value. */
  function list(): Array<[key: string, pageId: string, seq: number, value: string]> {
    const found: Array<[string, string, number, string]> = [];
    try {
      const length = Math.min(store.length, MAX_KEYS);
      for (let i = 0; i < length; i++) {
        const key: unknown = store.key(i);
        if (typeof key !== 'string' || !key.startsWith(base)) continue;
        const match = PAGE_AND_SEQ.exec(key.slice(base.length));
        // Removed by another tab since `key()` named it, or a store that lies: skipped.
        const value: unknown = match && store.getItem(key);
        if (match && typeof value === 'string') found.push([key, match[1]!, Number(match[2]), value]);
      }
    } catch (error) {
      countError(error);
    }
    return found;
  }

  function countBytes(): void {
    countedAt = now();
    bytes = 0;
    for (const [key, , , value] of list()) bytes += sizeOf(key, value);
  }

  /** Ends the wait for this page's lock: the calls still waiting are written, or counted not stored. */
  function endWait(write: boolean): void {
    if (!pending) return;
    const waiting = pending;
    pending = undefined;
    if (write) countBytes();
    for (const entry of waiting) {
      if (write) writeEntry(entry, true);
      else notStored(entry, 'store_error');
    }
  }

  /** Keeps an entry until this page holds its lock, or writes it (counted as stored when `admitted`), or counts it not stored. */
  function keep(entry: Entry, admitted: boolean): void {
    if (pending) pending.add(entry);
    else if (live) writeEntry(entry, admitted);
    else notStored(entry, 'store_error');
  }

  /** Writes an entry, counted as stored when `admitted`, or counts it not stored: over `maxBytes`, the quota, or a store failure. */
  function writeEntry(entry: Entry, admitted: boolean): void {
    try {
      const value = encode(entry);
      const size = sizeOf(entry.key, value);
      if (bytes + size > maxBytes && now() - countedAt >= RECOUNT_MILLIS) countBytes();
      if (bytes + size > maxBytes) return notStored(entry, 'full');
      store.setItem(entry.key, value);
      entry.size = size;
      bytes += size;
      if (admitted) stats.stored += eventsOf(entry);
    } catch (error) {
      if (isQuotaError(error)) return notStored(entry, 'full');
      countError(error);
      notStored(entry, 'store_error');
    }
  }

  function notStored(entry: Entry, reason: keyof OutboxStats['notStored']): void {
    if (reason === 'full') report(stats.notStored.full, `call '${entry.call.eventName}' travels in memory only: full (maxBytes ${maxBytes} or the store's quota)`);
    stats.notStored[reason] += eventsOf(entry);
  }

  /** Hands over the entries of `pageIds`, whose locks this page now holds; removes expired and unreadable ones. */
  function takeOver(pageIds: string[]): void {
    if (disposed || pageIds.length === 0) return;
    const at = now();
    const taken: Entry[] = [];
    for (const [key, id, seq, value] of list()) {
      if (!pageIds.includes(id)) continue;
      const size = sizeOf(key, value);
      const stored = decode(value);
      if (stored && Math.abs(at - stored.at) <= maxAgeMillis) taken.push({ ...stored, key, seq, size });
      else if (erase(key, size)) {
        if (stored) {
          report(stats.expired, `removed call '${stored.call.eventName}' unsent: older than maxAgeMillis (${maxAgeMillis} ms)`);
          stats.expired += eventsOf(stored);
        } else report(stats.unreadable++, `removed '${key}': this version cannot read it`);
      }
    }
    if (taken.length === 0) return;
    taken.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const entry of taken) stats.replayed += eventsOf(entry);
    say(`replaying ${taken.length} calls of ${pageIds.length} pages gone`);
    try {
      handOver(taken);
    } catch (error) {
      // They stay stored, under locks this page holds until it goes.
      say('delivery refused the calls of pages gone', 'warn', error);
    }
  }

  /** Asks for the locks of `pageIds` and takes over the entries of those granted; resolves with the others. */
  async function claimPages(pageIds: string[], options: LockOptions): Promise<string[]> {
    const granted = await Promise.all(pageIds.map((id) => requestLock(base + id, options, hold)));
    takeOver(pageIds.filter((_, i) => granted[i]));
    return pageIds.filter((_, i) => !granted[i]);
  }

  const holds = (entry: Entry): boolean => entry.size > 0 || (pending?.has(entry) ?? false);

  return {
    add(call) {
      const entry: Entry = { call, key: `${base}${pageId}/${seq}`, seq: seq++, at: now(), size: 0 };
      keep(entry, true);
      return entry;
    },
    remove(entry: Entry) {
      // Once disposed, what is stored belongs to the next page.
      if (disposed) return entry.size === 0;
      if (entry.size > 0 && !erase(entry.key, entry.size)) return false;
      entry.size = 0;
      pending?.delete(entry);
      return true;
    },
    restore(entry: Entry) {
      if (!disposed && !holds(entry)) keep(entry, false);
    },
    holds,
    claim(onCalls, onFirstPass = () => {}) {
      handOver = onCalls;
      const others = disposed ? [] : [...new Set(list().map(([, id]) => id))].filter((id) => id !== pageId);
      if (others.length === 0) return onFirstPass();
      say(`claiming the calls of ${others.length} other pages`);
      void claimPages(others, { ifAvailable: true }).then((open) => {
        onFirstPass();
        if (disposed || open.length === 0) return;
        say(`${open.length} pages still open; taking over their calls when they close`);
        for (const id of open) void claimPages([id], { signal: stopWaiting.signal });
      });
    },
    dispose() {
      // Calls admitted before the lock came are left for a later page as the others are.
      endWait(true);
      live = false;
      disposed = true;
      stopWaiting.abort();
      endLife();
    },
  };
}

/** A write that failed for lack of room: `QuotaExceededError`, or `NS_ERROR_DOM_QUOTA_REACHED` in older Firefox. */
function isQuotaError(error: unknown): boolean {
  try {
    return /quota/i.test((error as Error).name);
  } catch {
    return false;
  }
}
