import { listen } from './run-in-span.js';

/** A function of the page or the host, called with whatever `this` and arguments it was given. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface Registration {
  /** The event name as the widget passed it to `addHandler`. */
  eventName: string;
  /** What the host holds in place of the widget's handler. */
  wrapper: AnyFunction;
  /** The `addHandler` calls of it the host has not answered yet. */
  pending: number;
  /** Whether the host took it at one of them. */
  held: boolean;
}

/** Tells a registration whether the host took the handler at one `addHandler` call; only the first answer counts. */
export type Answered = (taken: boolean) => void;

/**
 * The handlers the widget added through the instrumented `addHandler`, per CIFramework object:
 * which wrapper the host holds for each handler and event, so that `removeHandler` with the
 * widget's handler removes the wrapper, and the same handler added twice gives the host the same
 * wrapper. An entry lives from `addHandler` to `removeHandler`, as the host's does, or until the
 * host has refused every `addHandler` of it.
 */
export class HandlerRegistry {
  private readonly byLibrary = new WeakMap<object, Map<AnyFunction, Map<string, Registration>>>();

  /** The wrapper the host gets for `handler` on `eventName` (`wrap` makes it the first time), and what to tell the host's answer. */
  add(library: object, eventName: string, handler: AnyFunction, wrap: () => AnyFunction): [AnyFunction, Answered] {
    let handlers = this.byLibrary.get(library);
    if (!handlers) this.byLibrary.set(library, (handlers = new Map()));
    let events = handlers.get(handler);
    if (!events) handlers.set(handler, (events = new Map()));
    const key = eventName.toLowerCase();
    const registration = events.get(key) ?? { eventName, wrapper: wrap(), pending: 0, held: false };
    events.set(key, registration);
    registration.pending++;
    let answered = false;
    return [
      registration.wrapper,
      (taken) => {
        if (answered) return;
        answered = true;
        registration.pending--;
        if (taken) registration.held = true;
        // Refused at every call: the host holds no wrapper, so it is neither kept nor swapped back; unless removed or added anew since.
        const current = this.byLibrary.get(library)?.get(handler)?.get(key);
        if (current === registration && !registration.held && registration.pending === 0) this.remove(library, eventName, handler);
      },
    ];
  }

  /** The wrapper the host holds for `handler` on `eventName`, forgotten from now on; or none. */
  remove(library: object, eventName: string, handler: AnyFunction): AnyFunction | undefined {
    const handlers = this.byLibrary.get(library);
    const events = handlers?.get(handler);
    const key = eventName.toLowerCase();
    const registration = events?.get(key);
    if (!registration) return undefined;
    events!.delete(key);
    if (events!.size === 0) handlers!.delete(handler);
    return registration.wrapper;
  }

  /** Every registration of `library`, forgotten from now on. */
  takeAll(library: object): Array<{ eventName: string; handler: AnyFunction; wrapper: AnyFunction }> {
    const taken = [];
    for (const [handler, events] of this.byLibrary.get(library) ?? []) {
      for (const { eventName, wrapper } of events.values()) taken.push({ eventName, handler, wrapper });
    }
    this.byLibrary.delete(library);
    return taken;
  }
}

/**
 * Calls the host's `addHandler` with `call` and tells `answered` whether it took the handler:
 * not when it throws, rejects, or answers false, now or when its promise settles.
 */
export function addedBy(call: () => unknown, answered: Answered): unknown {
  let answer: unknown;
  try {
    answer = call();
  } catch (error) {
    answered(false);
    throw error;
  }
  if (!listen(answer, (value) => answered(value !== false), () => answered(false))) answered(answer !== false);
  return answer;
}
