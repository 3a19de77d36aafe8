/** The outbox of one delivery engine: see outbox-api.ts for what it keeps, where, and its counters. */
import { v4 as uuidv4 } from 'uuid';
import { log } from '../log.js';
import { createOutboxStats, type CifOutboxStats as OutboxStats } from '../stats.js';
import { OUTBOX_DEFAULTS, type Outbox, type OutboxDeps, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
import { PREFIX, defaultName, findStore, lockRequests } from './outbox-page.js';
import { decode, encode, guardStore, sizeOf, type Entry, type WriteOutcome } from './outbox-store.js';

export { OUTBOX_DEFAULTS, type Outbox, type OutboxDeps, type OutboxEntry, type OutboxOptions } from './outbox-api.js';
export type { LockOptions, OutboxLocks } from './outbox-page.js';
export type { OutboxStore } from './outbox-store.js';
export { createOutboxStats, type OutboxStats };

/** When the byte count says full, the store is counted again at most this often (other tabs remove too). */
const RECOUNT_MILLIS = 1000;

/** The outbox of one delivery engine, or undefined where there is no store or no Web Locks. */
export function createOutbox(options: OutboxOptions, stats: OutboxStats, deps: OutboxDeps = {}): Outbox | undefined {
  const found = findStore(options.store, deps.locks);
  if (typeof found === 'string') {
    if (found) log('debug', `no outbox: ${found}`);
    return undefined;
  }
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
  const requestLock = lockRequests(found.locks, stopWaiting.signal, countError);

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
      keep(entry, true);
      return entry;
    },
    // Once disposed, what is stored belongs to the next page.
    remove: (entry) => (state === 'disposed' ? (entry as Entry).state !== 'stored' : take(entry as Entry)),
    restore(entry) {
      if ((entry as Entry).state === 'out' && state !== 'disposed') keep(entry as Entry, false);
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

  /** Keeps an entry until this page holds its lock, or writes it (counted as stored when `admitted`), or counts it not stored. */
  function keep(entry: Entry, admitted: boolean): void {
    if (state === 'live') return write(entry, admitted);
    if (state !== 'locking') return notStored(entry, 'error');
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
