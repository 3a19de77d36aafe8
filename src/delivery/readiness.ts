import { CifNotLoadedError, reasonText } from '../errors.js';
import { log } from '../log.js';
import type { CifAnalyticsClient } from '../types.js';

/** The window event the CIF library raises once its APIs may be called. */
export const CIF_INIT_DONE_EVENT = 'CIFInitDone';

/**
 * What decides that calls may go to the host: the `ready` option, where given, alone (ready when it
 * resolves, never when it rejects); else an explicit `client`, ready at once; else the page's own
 * CIF library: the `CIFInitDone` event of `target` (the page unless given), or the global already there.
 */
export interface ReadinessSource {
  ready?: PromiseLike<unknown> | undefined;
  client?: CifAnalyticsClient | undefined;
  /** Where `CIFInitDone` is listened for: the page (`globalThis`) unless pinned. */
  target?: unknown;
}

type ReadinessState = 'waiting' | 'ready' | 'failed';

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * `Microsoft.CIFramework` as it is on the page right now, if it has `logAnalyticsEvent`. The page
 * owns the global: a getter that throws reads as no library.
 */
export function pageCifClient(): CifAnalyticsClient | undefined {
  try {
    const cif = (globalThis as { Microsoft?: { CIFramework?: Partial<CifAnalyticsClient> } }).Microsoft
      ?.CIFramework;
    if (typeof cif?.logAnalyticsEvent === 'function') return cif as CifAnalyticsClient;
  } catch {
    // No library, as when the global is absent.
  }
  return undefined;
}

/**
 * Tracks whether CIF is ready for calls and says so once through `onChange`. With the page's
 * library it listens for `CIFInitDone` from creation, so an event fired before the first export
 * is not missed, and looks for the global only at the first call and when a wait runs out: the
 * library defines the global before its start-up is done, and the docs forbid calls until then.
 * A library used without its event is not confirmed until it answers a call: a call it fails
 * says nothing about the host, and `unready()` sends calls back to waiting for the event.
 */
export interface CifReadiness {
  /** Where readiness stands; with the page's library, the first look also checks the global. */
  current(): ReadinessState;
  /** The library raised its event or answered a call: ready, and failures from now on are the host's. */
  confirm(): void;
  /**
   * A call failed: false once confirmed, the failure then the host's; before, while the page
   * library is used without its `CIFInitDone` and has answered no call, true, and calls that were
   * ready wait for `CIFInitDone` again.
   */
  unready(): boolean;
  /**
   * A wait ran out: true if calls go without CIFInitDone, the page's library unconfirmed but there
   * now. Unless it already failed a call before that event, it is then ready for every call.
   */
  lastChance(): boolean;
  /** Whether CIF is ready and known to work (a client, the `ready` promise, `CIFInitDone`, an answer), not a library merely there. */
  trusted(): boolean;
  /** Why waiting calls fail: the `ready` promise rejected, or CIF was not ready within `millis`. */
  error(millis: number): Error;
  /** Stops listening; later events and promise outcomes are ignored. */
  dispose(): void;
}

export function createReadiness(source: ReadinessSource, onChange: () => void): CifReadiness {
  const { ready } = source;
  /** The page's own library decides: no `ready` promise and no explicit `client`. */
  const page = !ready && !source.client;
  // An explicit client and no `ready` promise: ready at once.
  let state: ReadinessState = page || ready ? 'waiting' : 'ready';
  let failure: Error | undefined;
  /** Whether the page's global was looked for yet: at the first call. */
  let looked = !page;
  /** The page library failed a call before `CIFInitDone`: only the event makes it ready again. */
  let heldBack = false;
  /** Ready by `CIFInitDone`, an answered call, or anything but the page's library. */
  let confirmed = !page;
  let target: EventTargetLike | undefined;
  /** Told of a change the engine did not ask for; not while this is made, as a page may fire the event at once. */
  let changed: (() => void) | undefined;

  /** Leaves `waiting` for `to`, and with `say` says so: not when the engine itself asked. */
  const become = (to: 'ready' | 'failed', say?: boolean): void => {
    if (state !== 'waiting') return;
    state = to;
    if (say) changed?.();
  };
  const stopListening = (): void => {
    try {
      target?.removeEventListener(CIF_INIT_DONE_EVENT, onInitDone);
    } catch {
      // The page took its window methods away; the listener goes with them.
    }
    target = undefined;
  };
  const confirm = (say?: boolean): void => {
    confirmed = true;
    stopListening();
    become('ready', say);
  };
  const onInitDone = (): void => {
    log('debug', 'CIFInitDone received');
    confirm(true);
  };
  const readiness: CifReadiness = {
    current() {
      if (!looked) {
        looked = true;
        if (pageCifClient()) become('ready');
      }
      return state;
    },
    confirm,
    unready() {
      if (!confirmed && state === 'ready') {
        state = 'waiting';
        heldBack = true;
      }
      return !confirmed;
    },
    lastChance() {
      // A confirmed CIF (a client, a ready promise, CIFInitDone or an answer) waits for nothing of the library.
      if (confirmed) return false;
      if (!pageCifClient()) return false;
      if (!heldBack) state = 'ready';
      return true;
    },
    trusted: () => confirmed && state === 'ready',
    error(millis: number) {
      return (
        failure ??
        new CifNotLoadedError(
          `CIF library not loaded: ${ready ? 'the ready promise did not resolve' : 'no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent'} within ${millis} ms`,
        )
      );
    },
    dispose() {
      stopListening();
      changed = undefined;
    },
  };

  if (ready) {
    // Not `Promise.resolve()`, which reads a promise's `constructor` at once: a page's getter may throw there.
    (async () => ready)().then(
      () => become('ready', true),
      (reason: unknown) => {
        failure = new CifNotLoadedError(`CIF library not loaded: the ready promise rejected: ${reasonText(reason)}`);
        become('failed', true);
      },
    );
  } else if (page) {
    const on = (source.target ?? globalThis) as Partial<EventTargetLike>;
    try {
      if (typeof on.addEventListener === 'function' && typeof on.removeEventListener === 'function') {
        // Known first: a page that hands the listener an event already fired has it removed at once.
        target = on as EventTargetLike;
        on.addEventListener(CIF_INIT_DONE_EVENT, onInitDone);
      } else if (!pageCifClient()) {
        log('warn', 'No window, so no CIFInitDone: pass a `client` or `ready` option');
      }
    } catch (error) {
      // A sandboxed or hardened page: the global is still looked for at the first call and when a wait runs out.
      log('warn', `Cannot listen for CIFInitDone (addEventListener threw: ${reasonText(error)}); looking for Microsoft.CIFramework at calls`);
    }
  }
  changed = onChange;
  return readiness;
}
