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

/** A call found `maxQueueSize` calls already waiting and was dropped. */
export class CifQueueFullError extends Error {
  constructor(maxQueueSize: number) {
    super(`delivery queue full: ${maxQueueSize} calls already waiting (maxQueueSize)`);
    this.name = 'CifQueueFullError';
  }
}

/** A call came after `shutdown()`, or had not settled when shutdown stopped waiting. */
export class CifShutdownError extends Error {
  constructor(message = 'CifSpanExporter is shut down') {
    super(message);
    this.name = 'CifShutdownError';
  }
}

/**
 * Whatever the host rejected with, as an `Error` with a readable message. Old CIF builds
 * reject with a `Map` holding `message`; others with strings or plain objects.
 */
export function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const message = messageOf(reason);
  const error = new Error(message === undefined ? `CIF host rejected the call: ${describe(reason)}` : message);
  error.name = 'CifHostError';
  return error;
}

function messageOf(reason: unknown): string | undefined {
  if (typeof reason === 'string') return reason === '' ? undefined : reason;
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
