import { MAX_TIMER_MILLIS, startTimer, type Timer } from '../delivery/timers.js';
import { CIF_INIT_DONE_EVENT } from '../delivery/readiness.js';
import type { CifAnalyticsClient, CifAnalyticsData } from '../types.js';
import { reasonText } from '../errors.js';
import { check, shown } from '../validate.js';
import { RecordingCifClient } from './recording-client.js';

/** Options of `installFakeCIFramework`. Every one is optional. */
export interface FakeCIFrameworkOptions {
  /**
   * Stands in for a library that is present but still starting: `Microsoft.CIFramework` is
   * defined at once, but `logAnalyticsEvent` and the session APIs reject with an `Error` (not
   * passed to `client`; the handler and presence functions answer from the start) until
   * `CIFInitDone` is dispatched this many milliseconds later, at most 2147483647 (as `setTimeout`).
   * @default undefined: started at once, `CIFInitDone` dispatched synchronously
   * @example installFakeCIFramework(window, undefined, { startAfterMillis: 2000 })
   */
  startAfterMillis?: number | undefined;
}

/** What `installFakeCIFramework` installed, and how to take it away. */
export interface FakeCIFramework<C extends CifAnalyticsClient = RecordingCifClient> {
  /** The client that answers `Microsoft.CIFramework.logAnalyticsEvent`. */
  readonly client: C;
  /**
   * Resolves once the library has started, and `CIFInitDone` was dispatched where `target` is an
   * `EventTarget`; rejects when it is uninstalled before that.
   */
  readonly started: Promise<void>;
  /**
   * Restores `Microsoft` and `Microsoft.CIFramework` on the target as they were. Safe to call
   * twice, and in any order with the other fakes on the target: one installed over this one,
   * also by another copy of the package, stays until it is uninstalled, then this one goes too.
   */
  uninstall(): void;
  /**
   * Calls the handlers added with `addHandler` for `eventName` (any case), at once and in the order
   * they were added, as the host does when the event happens; resolves once each has returned
   * and its promise settled, and rejects if one throws or rejects.
   */
  fireEvent: FakeHandlers['fireEvent'];
}

type Host = { Microsoft?: { CIFramework?: unknown } };
/** Marks each fake CIFramework, also of another copy of the package, with what puts back the one it replaced when uninstalled under a newer fake. */
const FAKE = Symbol.for('opentelemetry-exporter-cif/testing.fake');
type Uninstalled = { restore: (() => void) | undefined };
/** Answers as the library does once started; before that, rejects as a library still starting may. */
type WhenRunning = <T>(answer: () => Promise<T>) => Promise<T>;

/**
 * Stands in for the CIF library outside Dynamics 365: defines
 * `Microsoft.CIFramework.logAnalyticsEvent` on `target` (keeping whatever else `Microsoft` and
 * `Microsoft.CIFramework` already hold), answered by `client`, and the session APIs of
 * {@link FakeCifSessionApis} with one session focused, `addHandler`, `removeHandler`, `setPresence`
 * and `getPresence`, then dispatches the `CIFInitDone` event on `target` when it is an
 * `EventTarget` (a window; not Node's `globalThis`). `CifSpanExporter` with no `client`
 * option then calls it. With `startAfterMillis` it starts later, rejecting calls until then.
 * @default target: globalThis; client: a new RecordingCifClient; options: {}
 * @example const { client, uninstall } = installFakeCIFramework();
 */
export function installFakeCIFramework(target?: object, client?: undefined, options?: FakeCIFrameworkOptions): FakeCIFramework;
export function installFakeCIFramework<C extends CifAnalyticsClient>(
  target: object | undefined,
  client: C,
  options?: FakeCIFrameworkOptions,
): FakeCIFramework<C>;
export function installFakeCIFramework(
  target: object = globalThis,
  client: CifAnalyticsClient = new RecordingCifClient(),
  options?: FakeCIFrameworkOptions,
): FakeCIFramework<CifAnalyticsClient> {
  // Checked as the exporters check theirs; null, as an untyped caller may pass, is no options. A
  // longer delay than setTimeout honours would start the library at once.
  const { startAfterMillis } = check('installFakeCIFramework: option').options<FakeCIFrameworkOptions>(
    { startAfterMillis: [undefined, (n: number) => Number.isFinite(n) && n >= 0 && n <= MAX_TIMER_MILLIS, `must be a number from 0 to ${MAX_TIMER_MILLIS}`] },
    options ?? undefined,
  );
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) throw new TypeError(`installFakeCIFramework: target must be an object (got ${shown(target)}).`);
  if (typeof client?.logAnalyticsEvent !== 'function') {
    throw new TypeError(`installFakeCIFramework: client must have a logAnalyticsEvent method (got ${shown(client)}).`);
  }
  const host = target as Host;
  const hadMicrosoft = hasOwn(host, 'Microsoft');
  const previousMicrosoft = host.Microsoft;
  if (previousMicrosoft !== undefined && (typeof previousMicrosoft !== 'object' || previousMicrosoft === null)) {
    throw new TypeError(`installFakeCIFramework: target.Microsoft must be an object (got ${shown(previousMicrosoft)}).`);
  }
  const microsoft = previousMicrosoft ?? {};
  const hadCif = hasOwn(microsoft, 'CIFramework');
  const previousCif = microsoft.CIFramework;
  // Inherit from the CIFramework already there, so its other members stay reachable.
  const cif = Object.create(Object(previousCif) === previousCif ? (previousCif as object) : Object.prototype) as CifAnalyticsClient;
  let running = false;
  // Always a promise, as the host's answers are: a client that throws rejects it.
  const whenRunning: WhenRunning = (answer) =>
    running ? new Promise((resolve) => resolve(answer())) : Promise.reject(new Error('CIF library not initialized yet: wait for CIFInitDone'));
  define(cif, { logAnalyticsEvent: (data: CifAnalyticsData, eventName: string, correlationId: string) => whenRunning(() => client.logAnalyticsEvent(data, eventName, correlationId)) });
  // A session API the CIFramework already there has stays reachable, as its other members do; a fake's is this one's to answer.
  for (const [name, api] of Object.entries(fakeSessionApis(whenRunning))) if (!libraryHas(previousCif, name)) define(cif, { [name]: api });
  const handlers = addHandlers(cif);
  // Own, so that no `restore` a page library put on Object.prototype is called.
  const uninstalled: Uninstalled = { restore: undefined };
  Object.defineProperty(cif, FAKE, { value: uninstalled });
  try {
    microsoft.CIFramework = cif;
    if (previousMicrosoft === undefined) host.Microsoft = microsoft;
    // Code that is not strict (a bundle's) writes to a frozen object without a throw, and without the write.
    if (host.Microsoft?.CIFramework !== cif) throw new Error('it kept its value');
  } catch (error) {
    // A frozen target or `Microsoft`: nothing was set, as the second write is to an object of this call's own.
    throw new TypeError(`installFakeCIFramework: cannot set ${previousMicrosoft === undefined ? 'target.Microsoft' : 'target.Microsoft.CIFramework'} (${reasonText(error)}).`, { cause: error });
  }

  let resolveStarted!: () => void;
  let rejectStarted!: (error: Error) => void;
  const started = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  // Rejected only when uninstalled before it started: a test that never awaits it is not told of it as unhandled.
  started.catch(() => {});
  const start = (): void => {
    // A timer the page's clearTimeout could not clear (a fake clock uninstalled first) starts nothing.
    if (!installed) return;
    running = true;
    // Started before its event, whatever a listener does (one may uninstall it) or the page's dispatchEvent throws,
    // which is the page's to see; who awaits `started` goes on once the event was dispatched.
    resolveStarted();
    const eventTarget = target as Partial<EventTarget> & { Event?: unknown };
    // The target's own `Event` where it has one: the window of jsdom or happy-dom refuses one of another realm.
    let OwnEvent: unknown;
    try {
      OwnEvent = eventTarget.Event;
    } catch {
      // A target whose `Event` cannot be read: the global one, as below.
    }
    const Made = (typeof OwnEvent === 'function' ? OwnEvent : typeof Event === 'function' ? Event : undefined) as typeof Event | undefined;
    if (typeof eventTarget.dispatchEvent === 'function' && Made) eventTarget.dispatchEvent(new Made(CIF_INIT_DONE_EVENT));
  };
  let timer: Timer | undefined;
  let installed = true;

  const restore = (): void => {
    if (hadCif) microsoft.CIFramework = previousCif;
    else delete microsoft.CIFramework;
    if (!hadMicrosoft) delete host.Microsoft;
    else if (previousMicrosoft === undefined) host.Microsoft = undefined;
    // The fake this one replaced, uninstalled while this one was over it, goes now.
    fakeOf(previousCif)?.restore?.();
  };
  // The `clearTimeout` of the `setTimeout` the timer is set with: fake timers installed later could not clear it.
  const clear = clearTimeout;
  try {
    if (startAfterMillis === undefined) start();
    else timer = startTimer(start, startAfterMillis, true);
  } catch (error) {
    // Thrown to the caller, who then has no uninstall: nothing is left installed.
    restore();
    throw error;
  }
  return {
    client,
    started,
    fireEvent: handlers.fireEvent,
    uninstall() {
      if (!installed) return;
      installed = false;
      try {
        clear(timer);
      } catch {
        // Not cleared, it starts nothing (`installed`), nor keeps Node alive.
        (timer as { unref?: () => void } | undefined)?.unref?.();
      }
      // A promise settles once: after the start, this changes nothing.
      rejectStarted(new Error('the fake CIF library was uninstalled before it started'));
      const current = microsoft.CIFramework;
      // Restoring now would take away the newer fake, and that one would then put this one back.
      if (current !== cif && fakeOf(current)) uninstalled.restore = restore;
      else restore();
    },
  };
}

/** Whether `name` on `cif` is a member of a CIFramework that is no fake: the page's own library, or a test's double. */
function libraryHas(cif: unknown, name: string): boolean {
  try {
    for (let object: unknown = cif; Object(object) === object; object = Object.getPrototypeOf(object)) {
      if (hasOwn(object as object, name)) return !fakeOf(object);
    }
  } catch {
    // A proxy whose traps throw: this fake answers.
  }
  return false;
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** What a fake CIFramework keeps for its uninstall, if `value` is one; own, as a newer fake inherits from it. */
function fakeOf(value: unknown): Uninstalled | undefined {
  return Object.getOwnPropertyDescriptor(Object(value), FAKE)?.value as Uninstalled | undefined;
}

// The CIF 2.0 session APIs a widget reads its ids from, as Microsoft's CIF 2.0 samples call them.

/**
 * The session APIs `installFakeCIFramework` defines on `Microsoft.CIFramework`, each unless the
 * `Microsoft.CIFramework` already there has it, but another fake. Session `n` (counting from 1) has the id
 * `session-<n>` and the conversation id `conversation-<n>`; session 1 exists and is focused from
 * the start. Before the library has started, each rejects.
 */
export interface FakeCifSessionApis {
  /** Creates the next session and focuses it; resolves with its id. Its input is not read. */
  createSession(input?: unknown, correlationId?: string): Promise<string>;
  /** Resolves with the id of the focused session. */
  getFocusedSession(correlationId?: string): Promise<string>;
  /**
   * Resolves with a `Map` of the session's `sessionId`, `conversationId` and `isFocused`, read as
   * `(await getSession(id)).get('conversationId')`; rejects with an `Error` for an unknown id.
   */
  getSession(sessionId: string, correlationId?: string): Promise<Map<string, string | boolean>>;
}

function fakeSessionApis(whenRunning: WhenRunning): FakeCifSessionApis {
  const conversations = new Map([['session-1', 'conversation-1']]);
  let focused = 'session-1';
  return {
    createSession: () =>
      whenRunning(async () => {
        const n = conversations.size + 1;
        focused = `session-${n}`;
        conversations.set(focused, `conversation-${n}`);
        return focused;
      }),
    getFocusedSession: () => whenRunning(async () => focused),
    getSession: (sessionId) =>
      whenRunning(async () => {
        const conversationId = conversations.get(sessionId);
        if (conversationId === undefined) throw new Error(`getSession: no session ${String(sessionId)}`);
        return new Map<string, string | boolean>([
          ['sessionId', sessionId],
          ['conversationId', conversationId],
          ['isFocused', sessionId === focused],
        ]);
      }),
  };
}

// --- What a widget's own CIF calls meet (the CIF instrumentation's example and demo make them):
// client-side events, with fireEvent to raise one, and the agent's presence.

interface FakeHandlers {
  /**
   * Calls each handler added for `eventName` (case-insensitive, as added, oldest first) with
   * `eventData`, and resolves with what they answer, in order; a handler that throws or rejects
   * makes it reject.
   * @example await fireEvent('onsessionswitched', { sessionId: 'session-2', focused: true })
   */
  fireEvent(eventName: string, eventData?: unknown): Promise<unknown[]>;
}

type Handler = (eventData: unknown) => unknown;

/**
 * The name `addHandler` holds a handler under; none for a name that cannot be read, under which
 * `addHandler` throws, so that no handler was added.
 */
function keyOf(eventName: unknown): string | undefined {
  try {
    return String(eventName).toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Sets `members` as own properties of `cif`, whatever the CIFramework it inherits from holds: one
 * that is frozen, or has a getter of the same name, takes no assignment.
 */
function define(cif: object, members: object): void {
  for (const [name, value] of Object.entries(members)) Object.defineProperty(cif, name, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Defines `addHandler(eventName, handler)` and `removeHandler(eventName, handler)` on `cif`, and
 * the presence APIs (`presenceApis`). As with `addEventListener`, a handler added twice for one
 * event is held once. `removeHandler` resolves with whether it removed the handler, as the CIF
 * reference describes.
 */
function addHandlers(cif: object): FakeHandlers {
  const byEvent = new Map<string, Handler[]>();
  define(cif, presenceApis());
  define(cif, {
    addHandler(eventName: string, handler: Handler): void {
      const key = String(eventName).toLowerCase();
      const list = byEvent.get(key) ?? [];
      if (!list.includes(handler)) list.push(handler);
      byEvent.set(key, list);
    },
    removeHandler(eventName: string, handler: Handler): Promise<boolean> {
      const list = byEvent.get(keyOf(eventName)!) ?? [];
      const index = list.indexOf(handler);
      if (index >= 0) list.splice(index, 1);
      return Promise.resolve(index >= 0);
    },
  });
  return {
    fireEvent: (eventName, eventData) => {
      const list = [...(byEvent.get(keyOf(eventName)!) ?? [])];
      return Promise.all(list.map(async (handler) => handler(eventData)));
    },
  };
}

/**
 * `setPresence(presenceText)` and `getPresence()`. The agent starts `Available`; `setPresence`
 * resolves with its boolean of success: false, and no change, for anything but a non-empty string.
 */
function presenceApis(): { setPresence(presenceText: unknown): Promise<boolean>; getPresence(): Promise<string> } {
  let presence = 'Available';
  return {
    setPresence(presenceText) {
      const valid = typeof presenceText === 'string' && presenceText !== '';
      if (valid) presence = presenceText;
      return Promise.resolve(valid);
    },
    getPresence: () => Promise.resolve(presence),
  };
}
