import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { toError } from '../errors.js';

/**
 * Runs `fn` with `span` active under `parent`, and ends the span when `fn`'s answer settles: at
 * once for a value that is not a thenable, when a promise settles, with ERROR status and the
 * exception recorded for a throw or a rejection. What `fn` returns or throws passes through as
 * it is: the same promise, the same thrown value.
 */
export function runInSpan<T>(span: Span, parent: Context, fn: () => T): T {
  let ran = false;
  let answer: T;
  try {
    answer = context.with(trace.setSpan(parent, span), () => {
      ran = true;
      return fn();
    });
  } catch (error) {
    if (!ran) {
      // The context manager failed before the call: the call still happens, untraced.
      end(span);
      return fn();
    }
    fail(span, error);
    throw error;
  }
  endWhenSettled(span, answer);
  return answer;
}

/**
 * Listens to `answer` if it is a thenable. Listening marks a rejected promise as handled, so the
 * page no longer reports it as unhandled; everything else about it is the host's.
 */
function endWhenSettled(span: Span, answer: unknown): void {
  let settled = false;
  const once = (done: () => void) => () => {
    if (settled) return;
    settled = true;
    done();
  };
  try {
    // Reading `then` of a proxy or a getter may throw; calling it may too.
    const then = (typeof answer === 'object' && answer !== null) || typeof answer === 'function' ? (answer as { then?: unknown }).then : undefined;
    if (typeof then === 'function') {
      then.call(
        answer,
        once(() => end(span)),
        (reason: unknown) => once(() => fail(span, reason))(),
      );
      return;
    }
  } catch {
    // A thenable that cannot be listened to: the span ends now.
  }
  once(() => end(span))();
}

/** ERROR status with the reason read as the exporter reads host rejections, the exception, then the end. */
function fail(span: Span, reason: unknown): void {
  try {
    const error = toError(reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    // An error made here from what the host gave has a stack of this library's, not the host's.
    span.recordException(error === reason ? error : { name: error.name, message: error.message });
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
