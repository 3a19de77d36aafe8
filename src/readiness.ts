import { CifNotLoadedError, toError } from './errors.js';
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

/** `Microsoft.CIFramework` as it is on the page right now, if it has `logAnalyticsEvent`. */
export function pageCifClient(): CifAnalyticsClient | undefined {
  const cif = (globalThis as { Microsoft?: { CIFramework?: Partial<CifAnalyticsClient> } }).Microsoft
    ?.CIFramework;
  return typeof cif?.logAnalyticsEvent === 'function' ? (cif as CifAnalyticsClient) : undefined;
}

/**
 * Tracks whether CIF is ready for calls and says so once through `onChange`. With the page's
 * library it listens for `CIFInitDone` from creation, so an event fired before the first export
 * is not missed, and looks for the global only at the first call and when a wait runs out: the
 * library defines the global before its start-up is done, and the docs forbid calls until then.
 */
export class CifReadiness {
  private state: ReadinessState;
  private failure: Error | undefined;
  private checkedPage = false;
  private target: EventTargetLike | undefined;
  private onChange: (() => void) | undefined;
  private readonly onInitDone = (): void => this.settle('ready');

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
      }
    }
  }

  /** Where readiness stands; with the page's library, the first look also checks the global. */
  current(): ReadinessState {
    if (this.source.kind === 'page' && !this.checkedPage) {
      this.checkedPage = true;
      if (this.state === 'waiting' && pageCifClient()) this.settle('ready', false);
    }
    return this.state;
  }

  /** A wait ran out: ready after all if the page's library is there now, even without its event. */
  lastChance(): boolean {
    if (this.source.kind === 'page' && this.state === 'waiting' && pageCifClient()) this.settle('ready', false);
    return this.state === 'ready';
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

  private settle(state: 'ready' | 'failed', notify = true): void {
    if (this.state !== 'waiting') return;
    this.state = state;
    this.stopListening();
    if (notify) this.onChange?.();
  }

  private stopListening(): void {
    this.target?.removeEventListener(CIF_INIT_DONE_EVENT, this.onInitDone);
    this.target = undefined;
  }
}

function isEventTarget(value: unknown): value is EventTargetLike {
  const target = value as Partial<EventTargetLike> | null | undefined;
  return typeof target?.addEventListener === 'function' && typeof target.removeEventListener === 'function';
}
