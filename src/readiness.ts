import { CifNotLoadedError, toError } from './errors.js';
import { log } from './log.js';
import type { CifAnalyticsClient } from './types.js';

/** The window event the CIF library raises once its APIs may be called. */
export const CIF_INIT_DONE_EVENT = 'CIFInitDone';

/** What decides that calls may go to the host. */
export type ReadinessSource =
  /** An explicit `client` and no `ready`: ready at once. */
  | { kind: 'client' }
  /** The `ready` option: ready when it resolves, never when it rejects. */
  | { kind: 'promise'; ready: PromiseLike<unknown> }
  /** The page's own CIF library: the `CIFInitDone` event, or the global already there. */
  | { kind: 'page'; target?: unknown };

export type ReadinessState = 'waiting' | 'ready' | 'failed';

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
    return typeof cif?.logAnalyticsEvent === 'function' ? (cif as CifAnalyticsClient) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tracks whether CIF is ready for calls and says so once through `onChange`. With the page's
 * library it listens for `CIFInitDone` from creation, so an event fired before the first export
 * is not missed, and looks for the global only at the first call and when a wait runs out: the
 * library defines the global before its start-up is done, and the docs forbid calls until then.
 * A library used without its event is not `confirmed` until it answers a call: a call it fails
 * says nothing about the host, and `unready()` sends calls back to waiting for the event.
 */
export class CifReadiness {
  private state: ReadinessState;
  private failure: Error | undefined;
  private checkedPage = false;
  /** The page library raised `CIFInitDone` or answered a call. */
  private confirmedPage = false;
  /** The page library failed a call before `CIFInitDone`: only the event makes it ready again. */
  private heldBack = false;
  private target: EventTargetLike | undefined;
  private onChange: (() => void) | undefined;
  private readonly onInitDone = (): void => {
    log('debug', 'CIFInitDone received');
    const waited = this.state === 'waiting';
    this.confirm();
    if (waited) this.onChange?.();
  };

  constructor(
    private readonly source: ReadinessSource,
    onChange: () => void,
  ) {
    this.onChange = onChange;
    this.state = source.kind === 'client' ? 'ready' : 'waiting';
    if (source.kind === 'promise') {
      Promise.resolve(source.ready).then(
        () => this.settle('ready'),
        (reason: unknown) => {
          this.failure = new CifNotLoadedError(`CIF library not loaded: the ready promise rejected: ${toError(reason).message}`);
          this.settle('failed');
        },
      );
    } else if (source.kind === 'page') {
      const target = source.target ?? globalThis;
      if (isEventTarget(target)) {
        this.target = target;
        target.addEventListener(CIF_INIT_DONE_EVENT, this.onInitDone);
      } else if (!pageCifClient()) {
        log('warn', 'No `client` option and no window, so no CIFInitDone event can come: pass a `client`.');
      }
    }
  }

  /** False while the page library is used without its `CIFInitDone` and has answered no call. */
  get confirmed(): boolean {
    return this.source.kind !== 'page' || this.confirmedPage;
  }

  /** Where readiness stands; with the page's library, the first look also checks the global. */
  current(): ReadinessState {
    if (this.source.kind === 'page' && !this.checkedPage) {
      this.checkedPage = true;
      if (this.state === 'waiting' && pageCifClient()) this.state = 'ready';
    }
    return this.state;
  }

  /** The library raised its event or answered a call: ready, and failures from now on are the host's. */
  confirm(): void {
    this.confirmedPage = true;
    this.stopListening();
    if (this.state === 'waiting') this.state = 'ready';
  }

  /** The page library failed a call before it was confirmed: wait for `CIFInitDone` again. */
  unready(): void {
    if (this.confirmed || this.state !== 'ready') return;
    this.state = 'waiting';
    this.heldBack = true;
  }

  /**
   * A wait ran out: true if the page's library is there now, even without its event. Unless it
   * already failed a call before that event, it is then ready for every call.
   */
  lastChance(): boolean {
    if (this.source.kind !== 'page' || !pageCifClient()) return this.state === 'ready';
    if (!this.heldBack) this.state = 'ready';
    return true;
  }

  /** Why waiting calls fail: the `ready` promise rejected, or CIF was not ready within `millis`. */
  error(millis: number): Error {
    if (this.failure) return this.failure;
    return new CifNotLoadedError(
      this.source.kind === 'promise'
        ? `CIF library not loaded: the ready promise did not resolve within ${millis} ms`
        : `CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework within ${millis} ms`,
    );
  }

  /** Stops listening; later events and promise outcomes are ignored. */
  dispose(): void {
    this.stopListening();
    this.onChange = undefined;
  }

  private settle(state: 'ready' | 'failed'): void {
    if (this.state !== 'waiting') return;
    this.state = state;
    this.onChange?.();
  }

  private stopListening(): void {
    const { target } = this;
    this.target = undefined;
    try {
      target?.removeEventListener(CIF_INIT_DONE_EVENT, this.onInitDone);
    } catch {
      // The page took its window methods away; the listener goes with them.
    }
  }
}

function isEventTarget(value: unknown): value is EventTargetLike {
  const target = value as Partial<EventTargetLike> | null | undefined;
  return typeof target?.addEventListener === 'function' && typeof target.removeEventListener === 'function';
}
