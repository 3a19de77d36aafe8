/** A function of the page or the host, called with whatever `this` and arguments it was given. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface Registration {
  /** The event name as the widget passed it to `addHandler`. */
  eventName: string;
  /** What the host holds in place of the widget's handler. */
  wrapper: AnyFunction;
  /** The `addHandler` calls of it the host has not answered yet, and all there were. */
  pending: number;
  adds: number;
  /** Whether the host took it at one of them. */
  held: boolean;
  /** The `removeHandler` calls of it the host has not answered yet, and whether the widget's last call of it was one. */
  removing: number;
  removed?: boolean;
  /** Set by `takeAll` on one left to its removal: gives the host the handler back should none of the removals remove the wrapper. */
  giveBack?: (() => void) | undefined;
}

/** Tells a registration whether the host did what one `addHandler` or `removeHandler` call asked; only the first answer counts. */
export type Answered = (done: boolean) => void;

/**
 * The handlers the widget added through the instrumented `addHandler`, per CIFramework object:
 * which wrapper the host holds for each handler and event, so that `removeHandler` with the
 * widget's handler removes the wrapper, and the same handler added twice gives the host the same
 * wrapper. An entry lives from `addHandler` until the host removed it at a `removeHandler`, as
 * the host's does, or until the host has refused every `addHandler` of it.
 */
export class HandlerRegistry {
  private readonly byLibrary = new WeakMap<object, Map<AnyFunction, Map<string, Registration>>>();

  /** The wrapper the host gets for `handler` on `eventName` (`wrap` makes it the first time), and what to tell the host's answer. */
  add(library: object, eventName: string, handler: AnyFunction, wrap: () => AnyFunction): [AnyFunction, Answered] {
    const events = this.eventsOf(library, handler);
    const key = eventName.toLowerCase();
    const registration = events.get(key) ?? { eventName, wrapper: wrap(), pending: 0, adds: 0, held: false, removing: 0 };
    events.set(key, registration);
    registration.pending++;
    registration.adds++;
    registration.removed = false;
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
        if (current === registration && !registration.held && registration.pending === 0) this.forget(library, handler, key);
      },
    ];
  }

  /**
   * The wrapper the host holds for `handler` on `eventName`, and what to tell the host's answer:
   * the registration is forgotten once the host removed the wrapper, unless the widget added the
   * handler again meanwhile (the host then holds it again). Until then an `addHandler` hands the
   * host the same wrapper, and a removal the host fails leaves it as it was, so that the widget
   * can try again. None when there is no wrapper.
   */
  remove(library: object, eventName: string, handler: AnyFunction): [AnyFunction, Answered] | [] {
    const key = eventName.toLowerCase();
    const registration = this.byLibrary.get(library)?.get(handler)?.get(key);
    if (!registration) return [];
    const { adds } = registration;
    registration.removing++;
    registration.removed = true;
    return [
      registration.wrapper,
      // Told once: the wrapper of the call tells the first way it settles.
      (removed) => {
        registration.removing--;
        const current = this.byLibrary.get(library)?.get(handler)?.get(key);
        if (removed && current === registration && registration.adds === adds) this.forget(library, handler, key);
        const { giveBack } = registration;
        if (giveBack && (removed || registration.removing === 0)) {
          registration.giveBack = undefined;
          if (!removed) giveBack();
        }
      },
    ];
  }

  /** The registrations of `handler` on `library`, by event, made empty if there are none. */
  private eventsOf(library: object, handler: AnyFunction): Map<string, Registration> {
    let handlers = this.byLibrary.get(library);
    if (!handlers) this.byLibrary.set(library, (handlers = new Map()));
    let events = handlers.get(handler);
    if (!events) handlers.set(handler, (events = new Map()));
    return events;
  }

  /** Forgets the registration of `handler` on `key`, which there is. */
  private forget(library: object, handler: AnyFunction, key: string): void {
    const handlers = this.byLibrary.get(library)!;
    const events = handlers.get(handler)!;
    events.delete(key);
    if (events.size === 0) handlers.delete(handler);
  }

  /**
   * Every registration of `library`, forgotten from now on; with `removal`, one the widget is removing (its last call of
   * it a `removeHandler` the host has not answered): what the host holds of it is that removal's to take out.
   */
  takeAll(library: object): Array<{ eventName: string; handler: AnyFunction; wrapper: AnyFunction; removal: Registration | undefined }> {
    const taken = [];
    for (const [handler, events] of this.byLibrary.get(library) ?? []) {
      for (const registration of events.values()) {
        const { eventName, wrapper, removing, removed } = registration;
        taken.push({ eventName, handler, wrapper, removal: removing > 0 && removed ? registration : undefined });
      }
    }
    this.byLibrary.delete(library);
    return taken;
  }
}
