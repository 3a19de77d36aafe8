import { SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { inContext } from '../delivery/host-call.js';
import { bounded, reasonText, toError } from '../errors.js';

/**
 * Runs `fn` with `span` active under `parent`, and ends the span when `fn`'s answer settles: at
 * once for a value that is not a thenable, when a promise settles, with ERROR status and the
 * exception recorded for a throw or a rejection: read as a host rejection for a call of the host,
 * else as the page's own. Then tells `settled`. What `fn` returns or throws passes through as it
 * is: the same promise, the same thrown value.
 */
export function runInSpan<T>(span: Span, parent: Context, fn: () => T, host = false, settled: Settled = () => {}): T {
  const ended: Settled = (ok, value) => {
    if (ok) end(span);
    else fail(span, value, host);
    settled(ok, value);
  };
  let active = parent;
  try {
    active = trace.setSpan(parent, span);
  } catch {
    // A context of the page's context manager that takes no value: the call runs in the one it had, timed all the same.
  }
  let answer: T;
  try {
    // Once, whatever the context manager does: made outside it, in its span all the same, where it does not call back.
    answer = inContext(active, fn);
  } catch (error) {
    ended(false, error);
    throw error;
  }
  whenSettled(answer, ended);
  return answer;
}

/** How a call ended: `ok` with its value, or not, with what it threw or rejected with. */
export type Settled = (ok: boolean, value: unknown) => void;

/** Calls `fn` and tells `settled` how it ends, a throw too, which is then thrown on. */
export function callAndWatch<T>(fn: () => T, settled: Settled): T {
  let answer: T;
  try {
    answer = fn();
  } catch (error) {
    settled(false, error);
    throw error;
  }
  whenSettled(answer, settled);
  return answer;
}

/**
 * Tells `settled` how `answer` ends: when it settles, if it is a thenable (whose `then` is called
 * once, and whose first callback alone counts: a thenable may call back twice, or both ways), else at once.
 */
function whenSettled(answer: unknown, settled: Settled): void {
  let done = false;
  const first =
    (ok: boolean) =>
    (value: unknown): void => {
      if (done) return;
      done = true;
      settled(ok, value);
    };
  if (!listen(answer, first(true), first(false))) first(true)(answer);
}

/**
 * Calls `answer.then(onFulfilled, onRejected)` if `answer` is a thenable; whether it is. As for a
 * promise resolved with it, a `then` that cannot be read, or throws, rejects (at once: `onRejected`
 * may then come after a callback `then` made). Listening marks a rejected promise as handled, so
 * the page no longer reports it as unhandled.
 */
export function listen(answer: unknown, onFulfilled: (value: unknown) => void, onRejected: (reason: unknown) => void): boolean {
  let then: unknown;
  let listening: unknown;
  try {
    // Reading `then` of a proxy or a getter may throw.
    then = (Object(answer) as { then: unknown }).then;
    if (typeof then !== 'function') return false;
    listening = then.call(answer, onFulfilled, onRejected);
  } catch (error) {
    onRejected(error);
    return true;
  }
  try {
    // A thenable's own `then` may answer a rejected promise (an async `then` that throws), which no one else handles.
    if (then !== Promise.prototype.then) Promise.prototype.then.call(listening, undefined, () => {});
  } catch {
    // Not a promise: nothing to leave unhandled.
  }
  return true;
}

/** ERROR status with the reason read as the exporter reads host rejections (or, not the host's, without naming the host), the exception, then the end. */
function fail(span: Span, reason: unknown, host: boolean): void {
  try {
    // A handler's throw is the page's own: no CifHostError type, no "CIF host rejected the call".
    const { message, name } = host ? toError(reason) : { message: reasonText(reason), name: undefined };
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    // The widget's own type and stack where they read as strings; never the stack of an error made here.
    span.recordException({ name: textOf(reason, 'name') ?? name, message, stack: textOf(reason, 'stack') });
  } catch {
    // A reason whose name or stack cannot be read: the status is set, the exception is not recorded.
  }
  end(span);
}

function end(span: Span): void {
  try {
    quietly(() => span.end());
  } catch {
    // A span of a broken tracer provider: nothing to end.
  }
}

/** How deep the instrumentation is in starting or ending a span. */
let depth = 0;

/**
 * Runs `fn`, starting or ending a span, during which a call of the library (made by a span
 * processor, or a diag logger the tracer tells) is the caller's own: passed through untraced,
 * so that it starts no span of its own, which would call again without end.
 */
export function quietly<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/** Whether a span is being started or ended now (see `quietly`). */
export const isQuiet = (): boolean => depth > 0;

/** `reason[key]` when it reads as a string; a getter or proxy that throws reads as nothing. */
function textOf(reason: unknown, key: 'name' | 'stack'): string | undefined {
  try {
    const value: unknown = reason instanceof Error ? reason[key] : undefined;
    return typeof value === 'string' ? bounded(value) : undefined;
  } catch {
    return undefined;
  }
}
