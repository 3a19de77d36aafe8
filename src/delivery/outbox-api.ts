/**
 * The outbox: every call delivery gives it, not yet handed to the host, is kept in a Web Storage store,
 * so that a later page of the same widget sends what a reload, a crash or a closed tab left.
 *
 * Keys are `otel-cif/<name>/<pageId>/<seq>`, values `[3,<first written, wall ms>,<the call>]` (format 3;
 * the entries of formats 1 and 2 read as unreadable, those of later formats are left alone). Each outbox holds the
 * Web Lock `otel-cif/<name>/<pageId>` for its whole life and writes only once it holds it, so an
 * entry whose page's lock is free belongs to a page that is gone; but a page hidden before its lock
 * came writes without it, and sends those calls itself only once its lock comes and finds them still stored. A page takes such entries only while holding that lock itself, and keeps it
 * until it is disposed: two tabs never both take one entry, and what it has not removed when it
 * dies is taken by the next. A browser that lets go of a live page's locks (WebKit, in its
 * back/forward cache) leaves what the page stored to whichever page takes them: the page sends none
 * of it unless it gets its own lock back and finds the entry still stored, and writes under a new id
 * where it cannot.
 *
 * Counters (`OutboxStats`, KPI events unless said): `stored` written when added; `notStored`
 * admitted but not written (`full`: over `maxBytes` or the store's quota; `store_error`: the
 * store or the lock failed), they still travel in memory; `replayed` of pages gone, counted by
 * delivery as it admits what the outbox handed over; `expired` of pages gone, older than
 * `maxAgeMillis`, removed unsent; `unreadable` entries (not KPI events) under this name this
 * version cannot read, removed;
 * `storeErrors` store or lock accesses that threw (not for quota), and locks the lock manager let go of while the
 * page held them and was not hidden (the page then writes no more). The balance of
 * `getStats()`: `kpiEventsSent + replayed = kpiEventsDelivered + kpiEventsPending + Σ dropped
 * + kept`, where `kept` counts KPI events this page gave up on (`cif_not_loaded`, refused at
 * shutdown, or `remove()` false) that stay stored for a later page.
 */
import type { CifCall } from '../types.js';
import type { OutboxLocks } from './outbox-page.js';
import type { OutboxStore } from './outbox-store.js';

export interface OutboxOptions {
  /**
   * Where calls are kept, or `false` for no outbox. The default, `localStorage`, is used when a
   * test write to it works and `navigator.locks` exists (Web Locks need https or localhost).
   * @default localStorage, where it works
   */
  store?: OutboxStore | false | undefined;
  /**
   * Which widget the calls belong to: a later page with the same name sends them. Storage and
   * locks are per origin already. A framed widget's storage is shared by every top-level page of
   * one site, and Dynamics 365 organisations share the site `dynamics.com`, so in a frame the
   * default puts the origin of the page at the top first, as `location.ancestorOrigins` gives it:
   * one organisation's calls then never go to another's host. Where a frame cannot tell that
   * origin, there is no default and no outbox without a name.
   * @default location.pathname, after the top page's origin in a frame
   */
  name?: string | undefined;
  /**
   * Most bytes the outbox's entries may take in the store, every page of this name together as
   * a page last counted them (tabs that store at once can each take the room that was free), as
   * Web Storage counts them (UTF-16: two per character of key and value). localStorage holds
   * about 5 MB per origin, shared with the widget's own data: 2 MiB leaves it three fifths.
   * @default 2_097_152
   */
  maxBytes?: number | undefined;
  /**
   * Stored calls older than this are removed unsent when a later page finds them: a week covers
   * a weekend or a few days off, as the Application Insights offline channel does.
   * @default 604_800_000 (7 days)
   */
  maxAgeMillis?: number | undefined;
}

export const OUTBOX_DEFAULTS = { maxBytes: 2_097_152, maxAgeMillis: 7 * 24 * 60 * 60 * 1000 } as const;

/** What tests replace: the lock manager (else `navigator.locks`), the wall clock, the page id. */
export interface OutboxDeps {
  locks?: OutboxLocks;
  now?: () => number;
  uuid?: () => string;
  /** How long the lock of a page that closed is held before what it left is read; 0 for a store whose removals every page sees at once. */
  handoverWaitMillis?: number;
}

/** A call the outbox knows of, as the engine holds it. */
export interface OutboxEntry {
  readonly call: CifCall;
}

export interface Outbox {
  /**
   * Holds a call from now on: stored at once, or once this page holds its lock, when `kept` runs
   * (and each time it is written again); not at all if it does not fit. It is ranked `rank` among
   * this page's calls (after the last one added, by default): a page gone has its calls replayed in that order.
   * It counts as `events` KPI events (by default, those `call` holds now), whatever a host handed the call does to it.
   */
  add(call: CifCall, kept?: () => void, rank?: number, events?: number): OutboxEntry;
  /**
   * Takes an entry out, just before its call goes to the host. False when it could not be, after
   * `dispose()`, or when it was written without this page's lock and the lock has not come since,
   * finding it stored, or under a lock the browser took back since: the call then stays stored for a
   * later page, or went with another, and must not be handed over.
   */
  remove(entry: OutboxEntry): boolean;
  /**
   * Puts back an entry whose call the host rejected and that waits for a retry, or one taken over
   * from a page gone as it is admitted: `kept` runs at once if it is still stored, else the
   * entry is written again, and the `kept` it was added with runs if it is.
   */
  restore(entry: OutboxEntry, kept?: () => void): void;
  /**
   * Whether the entry's call stays stored for a later page, looked for in the store, which the page
   * may have cleared since (`localStorage.clear()` at sign-out): one gone is no longer held, but one
   * written without this page's lock (at `pagehide`) is, taken by a later page or not. An
   * entry that waits for this page's lock is not: the lock may never come, or the store be full then.
   */
  holds(entry: OutboxEntry): boolean;
  /**
   * Finds the calls of pages that are gone and hands them to `onCalls`, oldest first, each as an
   * entry this outbox now holds: at once for pages gone now, later for each page still open now,
   * or opened later and heard of by its writes (`storage` events), when it goes. `onFirstPass`
   * runs once the pages gone now are handed over (at once when the store holds no other page), so
   * that a page can send them before its own calls. Call it once.
   */
  claim(onCalls: (entries: OutboxEntry[]) => void, onFirstPass?: () => void): void;
  /** Lets go of every lock: what is still stored is left for a later page. */
  dispose(): void;
}
