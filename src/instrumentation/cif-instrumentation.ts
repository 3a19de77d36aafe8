import { context, SpanKind, trace, type Attributes, type Context, type MeterProvider, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { CIF_INIT_DONE_EVENT } from '../delivery/readiness.js';
import { reasonText } from '../errors.js';
import { log } from '../log.js';
import { MAX_TEXT_LENGTH, truncate } from '../mapping/values.js';
import { check, isObject } from '../validate.js';
import { withCorrelationId } from './correlation.js';
import { HandlerRegistry, type AnyFunction, type Answered } from './handlers.js';
import { callAndWatch, isQuiet, quietly, runInSpan, type Settled } from './run-in-span.js';

/** Options of `CifInstrumentation`. Every one is optional. */
export interface CifInstrumentationConfig {
  // No `| undefined`, as in `InstrumentationConfig`, or under exactOptionalPropertyTypes this is no Instrumentation.
  /**
   * Whether the constructor enables it. `registerInstrumentations` enables it either way.
   * @default true
   */
  enabled?: boolean;
  /**
   * Where `Microsoft.CIFramework` is looked up, and where `CIFInitDone` is listened for.
   * @default globalThis
   */
  target?: object | undefined;
  /**
   * Whether a call of a method whose signature ends with `correlationId`, made without one, goes
   * to the host with the trace id as a GUID (`traceIdToGuid`), as the exporter's calls do.
   * @default true
   */
  correlationId?: boolean | undefined;
}

/** The rule of `enabled` and `correlationId`. */
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
const MUST_BE_BOOLEAN = 'must be true or false';

/** The scope of the spans, as a tracing backend shows it (`otel.scope.name`). */
const NAME = 'opentelemetry-exporter-cif/instrumentation';
/** The package version; a test holds it to package.json. */
const VERSION = '0.1.0';
const PREFIX = 'Microsoft.CIFramework';
/** The stable RPC conventions (`@opentelemetry/semantic-conventions` 1.45): the system, and the method fully qualified, which names the span. */
const ATTR_RPC_SYSTEM = 'rpc.system.name';
const ATTR_RPC_METHOD = 'rpc.method';
/** The attribute of a handler span naming the event; not `cif.*`, which marks spans for the exporter. */
const ATTR_EVENT = 'ciframework.event';
const RPC_SYSTEM = 'ciframework';

/** The method whose wrapper is calling its function now, synchronously: a wrapper it reaches again (bound or wrapped by the page, then wrapped) only calls through. */
let calling: string | undefined;
/** Whether that wrapper swapped the handler of its `addHandler` or `removeHandler` call. */
let swapped = false;

/** Marks every wrapper, also those of another copy of the package on the page, so that no function is wrapped twice. */
const WRAPPER = Symbol.for('opentelemetry-exporter-cif/instrumentation.wrapper');
/** Dispatched on the target by a `disable()` that put functions back, so that instrumentations still enabled wrap them again. */
const UNWRAPPED_EVENT = 'opentelemetry-exporter-cif.unwrapped';
/** The events after which an enabled instrumentation wraps what is not wrapped. */
const WRAP_EVENTS = [CIF_INIT_DONE_EVENT, UNWRAPPED_EVENT];

interface WrappedMethod {
  original: AnyFunction;
  wrapper: AnyFunction;
  /** Whether the original was an own property; else the wrapper shadows an inherited one. */
  own: boolean;
}

/**
 * Traces the widget's calls to the CIF library: each call of a `Microsoft.CIFramework` function
 * is a CLIENT span `Microsoft.CIFramework/<method>`, and each handler added with `addHandler`
 * runs inside a span `Microsoft.CIFramework <event>`. An OpenTelemetry `Instrumentation`: pass it
 * to `registerInstrumentations` from `@opentelemetry/instrumentation`, or call `enable()`.
 * The exporter's own calls, made with tracing suppressed, are not traced.
 * @example registerInstrumentations({ instrumentations: [new CifInstrumentation()] });
 */
export class CifInstrumentation {
  readonly instrumentationName = NAME;
  readonly instrumentationVersion = VERSION;
  private config: CifInstrumentationConfig = {};
  private tracer: Tracer = trace.getTracer(NAME, VERSION);
  private enabled = false;
  /**
   * The CIFramework objects wrapped since `enable()`, with what replaced what: held weakly, so that
   * a library the page replaced goes once nothing holds it, and pruned of those gone at each new one.
   */
  private libraries: Array<WeakRef<object>> = [];
  private readonly wrapped = new WeakMap<object, Map<string, WrappedMethod>>();
  private readonly handlers = new HandlerRegistry();
  /** The target listened to for `CIFInitDone`, while enabled. */
  private listening: EventTarget | undefined;
  private readonly onInitDone = () => this.wrapLibrary();

  constructor(config: CifInstrumentationConfig = {}) {
    this.setConfig(config);
    if (this.config.enabled !== false) this.enable();
  }

  /**
   * Wraps the functions of `Microsoft.CIFramework` now if the library is there, and again at each
   * `CIFInitDone`, so a library that arrives or is replaced later is traced too. Calling it again
   * wraps what is new; nothing is wrapped twice.
   */
  enable(): void {
    this.enabled = true;
    const target = this.target() as EventTarget;
    // A target that `setConfig` changed is listened to from now on, in place of the one before.
    if (this.listening !== target) {
      this.stopListening();
      try {
        for (const type of WRAP_EVENTS) target.addEventListener(type, this.onInitDone);
        this.listening = target;
      } catch (error) {
        // Not an EventTarget, or one that refuses listeners: the library is wrapped when enable() finds it.
        log('debug', `cannot listen for CIFInitDone (${reasonText(error)}): ${PREFIX} is traced once enable() finds it`);
      }
    }
    this.wrapLibrary();
  }

  /**
   * Puts back every function it replaced that the page has not replaced since, and hands the host
   * the widget's own handlers in place of their wrappers, so `removeHandler` keeps working.
   */
  disable(): void {
    this.enabled = false;
    const target = this.listening;
    this.stopListening();
    let restored = false;
    for (const ref of this.libraries) {
      const library = ref.deref();
      const methods = library && this.wrapped.get(library);
      if (!methods) continue;
      this.unwrapHandlers(library, methods);
      // A wrapper the page froze in place stays known, so that handlers are swapped again once enabled.
      for (const [name, method] of methods) if (restore(library, name, method)) restored = methods.delete(name);
    }
    try {
      // Another instrumentation on the page, of this copy of the package or another, traces on.
      if (restored) target?.dispatchEvent(new Event(UNWRAPPED_EVENT));
    } catch {
      // A target that cannot dispatch: the others wrap again at the next CIFInitDone or enable().
    }
  }

  private stopListening(): void {
    try {
      for (const type of WRAP_EVENTS) this.listening?.removeEventListener(type, this.onInitDone);
    } catch {
      // Nothing else to undo there.
    }
    this.listening = undefined;
  }

  setTracerProvider(tracerProvider: TracerProvider): void {
    this.tracer = tracerProvider.getTracer(NAME, VERSION);
  }

  /** It records no metrics. */
  setMeterProvider(_meterProvider: MeterProvider): void {}

  /** Replaces the options; `target` is read at the next `enable()` or `CIFInitDone`. */
  setConfig(config: CifInstrumentationConfig = {}): void {
    // Checked as the exporters check theirs: a bad option or one that cannot be read throws a
    // TypeError that names it, and an unknown one is warned of. `enabled` defaults to true, as
    // InstrumentationBase has it: `registerInstrumentations` enables only what says it is not enabled.
    this.config = check('CifInstrumentation: option').options<CifInstrumentationConfig>(
      { enabled: [true, isBoolean, MUST_BE_BOOLEAN], target: [undefined, isObject, 'must be an object such as window'], correlationId: [undefined, isBoolean, MUST_BE_BOOLEAN] },
      config,
    );
  }

  /** The options, `enabled` as it is now: `registerInstrumentations` enables again one a `disable()` left off. */
  getConfig(): CifInstrumentationConfig {
    return { ...this.config, enabled: this.enabled };
  }

  private target(): object {
    return this.config.target ?? globalThis;
  }

  /** Wraps each function of the CIFramework object on the page that is not wrapped yet. */
  private wrapLibrary(): void {
    if (!this.enabled) return;
    const library = findLibrary(this.target());
    if (!library) return log('debug', `${PREFIX} is not on the page yet; its calls are traced from ${this.listening ? 'CIFInitDone' : 'the next enable()'}`);
    let methods = this.wrapped.get(library);
    if (!methods) {
      this.wrapped.set(library, (methods = new Map()));
      this.libraries = this.libraries.filter((ref) => ref.deref());
      this.libraries.push(new WeakRef(library));
    }
    let wrapped = 0;
    for (const name of propertyNames(library)) {
      if (this.wrapMethod(library, name, methods)) wrapped++;
    }
    log('debug', `tracing ${wrapped} more functions of ${PREFIX}, ${methods.size} in all`);
  }

  /** Replaces one function by its wrapper; false when it is not a plain writable function. */
  private wrapMethod(library: object, name: string, methods: Map<string, WrappedMethod>): boolean {
    try {
      const own = Object.getOwnPropertyDescriptor(library, name);
      const descriptor = own ?? inheritedDescriptor(library, name);
      // A getter, own or inherited, computes its function each time, and a read-only one cannot be replaced: left alone.
      if (!descriptor?.writable) return false;
      const value: unknown = (library as Record<string, unknown>)[name];
      if (typeof value !== 'function' || Object.getOwnPropertyDescriptor(value, WRAPPER)) return false;
      const original = value as AnyFunction;
      // One the library inherits is read where it is at each call: a library may swap it there (a start-up stub for its
      // implementation), which the wrapper, its own, would otherwise hide.
      const wrapper = this.wrapCall(library, name, original, own ? undefined : () => Reflect.get(Object.getPrototypeOf(library) as object, name, library));
      if (own) (library as Record<string, unknown>)[name] = wrapper;
      else Object.defineProperty(library, name, { value: wrapper, writable: true, configurable: true, enumerable: descriptor.enumerable === true });
      methods.set(name, { original, wrapper, own: own !== undefined });
      return true;
    } catch (error) {
      log('debug', `${PREFIX}.${truncate(name, MAX_TEXT_LENGTH)} cannot be wrapped; its calls are not traced`, error);
      return false;
    }
  }

  /** What the widget calls in place of `wrapped`, or of what `current` gives when a function: the same call, inside a CLIENT span. */
  private wrapCall(library: object, method: string, wrapped: AnyFunction, current?: () => unknown): AnyFunction {
    // Cut as a handler span cuts its event name: a page may give the library a function of any name.
    const name = `${PREFIX}/${truncate(method, MAX_TEXT_LENGTH)}`;
    const attributes = { [ATTR_RPC_SYSTEM]: RPC_SYSTEM, [ATTR_RPC_METHOD]: name };
    const start = () => this.startSpan(name, SpanKind.CLIENT, attributes);
    const argumentsFor = (args: unknown[], span: Span | undefined) => this.argumentsFor(library, method, args, span);
    const wrapper: AnyFunction = function (this: unknown, ...args: unknown[]): unknown {
      // What the library inherits now, a function or not: one it no longer has is not called, as without the wrapper.
      const original = current ? (current() as AnyFunction) : wrapped;
      // A class or constructor of the library is built as before and not traced: it does not call the host.
      if (new.target) return Reflect.construct(original, args, new.target);
      // Called by a wrapper of the same method, which the page bound or wrapped and was wrapped again: that one traces the
      // call, and swaps its handler, unless it is another instrumentation's, which could not (it wraps one of the two).
      const inner = calling === method;
      if (inner && swapped) return Reflect.apply(original, this, args);
      // Nor is a call traced that what starts or ends a span makes (a span processor, the diag logger): one that would
      // start a span would call again without end. Its handler is swapped all the same.
      const started = inner || isQuiet() ? undefined : start();
      // Handlers are swapped even for a call not traced, so that the host and the registry agree.
      const [callArgs, answered] = argumentsFor(args, started?.span);
      // The exporter's own calls are not traced: no closure for them. Nor, when disabled, does this wrapper stop one under it.
      if (!started && !answered) return Reflect.apply(original, this, callArgs);
      const outer = [calling, swapped] as const;
      calling = method;
      swapped = !!answered;
      try {
        const call = () => Reflect.apply(original, this, callArgs);
        // An addHandler's or removeHandler's answer tells the registry whether the host did it: not when it throws, rejects or answers false.
        const settled: Settled | undefined = answered && ((ok, value) => answered(ok && value !== false));
        return started ? runInSpan(started.span, started.parent, call, true, settled) : callAndWatch(call, settled!);
      } finally {
        [calling, swapped] = outer;
      }
    };
    // Statics read through to the original, and instances are `instanceof` both.
    Object.setPrototypeOf(wrapper, wrapped);
    wrapper.prototype = wrapped.prototype;
    Object.defineProperty(wrapper, WRAPPER, { value: true });
    return looksLike(wrapper, wrapped);
  }

  /**
   * The arguments the host gets: a handler swapped for its wrapper while enabled, traced or not;
   * the correlationId filled in when the call has a span. For an `addHandler` or `removeHandler`,
   * also what to tell the host's answer, so that a handler it refused is forgotten, and one it
   * failed to remove is kept for the widget to try again.
   */
  private argumentsFor(library: object, method: string, args: unknown[], span: Span | undefined): [readonly unknown[], Answered?] {
    try {
      if (!this.enabled) return [args];
      const [eventName, handler] = args;
      const methods = this.wrapped.get(library);
      // Swapped only while both are wrapped, so that what one gives the host the other can take back.
      if ((method === 'addHandler' || method === 'removeHandler') && typeof handler === 'function' && methods?.has('addHandler') && methods.has('removeHandler')) {
        // As the host reads it; a name whose toString throws leaves the call as it is.
        const event = String(eventName);
        const own = handler as AnyFunction;
        const [wrapper, answered] =
          method === 'addHandler' ? this.handlers.add(library, event, own, () => this.wrapHandler(event, own)) : this.handlers.remove(library, event, own);
        return [wrapper ? [eventName, wrapper, ...args.slice(2)] : args, answered];
      }
      return [!span || this.config.correlationId === false ? args : withCorrelationId(method, args, span.spanContext().traceId)];
    } catch {
      return [args];
    }
  }

  /** What the host calls in place of the widget's handler: the handler, inside a span naming the event. */
  private wrapHandler(eventName: string, handler: AnyFunction): AnyFunction {
    // As the exporter cuts a KPI event's name: a span name nothing else bounds.
    const shown = truncate(eventName, MAX_TEXT_LENGTH);
    const name = `${PREFIX} ${shown}`;
    const attributes = { [ATTR_EVENT]: shown };
    const start = () => this.startSpan(name, SpanKind.INTERNAL, attributes);
    return looksLike(function (this: unknown, ...args: unknown[]): unknown {
      // The handler's own calls are its own, also when the host runs it within a call of the same method.
      const outer = calling;
      calling = undefined;
      try {
        const started = start();
        if (!started) return Reflect.apply(handler, this, args);
        return runInSpan(started.span, started.parent, () => Reflect.apply(handler, this, args));
      } finally {
        calling = outer;
      }
    }, handler);
  }

  /** A span under the active context; none while disabled, with tracing suppressed, or if the tracer throws. */
  private startSpan(name: string, kind: SpanKind, attributes: Attributes): { span: Span; parent: Context } | undefined {
    if (!this.enabled) return undefined;
    try {
      const parent = context.active();
      if (isTracingSuppressed(parent)) return undefined;
      return { span: quietly(() => this.tracer.startSpan(name, { kind, attributes }, parent)), parent };
    } catch {
      return undefined;
    }
  }

  /** Gives the host each registered handler itself in place of its wrapper, with the original functions. */
  private unwrapHandlers(library: object, methods: Map<string, WrappedMethod>): void {
    const add = methods.get('addHandler')?.original;
    const remove = methods.get('removeHandler')?.original;
    for (const { eventName, handler, wrapper, removal } of this.handlers.takeAll(library)) {
      if (!add || !remove) continue;
      /** Calls the host's `fn`; `done` is told whether it did it: not when it throws, rejects or answers false. */
      const ask = (fn: AnyFunction, handed: AnyFunction, done: (did: boolean, value: unknown) => void): void => {
        try {
          callAndWatch(() => Reflect.apply(fn, library, [eventName, handed]), (ok, value) => done(ok && value !== false, value));
        } catch {
          // Told to `done`.
        }
      };
      const stays = (what: string, why: unknown): void => log('debug', `the ${truncate(eventName, MAX_TEXT_LENGTH)} handler stays wrapped: the host ${what}`, why);
      // The handler itself first, and its wrapper out once the host took it: no event finds neither, and none finds
      // both once the host has answered.
      const giveBack = () =>
        ask(add, handler, (taken, why) => {
          if (!taken) return stays('did not take it back', why);
          ask(remove, wrapper, (removed, why) => {
            if (removed) return;
            stays('did not remove its wrapper', why);
            ask(remove, handler, () => {});
          });
        });
      // One the widget is removing is given back only should the host fail that removal, so that the widget can try again.
      if (removal) removal.giveBack = giveBack;
      else giveBack();
    }
  }
}

/** `wrapper`, with the `name` and `length` of `original` as the page reads them; one that cannot be read leaves the wrapper's own. */
function looksLike(wrapper: AnyFunction, original: AnyFunction): AnyFunction {
  for (const key of ['name', 'length'] as const) {
    try {
      Object.defineProperty(wrapper, key, { value: original[key], configurable: true });
    } catch {
      // Left as it is.
    }
  }
  return wrapper;
}

/** `target.Microsoft.CIFramework` if it is an object or a function; reading it may throw. */
function findLibrary(target: object): object | undefined {
  try {
    const library: unknown = (target as { Microsoft?: { CIFramework?: unknown } }).Microsoft?.CIFramework;
    // Object() returns objects and functions themselves, and wraps anything else in a new object.
    return Object(library) === library ? (library as object) : undefined;
  } catch {
    return undefined;
  }
}

/** The names of every property of `library` and its prototypes, functions or not, but those every object has. */
function propertyNames(library: object): Set<string> {
  const names = new Set<string>();
  try {
    // Up to Object.prototype or Function.prototype, this frame's or the one the library was made in.
    for (const o of chain(library)) {
      if (o !== library && isBase(o)) break;
      for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name);
    }
  } catch {
    // A proxy that refuses to list its keys: the names read so far.
  }
  return names;
}

/** `o` and its prototypes, each once: a proxy's getPrototypeOf may report a chain that comes back to itself. */
function* chain(o: object | null): Generator<object> {
  for (const seen = new Set<object>(); o && !seen.has(o); o = Object.getPrototypeOf(o) as object | null) {
    seen.add(o);
    yield o;
  }
}

/** Whether `o` is some frame's Object.prototype or Function.prototype: the prototype of its own `Object` or `Function`. */
function isBase(o: object): boolean {
  const { constructor } = o as { constructor?: { name?: unknown; prototype?: unknown } };
  return constructor?.prototype === o && (constructor.name === 'Object' || constructor.name === 'Function');
}

/** The descriptor of the property `name` that `library` inherits, if any: its shadow keeps what it says. */
function inheritedDescriptor(library: object, name: string): PropertyDescriptor | undefined {
  for (const o of chain(Object.getPrototypeOf(library) as object | null)) {
    const descriptor = Object.getOwnPropertyDescriptor(o, name);
    if (descriptor) return descriptor;
  }
  return undefined;
}

/**
 * Puts `method.original` back unless the page has replaced the wrapper since; true when it did.
 * A library frozen since keeps the wrapper, which calls through to the original while disabled.
 */
function restore(library: object, name: string, method: WrappedMethod): boolean {
  try {
    // `Reflect` says false for a frozen library, where an assignment would throw or, in sloppy code, do nothing.
    return (
      Object.getOwnPropertyDescriptor(library, name)?.value === method.wrapper &&
      (method.own ? Reflect.set(library, name, method.original) : Reflect.deleteProperty(library, name))
    );
  } catch {
    // A proxy whose traps throw: as a frozen library.
    return false;
  }
}
