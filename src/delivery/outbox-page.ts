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

/**
 * Asks for a lock and resolves true once granted, the lock then held while `onGranted`'s promise
 * lasts; false when not granted: not available, aborted, or the lock manager failed (`onError`).
 */
export type LockRequest = (name: string, options: LockOptions, onGranted: () => Promise<void> | undefined) => Promise<boolean>;

export const PREFIX = 'otel-cif';

/** Lock requests on `locks` that never throw; a failure is `onError`'s unless `stopped` was aborted. */
export function lockRequests(locks: OutboxLocks, stopped: NonNullable<LockOptions['signal']>, onError: (error: unknown) => void): LockRequest {
  return (name, options, onGranted) =>
    new Promise<boolean>((resolve) => {
      // Async, so that a lock manager that throws, or returns a thenable that throws, rejects.
      const request = async () =>
        locks.request(name, options, (lock) => {
          const held = lock ? onGranted() : undefined;
          resolve(held !== undefined);
          return held;
        });
      // A request that ends without granting the lock leaves nothing waiting for it.
      request()
        .catch((error: unknown) => {
          if (!stopped.aborted) onError(error);
        })
        .finally(() => resolve(false));
    });
}

/** The store and lock manager to use, or why there is no outbox (empty outside a browser page). */
export function findStore(given: OutboxStore | false | undefined, givenLocks: OutboxLocks | undefined): { store: OutboxStore; locks: OutboxLocks } | string {
  if (given === false) return 'turned off';
  const locks = givenLocks ?? pageGlobal(({ navigator }) => (typeof navigator?.locks?.request === 'function' ? navigator.locks : undefined));
  const store = given ?? pageGlobal(({ localStorage }) => localStorage);
  // Not a browser page (Node, a worker without storage): nothing to say.
  if (!locks && !store) return '';
  if (!locks) return 'no navigator.locks (Web Locks need https or localhost)';
  if (!store) return 'no localStorage';
  const probe = `${PREFIX}/probe`;
  try {
    store.setItem(probe, '1');
    store.removeItem(probe);
  } catch {
    return 'the store refused a test write';
  }
  return { store, locks };
}

interface PageGlobals {
  navigator?: { locks?: OutboxLocks };
  localStorage?: OutboxStore | null;
  location?: { pathname?: unknown; ancestorOrigins?: ArrayLike<unknown> };
  document?: { referrer?: unknown };
  top?: unknown;
  self?: unknown;
}

/** What `read` finds on the page, or undefined where a global throws (`localStorage` in a sandboxed frame). */
function pageGlobal<T>(read: (page: PageGlobals) => T): T | undefined {
  try {
    return read(globalThis as PageGlobals);
  } catch {
    return undefined;
  }
}

/** The page's path; in a frame, after the origin of the page at the top, or of the referrer where the browser does not say. */
export function defaultName(): string {
  let name = '';
  try {
    const { location, document, top, self } = globalThis as PageGlobals;
    const path = location?.pathname;
    name = typeof path === 'string' ? path : '';
    if (top === self) return name;
    const ancestors = location?.ancestorOrigins;
    const origin = ancestors?.length ? ancestors[ancestors.length - 1] : new URL(document?.referrer as string).origin;
    return `${origin}${name}`;
  } catch {
    // The page's globals would not tell: the path alone.
    return name;
  }
}
