import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { toError } from '../errors.js';
import { toJson } from '../mapping/values.js';
import type { CifAnalyticsClient, CifCall } from '../types.js';

/** Every call to the host runs in this context, made once: no tracing of the host's messaging. */
let suppressed: Context | undefined;

/**
 * One `logAnalyticsEvent` call with tracing suppressed, so that instrumentation of the host's
 * messaging never traces the exporter; `answered` runs once, later, with `of` and the failure if any. Never
 * throws: a synchronous throw is a failure. A promise whose `then` reads as `Promise.prototype.then`
 * is used as it is, saving a wrapper per call, and that `then` is called, whatever a second read
 * would give; anything else, such as a thenable, is adopted by a new promise, which cannot answer
 * twice. A proxy of a promise passes for one, and `then` refuses it: the call failed.
 */
export function callHost<T>(
  client: CifAnalyticsClient,
  call: CifCall,
  dataFormat: 'object' | 'json',
  answered: (of: T, error?: Error) => void,
  of: T,
): void {
  try {
    // The page's JSON, which a library may have replaced, fails the call should it write no text.
    const data = dataFormat === 'json' ? toJson(call.data) : call.data;
    // Read out of the call, which the answer's callbacks must not keep alive (nor its payload: see `listen`).
    const { eventName, correlationId } = call;
    // Called as a method, so that a client whose method went away fails naming it; once, whatever the page's context
    // manager does (as `inContext` does, without the closure around a `try`, which cost a quarter of `export()`): one
    // that does not call back leaves the call untraced but made; what it throws is its own, not the host's.
    let state = 0; // 1 in the call, 2 answered, 3 made after the context manager.
    let value: unknown;
    try {
      context.with((suppressed ??= suppressTracing(ROOT_CONTEXT)), () => {
        if (state) return;
        state = 1;
        value = client.logAnalyticsEvent(data, eventName, correlationId);
        state = 2;
      });
    } catch (error) {
      if (state === 1) throw error;
    }
    if (state === 1) throw new Error("the page's context manager hid what logAnalyticsEvent threw");
    if (!state) {
      // Marked first: a context manager that calls back later finds the call made.
      state = 3;
      value = client.logAnalyticsEvent(data, eventName, correlationId);
    }
    listen(value, answered, of);
  } catch (error) {
    // Answered later all the same, as a rejection would be.
    void Promise.resolve().then(() => answered(of, toError(error)));
  }
}

/**
 * Runs `answered` once the host's answer settles. A function of its own: callbacks made in `callHost` would share
 * its scope, which holds the payload, for as long as the host holds its promise, which may be the page's life.
 */
function listen<T>(value: unknown, answered: (of: T, error?: Error) => void, of: T): void {
  const { then } = Promise.prototype;
  const plain = value instanceof Promise && value.then === then;
  then.call(
    plain ? value : new Promise((resolve) => resolve(value)),
    () => answered(of),
    (reason: unknown) => answered(of, toError(reason)),
  );
}

/**
 * Runs `fn` in `ctx`, once, whatever the page's context manager does: one that does not call back
 * has it run outside `ctx`, one that calls back twice has it run once, and what the context
 * manager throws is its own. Returns what `fn` returns, and throws what `fn` throws.
 */
export function inContext<T>(ctx: Context, fn: () => T): T {
  let ran = false;
  let answer!: T;
  let thrown: [unknown] | undefined;
  const run = (): void => {
    if (ran) return;
    ran = true;
    try {
      answer = fn();
    } catch (error) {
      thrown = [error];
    }
  };
  try {
    context.with(ctx, run);
  } catch {
    // The context manager's own failure, before or after the call.
  }
  run();
  if (thrown) throw thrown[0];
  return answer;
}
