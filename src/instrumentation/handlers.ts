/** A function of the page or the host, called with whatever `this` and arguments it was given. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface Registration {
  /** The event name as the widget passed it to `addHandler`. */
  eventName: string;
  /** What the host holds in place of the widget's handler. */
  wrapper: AnyFunction;
}

/**
 * The handlers the widget added through the instrumented `addHandler`, per CIFramework object:
 * which wrapper the host holds for each handler and event, so that `removeHandler` with the
 * widget's handler removes the wrapper, and the same handler added twice gives the host the same
 * wrapper. An entry lives from `addHandler` to `removeHandler`, as the host's does.
 */
export class HandlerRegistry {
  private readonly byLibrary = new WeakMap<object, Map<AnyFunction, Map<string, Registration>>>();

  /** The wrapper the host gets for `handler` on `eventName`; `wrap` makes it the first time. */
  add(library: object, eventName: string, handler: AnyFunction, wrap: () => AnyFunction): AnyFunction {
    let handlers = this.byLibrary.get(library);
    if (!handlers) this.byLibrary.set(library, (handlers = new Map()));
    let events = handlers.get(handler);
    if (!events) handlers.set(handler, (events = new Map()));
    const key = eventName.toLowerCase();
    let registration = events.get(key);
    if (!registration) events.set(key, (registration = { eventName, wrapper: wrap() }));
    return registration.wrapper;
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
