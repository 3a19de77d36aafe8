import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { reasonText, toError } from '../errors.js';

/**
 * Runs `fn` with `span` active under `parent`, and ends the span when `fn`'s answer settles: at
 * once for a value that is not a thenable, when a promise settles, with ERROR status and the
 * exception recorded for a throw or a rejection: read as a host rejection for a call of the host,
 * else as the page's own. What `fn` returns or throws passes through as it is: the same promise,
 * the same thrown value.
 */
export function runInSpan<T>(span: Span, parent: Context, fn: () => T, host = false): T {
  let ran = false;
  let returned = false;
  let answer!: T;
  try {
    context.with(trace.setSpan(parent, span), () => {
      ran = true;
      answer = fn();
      returned = true;
    });
  } catch (error) {
    if (!ran) {
      // The context manager failed before the call: the call still happens, untraced.
      end(span);
      return fn();
    }
    // Thrown on the way out, after the call answered: the context manager's, not the call's.
    if (!returned) {
      fail(span, error, host);
      throw error;
    }
  }
  endWhenSettled(span, answer, host);
  return answer;
}

/** Ends `span` when `answer` settles, or now when it is not a thenable that can be listened to. */
function endWhenSettled(span: Span, answer: unknown, host: boolean): void {
  // A thenable may call back twice, or both ways: its first call alone ends the span.
  let settled = false;
  const first = (endSpan: () => void): void => {
    if (settled) return;
    settled = true;
    endSpan();
  };
  const ended = (): void => first(() => end(span));
  if (!listen(answer, ended, (reason: unknown) => first(() => fail(span, reason, host)))) ended();
}

/**
 * Calls `answer.then(onFulfilled, onRejected)` if it can; whether it did. Listening marks a
 * rejected promise as handled, so the page no longer reports it as unhandled.
 */
export function listen(answer: unknown, onFulfilled: (value: unknown) => void, onRejected: (reason: unknown) => void): boolean {
  let then: (this: unknown, ...callbacks: unknown[]) => unknown;
  let listening: unknown;
  try {
    // Reading `then` of a proxy or a getter may throw; a `then` that is not a function throws at `.call`.
    then = (Object(answer) as { then: typeof then }).then;
    listening = then.call(answer, onFulfilled, onRejected);
  } catch {
    return false;
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
    span.end();
  } catch {
    // A span of a broken tracer provider: nothing to end.
  }
}

/** `reason[key]` when it reads as a string; a getter or proxy that throws reads as nothing. */
function textOf(reason: unknown, key: 'name' | 'stack'): string | undefined {
  try {
    const value: unknown = reason instanceof Error ? reason[key] : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
