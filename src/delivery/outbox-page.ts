/** What the page offers the outbox: its store, its lock manager, and the widget's default name. */
import type { OutboxStore } from './outbox-store.js';

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

interface PageGlobals {
  navigator?: { locks?: OutboxLocks };
  localStorage?: OutboxStore | null;
  location?: { pathname?: unknown; ancestorOrigins?: ArrayLike<unknown> };
  top?: unknown;
  self?: unknown;
}

/**
 * The store, lock manager and name to use, those given else the page's, or why there is no outbox
 * (empty outside a browser page).
 */
export function findStore(
  store: OutboxStore | false | null | undefined,
  locks: OutboxLocks | undefined,
  name = defaultName(),
): [OutboxStore, OutboxLocks, string] | string {
  if (store === false) return 'turned off';
  let request: unknown;
  try {
    const page = globalThis as PageGlobals;
    // Not a browser page (Node, which has Web Locks from 24 and warns when `localStorage` is read from 26): nothing to say.
    if (!(store || locks || page.location)) return '';
    locks ??= page.navigator?.locks;
    request = locks?.request;
    store ??= page.localStorage;
  } catch {
    // A page global that throws (`localStorage` in a sandboxed frame, a hardened navigator) offers nothing.
  }
  // Web Locks need a secure context.
  if (typeof request !== 'function') return 'no navigator.locks';
  if (!store) return 'no localStorage';
  if (name === undefined) return "the top page's origin is unknown: set outbox.name";
  try {
    store.setItem('otel-cif/probe', '1');
    store.removeItem('otel-cif/probe');
  } catch (error) {
    // A store full to its quota still works: calls earlier pages left can be sent, and free room.
    if (!isQuotaError(error)) return 'test write refused';
  }
  return [store, locks!, name];
}

/** A write past the quota: `QuotaExceededError`, or `NS_ERROR_DOM_QUOTA_REACHED` in older Firefox. */
export function isQuotaError(error: unknown): boolean {
  try {
    return /quota/i.test((error as Error).name);
  } catch {
    // An error whose name throws is not the quota's.
    return false;
  }
}

/**
 * The page's path; in a frame, after the origin of the page at the top, or none where the browser
 * does not tell it (no `location.ancestorOrigins`, or an opaque origin): a frame's storage is
 * shared by every organisation on the site `dynamics.com`, and a referrer names the page that
 * navigated the frame last, which may be the widget's own or a sign-in page.
 */
export function defaultName(): string | undefined {
  try {
    const { location, top, self } = globalThis as PageGlobals;
    const path = location?.pathname;
    const ancestors = location?.ancestorOrigins;
    const origin = top === self ? '' : ancestors?.[ancestors.length - 1];
    // An opaque origin (a sandboxed page's) reads "null", the same for every page.
    if (typeof origin === 'string' && origin !== 'null') return origin + (typeof path === 'string' ? path : '');
  } catch {
    // The page's globals would not tell.
  }
  return undefined;
}
