import { check, type Check } from '../validate.js';
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
   * Most KPI events pending (waiting for CIF, a free slot or a retry, or in flight). A call that
   * finds this many is dropped, counted in `dropped.queue_full`, so memory stays bounded however
   * long the host stalls. The default holds a `BatchSpanProcessor`'s whole default queue (2048
   * spans) at 4 KPI events a span.
   * @default 10000
   */
  maxQueueSize?: number;
  /**
   * `'object'` passes the payload as an object (current docs); `'json'` passes
   * `JSON.stringify(payload)`, for hosts built to the docs before 2023.
   * @default 'object'
   */
  dataFormat?: 'object' | 'json';
  /**
   * Keeps every call not yet handed to the host in web storage, so that the next page of the
   * widget sends what a reload, a crash or a closed tab left (docs/page-lifecycle.md). `false`
   * turns it off; an object sets where and how much it keeps.
   * @default on where `localStorage` and `navigator.locks` work (a browser page over https or
   * localhost), off elsewhere; `name`: the page's path (after the top page's origin in a frame), `maxBytes: 1048576`, `maxAgeMillis: 604800000`
   */
  outbox?: false | CifOutboxOptions;
}

/** The `outbox` option of `CifDelivery` and the exporters. */
export type CifOutboxOptions = OutboxOptions;

/** The `retry` option of `CifDelivery` and the exporters. */
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

/** What the engine needs, validated, every default filled in. */
export interface DeliveryOptions {
  getClient: () => CifAnalyticsClient | undefined;
  readiness: ReadinessSource;
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

export const DELIVERY_DEFAULTS = {
  dataFormat: 'object',
  readyTimeoutMillis: 20_000,
  timeoutMillis: 15_000,
  retry: { maxAttempts: 3, initialBackoffMillis: 250, maxBackoffMillis: 5_000 },
  maxConcurrentCalls: 8,
  maxQueueSize: 10_000,
} as const;

export const DELIVERY_OPTION_NAMES = ['client', 'ready', 'outbox', ...Object.keys(DELIVERY_DEFAULTS)];
/** The options only exporters take, so that `CifDelivery` can say where one given to it belongs. */
export const EXPORTER_ONLY_OPTION_NAMES = ['delivery', 'session', 'customAttributes', 'maxEventsPerCall', 'eventName', 'eventFilter', 'correlationId'];

/** Validates the options of a `CifDelivery` and fills in defaults; throws a `TypeError` that says what to change. */
export function normalizeDeliveryOptions(options: CifDeliveryOptions = {}): DeliveryOptions {
  const c = check('CifDelivery: option');
  c.object('options', options, DELIVERY_OPTION_NAMES, '', EXPORTER_ONLY_OPTION_NAMES);
  return deliveryOptions(options, c);
}

/** The delivery options among `options`, already checked to be an object, validated by `c`. */
export function deliveryOptions(options: CifDeliveryOptions, c: Check): DeliveryOptions {
  const { client, ready, dataFormat = DELIVERY_DEFAULTS.dataFormat } = options;
  if (client !== undefined && typeof client?.logAnalyticsEvent !== 'function') {
    c.fail('client', 'must have a logAnalyticsEvent(data, eventName, correlationId) method', client);
  }
  if (dataFormat !== 'object' && dataFormat !== 'json') c.fail('dataFormat', "must be 'object' or 'json'", dataFormat);
  if (ready !== undefined && typeof (ready as Partial<PromiseLike<unknown>> | null)?.then !== 'function') {
    c.fail('ready', 'must be a Promise', ready);
  }
  return {
    getClient: client ? () => client : pageCifClient,
    readiness: ready !== undefined ? { kind: 'promise', ready } : client ? { kind: 'client' } : { kind: 'page' },
    readyTimeoutMillis: c.millis('readyTimeoutMillis', options.readyTimeoutMillis, DELIVERY_DEFAULTS.readyTimeoutMillis, 0),
    timeoutMillis: c.millis('timeoutMillis', options.timeoutMillis, DELIVERY_DEFAULTS.timeoutMillis, 1),
    retry: retryPolicy(options.retry, c),
    maxConcurrentCalls: c.count('maxConcurrentCalls', options.maxConcurrentCalls, DELIVERY_DEFAULTS.maxConcurrentCalls),
    maxQueueSize: c.count('maxQueueSize', options.maxQueueSize, DELIVERY_DEFAULTS.maxQueueSize),
    dataFormat,
    outbox: outboxOptions(options.outbox, c),
  };
}

function outboxOptions(outbox: false | CifOutboxOptions | undefined, c: Check): OutboxOptions {
  if (outbox === false) return { store: false };
  if (outbox === undefined) return { ...OUTBOX_DEFAULTS };
  c.object('outbox', outbox, ['store', 'name', ...Object.keys(OUTBOX_DEFAULTS)], 'outbox.');
  const { store, name } = outbox;
  if (store !== undefined && store !== false && typeof store?.getItem !== 'function') {
    c.fail('outbox.store', 'must be false or a Web Storage object such as localStorage', store);
  }
  if (name !== undefined && typeof name !== 'string') c.fail('outbox.name', 'must be a string', name);
  return {
    store,
    name,
    maxBytes: c.count('outbox.maxBytes', outbox.maxBytes, OUTBOX_DEFAULTS.maxBytes),
    maxAgeMillis: c.count('outbox.maxAgeMillis', outbox.maxAgeMillis, OUTBOX_DEFAULTS.maxAgeMillis),
  };
}

function retryPolicy(retry: CifRetryOptions | undefined, c: Check): RetryPolicy {
  const defaults = DELIVERY_DEFAULTS.retry;
  if (retry === undefined) return { ...defaults };
  c.object('retry', retry, Object.keys(defaults), 'retry.');
  const initialBackoffMillis = c.millis('retry.initialBackoffMillis', retry.initialBackoffMillis, defaults.initialBackoffMillis, 0);
  const maxBackoffMillis = c.millis('retry.maxBackoffMillis', retry.maxBackoffMillis, Math.max(defaults.maxBackoffMillis, initialBackoffMillis), 0);
  if (maxBackoffMillis < initialBackoffMillis) {
    c.fail('retry.maxBackoffMillis', `must be at least retry.initialBackoffMillis (${initialBackoffMillis})`, maxBackoffMillis);
  }
  return { maxAttempts: c.count('retry.maxAttempts', retry.maxAttempts, defaults.maxAttempts), initialBackoffMillis, maxBackoffMillis };
}
