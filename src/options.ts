import { CIF_ATTRIBUTE_PREFIX, SESSION_FIELDS } from './attributes.js';
import { log } from './log.js';
import { pageCifClient, type ReadinessSource } from './readiness.js';
import type { RetryPolicy } from './retry.js';
import { MAX_TIMER_MILLIS } from './timers.js';
import { defaultCorrelationId, defaultEventFilter, defaultEventName, type MappingOptions } from './transform.js';
import type {
  CifAnalyticsClient,
  CifKpiEvent,
  CifReadableSpan,
  CifSession,
  CifTimedEvent,
} from './types.js';
import { MAX_TEXT_LENGTH, isColumnName } from './values.js';
import type { DeliveryOptions } from './delivery.js';

/** Options of `CifSpanExporter`. Every one is optional. */
export interface CifSpanExporterOptions {
  /**
   * The CIF client to call. Pass a fake in tests or outside Dynamics 365.
   * @default globalThis.Microsoft.CIFramework, looked up at each call, so the exporter can be
   * created before the CIF library has loaded; calls wait until CIF is ready (see `ready`).
   */
  client?: CifAnalyticsClient;
  /**
   * Resolves when calls may go to the host, for pages that track CIF readiness themselves (for
   * example after `updateConversation` succeeded). When given, it alone decides. A rejection means
   * CIF will not be ready: waiting and later calls fail at once as `cif_not_loaded`.
   * @default with the default client: ready once the `CIFInitDone` window event has fired, or
   * when `Microsoft.CIFramework` is already on the page at the first call; with an explicit
   * `client`: ready at once.
   */
  ready?: PromiseLike<unknown>;
  /**
   * How long a call waits for CIF to be ready before it fails with "CIF library not loaded",
   * counted in `dropped.cif_not_loaded`.
   * @default 20000
   */
  readyTimeoutMillis?: number;
  /**
   * How long one `logAnalyticsEvent` call may take. A call past it fails, counted in
   * `dropped.timed_out`, and is not retried: the host may still record it. Also bounds how long
   * `shutdown()` waits.
   * @default 15000
   */
  timeoutMillis?: number;
  /**
   * Retries of a call the host rejected or that threw: exponential backoff from
   * `initialBackoffMillis`, doubling, capped at `maxBackoffMillis`, with ±20% jitter. Each field
   * is optional; `maxAttempts: 1` turns retries off.
   * @default { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5000 }
   */
  retry?: CifRetryOptions;
  /**
   * Most calls in flight at once; the rest wait in the queue.
   * @default 8
   */
  maxConcurrentCalls?: number;
  /**
   * Most calls waiting (for CIF, for a free slot, or to retry). A new call beyond it is dropped,
   * counted in `dropped.queue_full`, so memory stays bounded however long the host stalls.
   * @default 1000
   */
  maxQueueSize?: number;
  /**
   * Identity used for any field that neither the span nor the resource carries.
   * @default {}
   */
  session?: CifSession;
  /**
   * Maps existing attribute keys to `customData` columns, so tracing already in place is reused.
   * @default {}
   * @example { 'call.queue': 'msdyn_customattribute1' }
   */
  customAttributes?: Record<string, string>;
  /**
   * The `eventName` argument of each call.
   * @default (kpiEvent) => kpiEvent.kpiEventName
   */
  eventName?: (kpiEvent: CifKpiEvent, span: CifReadableSpan) => string;
  /**
   * Most KPI events per call. Above 1, KPI events of one export batch that share eventName,
   * identity and correlationId go in one call, in timestamp order.
   * @default 1
   */
  maxEventsPerCall?: number;
  /**
   * `'object'` passes the payload as an object (current docs); `'json'` passes
   * `JSON.stringify(payload)`, for hosts built to the docs before 2023.
   * @default 'object'
   */
  dataFormat?: 'object' | 'json';
  /**
   * Which span events become KPI events. Yours replaces the whole default.
   * @default every event except the OpenTelemetry `exception` event and, unless they carry a
   * `cif.` attribute, the network timing events of the web instrumentations (`fetchStart`, ...)
   */
  eventFilter?: (event: CifTimedEvent, span: CifReadableSpan) => boolean;
  /**
   * The `correlationId` argument of each call.
   * @default the span's trace id as a GUID (`traceIdToGuid`)
   */
  correlationId?: (span: CifReadableSpan) => string;
}

/** The `retry` option of `CifSpanExporter`. */
export interface CifRetryOptions {
  /**
   * Attempts per call, the first one included.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * Wait before the first retry; each later wait doubles.
   * @default 250
   */
  initialBackoffMillis?: number;
  /**
   * Longest wait between two attempts.
   * @default 5000
   */
  maxBackoffMillis?: number;
}

/** The options after validation, with every default filled in. */
export interface NormalizedOptions extends MappingOptions, DeliveryOptions {}

export const DEFAULT_OPTIONS = {
  maxEventsPerCall: 1,
  dataFormat: 'object',
  readyTimeoutMillis: 20_000,
  timeoutMillis: 15_000,
  retry: { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5_000 },
  maxConcurrentCalls: 8,
  maxQueueSize: 1_000,
  eventFilter: defaultEventFilter,
  eventName: defaultEventName,
  correlationId: defaultCorrelationId,
} as const satisfies Partial<NormalizedOptions>;

/** Every option name, so that a misspelt one can be pointed at its nearest. */
const OPTION_NAMES = [...Object.keys(DEFAULT_OPTIONS), 'client', 'ready', 'session', 'customAttributes'];

/** Validates the options and fills in defaults; throws a `TypeError` that says what to change. */
export function normalizeOptions(options: CifSpanExporterOptions = {}): NormalizedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object', options);
  warnUnknown(options, OPTION_NAMES, '');
  const { client } = options;
  if (client !== undefined && typeof client?.logAnalyticsEvent !== 'function') {
    fail('client', 'must have a logAnalyticsEvent(data, eventName, correlationId) method', client);
  }
  const maxEventsPerCall = options.maxEventsPerCall ?? DEFAULT_OPTIONS.maxEventsPerCall;
  if (!Number.isInteger(maxEventsPerCall) || maxEventsPerCall < 1) {
    fail('maxEventsPerCall', 'must be a whole number of at least 1', maxEventsPerCall);
  }
  const dataFormat = options.dataFormat ?? DEFAULT_OPTIONS.dataFormat;
  if (dataFormat !== 'object' && dataFormat !== 'json') fail('dataFormat', "must be 'object' or 'json'", dataFormat);
  const { ready } = options;
  if (ready !== undefined && typeof (ready as Partial<PromiseLike<unknown>> | null)?.then !== 'function') {
    fail('ready', 'must be a Promise', ready);
  }
  const readiness: ReadinessSource =
    ready !== undefined ? { kind: 'promise', ready } : client ? { kind: 'client' } : { kind: 'page' };
  return {
    getClient: client ? () => client : pageCifClient,
    readiness,
    readyTimeoutMillis: millis('readyTimeoutMillis', options.readyTimeoutMillis, DEFAULT_OPTIONS.readyTimeoutMillis, 0),
    timeoutMillis: millis('timeoutMillis', options.timeoutMillis, DEFAULT_OPTIONS.timeoutMillis, 1),
    retry: normalizeRetry(options.retry),
    maxConcurrentCalls: count('maxConcurrentCalls', options.maxConcurrentCalls, DEFAULT_OPTIONS.maxConcurrentCalls),
    maxQueueSize: count('maxQueueSize', options.maxQueueSize, DEFAULT_OPTIONS.maxQueueSize),
    session: normalizeSession(options.session),
    customAttributes: normalizeCustomAttributes(options.customAttributes),
    eventFilter: callback('eventFilter', options.eventFilter) ?? DEFAULT_OPTIONS.eventFilter,
    eventName: callback('eventName', options.eventName) ?? DEFAULT_OPTIONS.eventName,
    correlationId: callback('correlationId', options.correlationId) ?? DEFAULT_OPTIONS.correlationId,
    maxEventsPerCall,
    dataFormat,
  };
}

function normalizeRetry(retry: CifRetryOptions | undefined): RetryPolicy {
  const defaults = DEFAULT_OPTIONS.retry;
  if (retry === undefined) return { ...defaults };
  if (typeof retry !== 'object' || retry === null) fail('retry', 'must be an object', retry);
  warnUnknown(retry, Object.keys(DEFAULT_OPTIONS.retry), 'retry.');
  const initialBackoffMillis = millis('retry.initialBackoffMillis', retry.initialBackoffMillis, defaults.initialBackoffMillis, 0);
  const maxBackoffMillis = millis(
    'retry.maxBackoffMillis',
    retry.maxBackoffMillis,
    Math.max(defaults.maxBackoffMillis, initialBackoffMillis),
    0,
  );
  if (maxBackoffMillis < initialBackoffMillis) {
    fail('retry.maxBackoffMillis', `must be at least retry.initialBackoffMillis (${initialBackoffMillis})`, maxBackoffMillis);
  }
  return { maxAttempts: count('retry.maxAttempts', retry.maxAttempts, defaults.maxAttempts), initialBackoffMillis, maxBackoffMillis };
}

function count(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) fail(name, 'must be a whole number of at least 1', n);
  return n;
}

function millis(name: string, value: number | undefined, fallback: number, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > MAX_TIMER_MILLIS) {
    fail(name, `must be a whole number of milliseconds from ${min} to ${MAX_TIMER_MILLIS}`, n);
  }
  return n;
}

export function normalizeSession(
  session: CifSession | undefined,
  name = 'session',
  owner = OPTION_OWNER,
): CifSession {
  if (session === undefined) return {};
  if (typeof session !== 'object' || session === null) fail(name, 'must be an object', session, owner);
  const normalized: CifSession = {};
  for (const field of SESSION_FIELDS) {
    const value = session[field];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') fail(`${name}.${field}`, 'must be a string', value, owner);
    if (value.length > MAX_TEXT_LENGTH) {
      fail(`${name}.${field}`, `must be at most ${MAX_TEXT_LENGTH} characters (its Dataverse column size)`, value, owner);
    }
    normalized[field] = value;
  }
  return normalized;
}

function normalizeCustomAttributes(map: Record<string, string> | undefined): Array<[string, string]> {
  if (map === undefined) return [];
  if (typeof map !== 'object' || map === null) fail('customAttributes', 'must be an object', map);
  return Object.entries(map).map(([key, column]) => {
    if (key.startsWith(CIF_ATTRIBUTE_PREFIX)) {
      fail(`customAttributes['${key}']`, 'must name an attribute outside the cif. namespace', key);
    }
    if (typeof column !== 'string' || !isColumnName(column)) {
      fail(
        `customAttributes['${key}']`,
        'must be a column logical name of msdyn_kpieventdata, such as msdyn_customattribute1',
        column,
      );
    }
    return [key, column];
  });
}

/** A misspelt option would otherwise silently leave its default in place. */
function warnUnknown(options: object, names: readonly string[], prefix: string): void {
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue;
    let nearest = names[0]!;
    for (const name of names) if (editDistance(key, name) < editDistance(key, nearest)) nearest = name;
    log('warn', `${OPTION_OWNER} \`${prefix}${key}\` is unknown and ignored; did you mean \`${prefix}${nearest}\`?`);
  }
}

/** Levenshtein distance, case-insensitive: the fewest one-character edits from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

function callback<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') fail(name, 'must be a function', value);
  return value;
}

const OPTION_OWNER = 'CifSpanExporter: option';

function fail(option: string, rule: string, value: unknown, owner = OPTION_OWNER): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value.slice(0, 120)}'` : String(value);
  } catch {
    shown = typeof value;
  }
  throw new TypeError(`${owner} \`${option}\` ${rule} (got ${shown}).`);
}
