import { CIF_ATTRIBUTE_PREFIX, SESSION_FIELDS } from './attributes.js';
import type { CifDelivery } from './delivery/cif-delivery.js';
import type { DeliveryOptions } from './delivery/engine.js';
import { pageCifClient, type ReadinessSource } from './delivery/readiness.js';
import type { RetryPolicy } from './delivery/retry.js';
import { MAX_TIMER_MILLIS } from './delivery/timers.js';
import { log } from './log.js';
import { defaultEventName, type KpiEventOptions } from './mapping/kpi-events.js';
import { defaultCorrelationId, defaultEventFilter } from './mapping/spans.js';
import { MAX_TEXT_LENGTH, isColumnName } from './mapping/values.js';
import type { CifAnalyticsClient, CifKpiEvent, CifReadableSpan, CifSession, CifTimedEvent } from './types.js';

/** Options of `CifDelivery`; an exporter given no `delivery` takes them to make its own. Every one is optional. */
export interface CifDeliveryOptions {
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
   * `'object'` passes the payload as an object (current docs); `'json'` passes
   * `JSON.stringify(payload)`, for hosts built to the docs before 2023.
   * @default 'object'
   */
  dataFormat?: 'object' | 'json';
}

/** Options every exporter takes. Every one is optional. */
export interface CifExporterOptions extends CifDeliveryOptions {
  /**
   * The delivery to send through, shared with other exporters: one readiness wait, one
   * concurrency limit, one queue bound. The delivery options then belong to it, not here.
   * @default a delivery of this exporter's own, made from its delivery options
   * @example const delivery = new CifDelivery(); new CifSpanExporter({ delivery }); new CifLogRecordExporter({ delivery });
   */
  delivery?: CifDelivery;
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
   * Most KPI events per call. Above 1, KPI events of one export batch that share eventName,
   * identity and correlationId go in one call, in timestamp order.
   * @default 1
   */
  maxEventsPerCall?: number;
}

/** Options of `CifSpanExporter`. Every one is optional. */
export interface CifSpanExporterOptions extends CifExporterOptions {
  /**
   * The `eventName` argument of each call.
   * @default (kpiEvent) => kpiEvent.kpiEventName
   */
  eventName?: (kpiEvent: CifKpiEvent, span: CifReadableSpan) => string;
  /**
   * Which span events become KPI events. Yours replaces the whole default.
   * @default every event except, unless the event carries a `cif.` attribute: the OpenTelemetry
   * `exception` event, the network timing events (`fetchStart`, ...), and the events of spans whose
   * instrumentation scope starts `@opentelemetry/instrumentation-` (`open`, `send`, `loaded`, ...)
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
export interface NormalizedOptions<S = CifReadableSpan, F = (event: CifTimedEvent, span: CifReadableSpan) => boolean>
  extends KpiEventOptions<S>,
    DeliveryOptions {
  eventFilter: F;
  /** The shared delivery, when one was given: the delivery options above are then its defaults, unused. */
  delivery: CifDelivery | undefined;
}

/** An exporter's defaults for the callbacks whose arguments depend on its source. */
export interface SourceDefaults<S, F> {
  /** The exporter's class name, for messages. */
  readonly name: string;
  readonly eventFilter: F;
  readonly correlationId: KpiEventOptions<S>['correlationId'];
}

export const SPAN_DEFAULTS: SourceDefaults<CifReadableSpan, NormalizedOptions['eventFilter']> = {
  name: 'CifSpanExporter',
  eventFilter: defaultEventFilter,
  correlationId: defaultCorrelationId,
};

export const DEFAULT_OPTIONS = {
  maxEventsPerCall: 1,
  dataFormat: 'object',
  readyTimeoutMillis: 20_000,
  timeoutMillis: 15_000,
  retry: { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5_000 },
  maxConcurrentCalls: 8,
  maxQueueSize: 1_000,
} as const;

/** Every option name, so that a misspelt one can be pointed at its nearest. After `maxEventsPerCall`, the defaults are delivery's. */
const DELIVERY_OPTION_NAMES = ['client', 'ready', ...Object.keys(DEFAULT_OPTIONS).slice(1)];
const EXPORTER_OPTION_NAMES = [...DELIVERY_OPTION_NAMES, 'delivery', 'session', 'customAttributes', 'maxEventsPerCall', 'eventName', 'eventFilter', 'correlationId'];

/** Whose options are being checked, for messages: set by each entry point, which runs synchronously. */
let owner = '';

/** Validates an exporter's options and fills in defaults; throws a `TypeError` that says what to change. */
export function normalizeOptions<S = CifReadableSpan, F = NormalizedOptions['eventFilter']>(
  options: CifExporterOptions & { eventName?: unknown; eventFilter?: unknown; correlationId?: unknown } = {},
  defaults: SourceDefaults<S, F> = SPAN_DEFAULTS as never,
): NormalizedOptions<S, F> {
  owner = `${defaults.name}: option`;
  checkObject(options, EXPORTER_OPTION_NAMES);
  const { delivery } = options;
  if (delivery !== undefined) {
    for (const name of DELIVERY_OPTION_NAMES) {
      const value = options[name as keyof CifDeliveryOptions];
      if (value !== undefined) fail(name, 'belongs to the CifDelivery passed as `delivery`; set it there', value);
    }
  }
  return {
    ...deliveryOptions(options),
    delivery,
    session: normalizeSession(options.session),
    customAttributes: normalizeCustomAttributes(options.customAttributes),
    eventFilter: callback('eventFilter', options.eventFilter) ?? defaults.eventFilter,
    eventName: callback('eventName', options.eventName) ?? defaultEventName,
    correlationId: callback('correlationId', options.correlationId) ?? defaults.correlationId,
    maxEventsPerCall: count('maxEventsPerCall', options.maxEventsPerCall, DEFAULT_OPTIONS.maxEventsPerCall),
  } as unknown as NormalizedOptions<S, F>;
}

/** Validates the options of a `CifDelivery` and fills in defaults; throws a `TypeError` that says what to change. */
export function normalizeDeliveryOptions(options: CifDeliveryOptions = {}): DeliveryOptions {
  owner = 'CifDelivery: option';
  checkObject(options, DELIVERY_OPTION_NAMES);
  return deliveryOptions(options);
}

function deliveryOptions(options: CifDeliveryOptions): DeliveryOptions {
  const { client, ready } = options;
  if (client !== undefined && typeof client?.logAnalyticsEvent !== 'function') {
    fail('client', 'must have a logAnalyticsEvent(data, eventName, correlationId) method', client);
  }
  const dataFormat = options.dataFormat ?? DEFAULT_OPTIONS.dataFormat;
  if (dataFormat !== 'object' && dataFormat !== 'json') fail('dataFormat', "must be 'object' or 'json'", dataFormat);
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
    dataFormat,
  };
}

function checkObject(options: object, names: readonly string[]): void {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object', options);
  warnUnknown(options, names, '');
}

function normalizeRetry(retry: CifRetryOptions | undefined): RetryPolicy {
  const defaults = DEFAULT_OPTIONS.retry;
  if (retry === undefined) return { ...defaults };
  if (typeof retry !== 'object' || retry === null) fail('retry', 'must be an object', retry);
  warnUnknown(retry, Object.keys(defaults), 'retry.');
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

/** Validates a session; `by` names the caller when it is not an exporter's constructor. */
export function normalizeSession(session: CifSession | undefined, by?: string): CifSession {
  const name = 'session';
  if (by !== undefined) owner = by;
  if (session === undefined) return {};
  if (typeof session !== 'object' || session === null) fail(name, 'must be an object', session);
  const normalized: CifSession = {};
  for (const field of SESSION_FIELDS) {
    const value = session[field];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') fail(`${name}.${field}`, 'must be a string', value);
    if (value.length > MAX_TEXT_LENGTH) {
      fail(`${name}.${field}`, `must be at most ${MAX_TEXT_LENGTH} characters (its Dataverse column size)`, value);
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
    if (EXPORTER_OPTION_NAMES.includes(key)) {
      log('warn', `${owner} \`${key}\` is an option of the exporters, not of CifDelivery, and is ignored here.`);
      continue;
    }
    let nearest = names[0]!;
    for (const name of names) if (editDistance(key, name) < editDistance(key, nearest)) nearest = name;
    log('warn', `${owner} \`${prefix}${key}\` is unknown and ignored; did you mean \`${prefix}${nearest}\`?`);
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

function fail(option: string, rule: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value.slice(0, 120)}'` : String(value);
  } catch {
    shown = typeof value;
  }
  throw new TypeError(`${owner} \`${option}\` ${rule} (got ${shown}).`);
}
