import { check, count, isRecord, millis, type Check, type OptionTable } from '../validate.js';
import type { CifAnalyticsClient } from '../types.js';
import { OUTBOX_DEFAULTS, type OutboxOptions } from './outbox.js';
import { pageCifClient, type ReadinessSource } from './readiness.js';
import type { RetryPolicy } from './retry.js';

/** Options of `CifDelivery`; an exporter given no `delivery` takes them to make its own. Every one is optional. */
export interface CifDeliveryOptions {
  /**
   * The CIF client to call. Pass a fake in tests or outside Dynamics 365.
   * @default globalThis.Microsoft.CIFramework, looked up at each call, so the exporter can be
   * created before the CIF library has loaded; calls wait until CIF is ready (see `ready`).
   */
  client?: CifAnalyticsClient | undefined;
  /**
   * Resolves when calls may go to the host, for pages that track CIF readiness themselves (for
   * example after `updateConversation` succeeded). When given, it alone decides. A rejection means
   * CIF will not be ready: waiting and later calls fail at once as `cif_not_loaded`.
   * @default with the default client: ready once the `CIFInitDone` window event has fired, or
   * when `Microsoft.CIFramework.logAnalyticsEvent` is already on the page at the first call; with an explicit
   * `client`: ready at once.
   */
  ready?: PromiseLike<unknown> | undefined;
  /**
   * How long a call waits for CIF to be ready before it fails with "CIF library not loaded",
   * counted in `dropped.cif_not_loaded`, or, when the outbox holds it, is kept for a later page
   * (`kpiEventsKept`), warned about once.
   * @default 20000
   */
  readyTimeoutMillis?: number | undefined;
  /**
   * How long one `logAnalyticsEvent` call may take. A call past it fails, counted in
   * `dropped.timed_out`, and is not retried: the host may still record it. Also bounds how long
   * `shutdown()` waits.
   * @default 15000
   */
  timeoutMillis?: number | undefined;
  /**
   * Retries of a call the host rejected or that threw: exponential backoff from
   * `initialBackoffMillis`, doubling, capped at `maxBackoffMillis`, with ±20% jitter. Each field
   * is optional; `maxAttempts: 1` turns retries off.
   * @default { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5000 }
   */
  retry?: CifRetryOptions | undefined;
  /**
   * Most calls in flight at once; the rest wait in the queue.
   * @default 8
   */
  maxConcurrentCalls?: number | undefined;
  /**
   * Most KPI events of this page pending (waiting for CIF, a free slot or a retry, or in flight;
   * those earlier pages left in the outbox come on top). A call that finds this many is dropped,
   * counted in `dropped.queue_full`, so memory stays bounded however long the host stalls. The default holds what the
   * default batch processors hand over at once as the page hides while a batch of each waits: 2560 spans at 4 KPI
   * events a span, and 2560 log records.
   * @default 12800
   */
  maxQueueSize?: number | undefined;
  /**
   * `'object'` passes the payload as an object (current docs); `'json'` passes
   * `JSON.stringify(payload)`, for hosts built to the docs before 2023.
   * @default 'object'
   */
  dataFormat?: 'object' | 'json' | undefined;
  /**
   * Keeps every call not yet handed to the host in web storage, so that the next page of the
   * widget sends what a reload, a crash or a closed tab left (docs/page-lifecycle.md). `false`
   * turns it off; an object sets where and how much it keeps.
   * @default on where `localStorage` and `navigator.locks` work (a browser page over https or
   * localhost) and, in a frame, `location.ancestorOrigins` or a `name` tells the top page; off
   * elsewhere; `name`: the page's path (after the top page's origin in a frame), `maxBytes: 2097152`, `maxAgeMillis: 604800000`
   */
  outbox?: false | CifOutboxOptions | undefined;
}

/** The `outbox` option of `CifDelivery` and the exporters. */
export type CifOutboxOptions = OutboxOptions;

/** The `retry` option of `CifDelivery` and the exporters. */
export interface CifRetryOptions {
  /**
   * Attempts per call, the first one included.
   * @default 3
   */
  maxAttempts?: number | undefined;
  /**
   * Wait before the first retry; each later wait doubles.
   * @default 250
   */
  initialBackoffMillis?: number | undefined;
  /**
   * Longest wait between two attempts.
   * @default 5000, or `initialBackoffMillis` if larger
   */
  maxBackoffMillis?: number | undefined;
}

/** What the engine needs, validated, every default filled in; `client` and `ready` as given, which decide readiness. */
export interface DeliveryOptions extends ReadinessSource {
  getClient: () => CifAnalyticsClient | undefined;
  dataFormat: 'object' | 'json';
  readyTimeoutMillis: number;
  timeoutMillis: number;
  retry: RetryPolicy;
  maxConcurrentCalls: number;
  maxQueueSize: number;
  /** `store: false` when turned off. */
  outbox: OutboxOptions;
  /** Source of backoff jitter; `Math.random` unless pinned. */
  random?: () => number;
  /** The monotonic clock every deadline is taken on; `performance.now()` unless pinned. */
  now?: () => number;
}

/** Every option of `CifDelivery`: its default and its rule. */
export const DELIVERY_OPTIONS: OptionTable = {
  client: [undefined, (client?: CifAnalyticsClient) => typeof client?.logAnalyticsEvent === 'function', 'must have a logAnalyticsEvent method'],
  ready: [undefined, (ready?: PromiseLike<unknown>) => typeof ready?.then === 'function', 'must be a Promise'],
  dataFormat: ['object', (format) => format === 'object' || format === 'json', "must be 'object' or 'json'"],
  readyTimeoutMillis: millis(20_000, 0),
  timeoutMillis: millis(15_000, 1),
  retry: (retry: CifRetryOptions | undefined, c): RetryPolicy => {
    // maxBackoffMillis has no default here: left out, it is 5000 or initialBackoffMillis if larger.
    const policy = c.options<RetryPolicy>({ maxAttempts: count(3), initialBackoffMillis: millis(250, 0), maxBackoffMillis: millis(undefined, 0) }, retry, 'retry.');
    const { initialBackoffMillis, maxBackoffMillis } = policy;
    if (maxBackoffMillis < initialBackoffMillis) c.fail('retry.maxBackoffMillis', `must be at least initialBackoffMillis (${initialBackoffMillis})`, maxBackoffMillis);
    policy.maxBackoffMillis ??= Math.max(5_000, initialBackoffMillis);
    return policy;
  },
  maxConcurrentCalls: count(8),
  maxQueueSize: count(12_800),
  outbox: (outbox: false | CifOutboxOptions | undefined, c) => {
    if (outbox === false) return { store: false };
    // Checked here, as the object check of c.options() would leave out that `false` is taken too.
    if (outbox !== undefined && !isRecord(outbox)) c.fail('outbox', 'must be false or an object', outbox);
    return c.options(
      {
        store: [undefined, (store?: false | Storage) => store === false || typeof store?.getItem === 'function', 'must be false or a Storage such as localStorage'],
        name: [undefined, (name) => typeof name === 'string', 'must be a string'],
        maxBytes: count(OUTBOX_DEFAULTS.maxBytes),
        maxAgeMillis: count(OUTBOX_DEFAULTS.maxAgeMillis),
      },
      outbox,
      'outbox.',
    );
  },
};

/** The name of an option only exporters take; the exporters' table of them (src/options.ts) is typed by it. */
export type ExporterOnlyOption = 'delivery' | 'session' | 'customAttributes' | 'maxEventsPerCall' | 'eventName' | 'eventFilter' | 'correlationId';

/** Every default of `CifDelivery`. */
export const DELIVERY_DEFAULTS: Omit<DeliveryOptions, 'getClient'> = /* @__PURE__ */ check('').options(DELIVERY_OPTIONS, {});

/**
 * Validates `options` by `table` (the delivery options, and maybe others) and fills in defaults,
 * with the client lookup they make.
 */
export function deliveryOptions<T = unknown>(
  options: unknown,
  c: Check,
  table: OptionTable,
  elsewhere?: readonly string[],
): DeliveryOptions & T {
  const normalized = c.options<CifDeliveryOptions & DeliveryOptions & T>(table, options, '', elsewhere);
  const { client } = normalized;
  normalized.getClient = client ? () => client : pageCifClient;
  return normalized;
}
