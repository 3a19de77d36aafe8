import { createDeliveryStats, type CifDeliveryStats } from '../stats.js';
import { check } from '../validate.js';
import { createDelivery, type DeliveryEngine } from './engine.js';
import { createOutbox } from './outbox.js';
import { EXPORTER_ONLY_OPTIONS, deliveries } from '../options.js';
import { DELIVERY_OPTIONS, deliveryOptions, type CifDeliveryOptions, type DeliveryOptions } from './options.js';

/** A delivery and the exporters that send through it. */
export interface SharedDelivery {
  readonly engine: DeliveryEngine;
  readonly stats: CifDeliveryStats;
  readonly timeoutMillis: number;
  /** Its `maxConcurrentCalls`: the calls it hands to the host at once. */
  readonly slots: number;
  /** Whether it has an outbox, which writes each call that waits for the host. */
  readonly outbox: boolean;
  /** Exporters given it that are not shut down: the last one to shut down shuts it down. */
  users: number;
}

/**
 * The way to CIF of the exporters given it: one readiness wait, one concurrency limit, one queue
 * bound, one outbox, and one set of delivery counters, which each exporter's `getStats()` shows. Pass one to
 * both `CifSpanExporter` and `CifLogRecordExporter` when a page uses both; an exporter given none
 * makes its own. It shuts down when the last exporter given it shuts down, and stays shut down.
 * @example
 * const delivery = new CifDelivery({ maxQueueSize: 500 });
 * new CifSpanExporter({ delivery });
 * new CifLogRecordExporter({ delivery });
 */
export class CifDelivery {
  /** Throws a `TypeError` when an option is invalid. */
  constructor(options?: CifDeliveryOptions) {
    // Naming the exporters' options tells a user who gave one here where it belongs.
    deliveries.set(this, createSharedDelivery(deliveryOptions(options, check('CifDelivery: option'), DELIVERY_OPTIONS, Object.keys(EXPORTER_ONLY_OPTIONS))));
  }
}

/** The delivery behind a `CifDelivery`, or of an exporter given none, from validated delivery options. */
export function createSharedDelivery(options: DeliveryOptions): SharedDelivery {
  const stats = createDeliveryStats();
  const outbox = createOutbox(options.outbox, stats.outbox);
  return { engine: createDelivery(options, stats, outbox), stats, timeoutMillis: options.timeoutMillis, slots: options.maxConcurrentCalls, outbox: !!outbox, users: 0 };
}
