import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { toError } from '../errors.js';
import type { CifAnalyticsClient, CifCall } from '../types.js';

/** Every call to the host runs in this context, made once: no tracing of the host's messaging. */
let suppressed: Context | undefined;

/**
 * One `logAnalyticsEvent` call with tracing suppressed, so that instrumentation of the host's
 * messaging never traces the exporter; `answered` runs once, with the failure if any. Never throws:
 * a synchronous throw is a failure. The host's own promise is used as it is, saving a wrapper per
 * call; anything else, such as a thenable, is adopted by a new promise, which cannot answer twice.
 */
export function callHost(
  client: CifAnalyticsClient,
  call: CifCall,
  dataFormat: 'object' | 'json',
  answered: (error: Error | undefined) => void,
): void {
  const failed = (reason: unknown) => answered(toError(reason));
  let answer: Promise<unknown>;
  try {
    const data = dataFormat === 'json' ? JSON.stringify(call.data) : call.data;
    suppressed ??= suppressTracing(ROOT_CONTEXT);
    const value: unknown = context.with(suppressed, client.logAnalyticsEvent, client, data, call.eventName, call.correlationId);
    answer = isPlainPromise(value) ? value : new Promise((resolve) => resolve(value));
  } catch (error) {
    answer = Promise.reject(error);
  }
  // A proxy of a promise passes for one, and `then` refuses it: the call failed.
  try {
    answer.then(() => answered(undefined), failed);
  } catch (error) {
    Promise.reject(error).catch(failed);
  }
}

/**
 * A promise whose `then` is `Promise.prototype.then`, or an object posing as one, which that
 * `then` refuses at once. Reading a proxy may throw; the caller catches.
 */
function isPlainPromise(value: unknown): value is Promise<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Promise.prototype &&
    !Object.prototype.hasOwnProperty.call(value, 'then')
  );
}
