import { truncate } from './mapping/values.js';
import { isMap } from './validate.js';

/**
 * An error class whose instances carry `name`, which minifying the class would lose, and the
 * message `describe` makes of the constructor's arguments; with `field`, the second argument,
 * when given, also as that public field.
 */
function errorClass<A extends unknown[], F extends string = never>(name: string, describe: (...args: A) => string, field?: F) {
  return class extends Error {
    constructor(...args: A) {
      super(describe(...args));
      this.name = name;
      if (field && args.length > 1) (this as Record<string, unknown>)[field] = args[1];
    }
  } as new (...args: A) => Error & { readonly [K in F]: A[1] };
}

/**
 * CIF was not ready in time, the default client was needed but `Microsoft.CIFramework` is not on
 * the page, or the page's library failed a call before `CIFInitDone`; then `cause` is what it gave.
 */
export const CifNotLoadedError = errorClass<[message?: string, cause?: unknown], 'cause'>(
  'CifNotLoadedError',
  (message) => message ?? 'CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page',
  'cause',
);
export type CifNotLoadedError = InstanceType<typeof CifNotLoadedError>;

/** The host did not answer a call within `timeoutMillis`; it may still have recorded it. */
export const CifTimeoutError = errorClass(
  'CifTimeoutError',
  (millis: number) => `logAnalyticsEvent did not answer within ${millis} ms (timeoutMillis)`,
);
export type CifTimeoutError = InstanceType<typeof CifTimeoutError>;

/** A call found `maxQueueSize` KPI events already pending (waiting or in flight) and was dropped. */
export const CifQueueFullError = errorClass(
  'CifQueueFullError',
  (maxQueueSize: number) => `delivery queue full: ${maxQueueSize} KPI events already pending (maxQueueSize)`,
);
export type CifQueueFullError = InstanceType<typeof CifQueueFullError>;

/** A call came after `shutdown()`, or had not settled when shutdown stopped waiting. */
export const CifShutdownError = errorClass('CifShutdownError', (message: string) => message);
export type CifShutdownError = InstanceType<typeof CifShutdownError>;

/** The page's `setTimeout` threw, called back before it returned, or early a hundred times in a row, so a call's deadline could not be kept and the call was given up. */
export const CifTimerError = errorClass(
  'CifTimerError',
  (reason: unknown) => `setTimeout failed (${reasonText(reason)}), so calls cannot be timed: given up`,
);
export type CifTimerError = InstanceType<typeof CifTimerError>;

/**
 * The host rejected a call, or `logAnalyticsEvent` threw: with an `Error`, a `Map` (old CIF
 * builds), a string, an object, or a value that cannot be read. `message` is a string read once
 * from what the host gave, or a description of it; `cause` is what the host gave.
 */
export const CifHostError = errorClass<[message: string, cause: unknown], 'cause'>('CifHostError', (message) => message, 'cause');
export type CifHostError = InstanceType<typeof CifHostError>;

/**
 * The `error` of a failed export result: `message` says how many calls failed and why; `errors`
 * holds the errors behind it, one per distinct message, at most three, each one of the classes
 * above or the host's own `Error`.
 */
export const CifExportError = errorClass<[message: string, errors: readonly Error[]], 'errors'>('CifExportError', (message) => message, 'errors');
export type CifExportError = InstanceType<typeof CifExportError>;

/**
 * What a thrown or rejected value says, read once: the message of an `Error`, of a `Map` (old CIF
 * builds) or object holding one, a string; else `prefix` and a description. The value may be a
 * proxy whose getters throw or answer differently each time, so nothing reads it after this.
 * Bounded (`bounded`). Never throws.
 */
export function reasonText(reason: unknown, prefix = ''): string {
  try {
    const text = typeof reason === 'string' ? reason : isMap(reason) ? reason.get('message') : (reason as Partial<Error> | null)?.message;
    return bounded(text && typeof text === 'string' ? text : prefix + (reason instanceof Error ? `${String(reason.name)} with no message` : describe(reason)));
  } catch {
    return `${prefix}a value that cannot be read`;
  }
}

/** Longest text kept of what a host or page gave: errors, and the lines that tell of them, stay small. */
const MAX_REASON_LENGTH = 2000;

/** `text`, cut to `MAX_REASON_LENGTH` and marked `…` where it is longer. */
export const bounded = (text: string): string => (text.length > MAX_REASON_LENGTH ? `${truncate(text, MAX_REASON_LENGTH)}…` : text);

/** Whatever the host rejected with, as a `CifHostError` whose message is `reasonText`'s and whose cause is the host's value. */
export function toError(reason: unknown): Error {
  return new CifHostError(reasonText(reason, 'CIF host rejected the call: '), reason);
}

function describe(reason: unknown): string {
  try {
    const json = JSON.stringify(isMap(reason) ? Object.fromEntries(reason) : reason);
    // JSON writes no string for undefined, functions and symbols, nor a page's replacement always one, and nothing useful for most objects.
    if (typeof json === 'string' && json !== '{}') return json;
  } catch {
    // Falls through to String() for cycles and bigints.
  }
  try {
    return String(reason);
  } catch {
    // Objects without a prototype or with a throwing toString still get a description.
    return Object.prototype.toString.call(reason);
  }
}
