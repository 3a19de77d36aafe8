/** The default client was needed but `Microsoft.CIFramework` is not on the page. */
export class CifNotLoadedError extends Error {
  constructor(message = 'CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page') {
    super(message);
    this.name = 'CifNotLoadedError';
  }
}

/** The host did not answer a call within `timeoutMillis`; it may still have recorded it. */
export class CifTimeoutError extends Error {
  constructor(millis: number) {
    super(`logAnalyticsEvent did not answer within ${millis} ms (timeoutMillis); not retried, the host may still record it`);
    this.name = 'CifTimeoutError';
  }
}

/** A call found `maxQueueSize` KPI events already pending (waiting or in flight) and was dropped. */
export class CifQueueFullError extends Error {
  constructor(maxQueueSize: number) {
    super(`delivery queue full: ${maxQueueSize} KPI events already pending (maxQueueSize)`);
    this.name = 'CifQueueFullError';
  }
}

/** A call came after `shutdown()`, or had not settled when shutdown stopped waiting. */
export class CifShutdownError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CifShutdownError';
  }
}

/**
 * The host rejected a call, or `logAnalyticsEvent` threw: with an `Error`, a `Map` (old CIF
 * builds), a string, an object, or a value that cannot be read. `message` is a string read once
 * from what the host gave, or a description of it; `cause` is what the host gave.
 */
export class CifHostError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'CifHostError';
  }
}

/** The page's `setTimeout` threw, so a call's deadline could not be kept and the call was given up. */
export class CifTimerError extends Error {
  constructor(reason: unknown) {
    super(`setTimeout threw (${toError(reason).message}), so calls cannot be timed: given up`);
    this.name = 'CifTimerError';
  }
}

/**
 * The `error` of a failed export result: `message` says how many calls failed and why; `errors`
 * holds the errors behind it, one per distinct message, at most three, each one of the classes
 * above or the host's own `Error`.
 */
export class CifExportError extends Error {
  constructor(
    message: string,
    readonly errors: readonly Error[],
  ) {
    super(message);
    this.name = 'CifExportError';
  }
}

const REJECTED = 'CIF host rejected the call';

/**
 * Whatever the host rejected with, as a `CifHostError` whose message is a plain string, read once:
 * the message of an `Error`, of a `Map` (old CIF builds) or object holding one, a string, else a
 * description. The host's value may be a proxy whose getters throw or answer differently each
 * time, so nothing reads it after this. Never throws.
 */
export function toError(reason: unknown): Error {
  try {
    const message = messageOf(reason);
    if (message !== undefined) return new CifHostError(message, reason);
    if (reason instanceof Error) return new CifHostError(`${REJECTED}: ${String(reason.name)} with no message`, reason);
    return new CifHostError(`${REJECTED}: ${describe(reason)}`, reason);
  } catch {
    return new CifHostError(`${REJECTED} with a value that cannot be read`, reason);
  }
}

function messageOf(reason: unknown): string | undefined {
  if (typeof reason === 'string') return nonEmpty(reason);
  if (reason instanceof Map) return nonEmpty(reason.get('message'));
  if (typeof reason === 'object' && reason !== null && 'message' in reason) return nonEmpty(reason.message);
  return undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function describe(reason: unknown): string {
  try {
    const json = JSON.stringify(reason instanceof Map ? Object.fromEntries(reason) : reason);
    if (json !== undefined && json !== '{}') return json;
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
