/** How a call ended, counted in the stats: delivered, kept in the outbox for a later page, or dropped for a reason. */
import { log } from '../log.js';
import type { CifDeliveryStats, DeliveryDropReason } from '../stats.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { countSettled, type Batch } from './report.js';

/** What a user can do about each delivery drop reason, said in its one warning. */
const FIXES: Readonly<Record<DeliveryDropReason, string>> = {
  cif_not_loaded: 'Load msdyn_ciLibrary.js and create the exporter early, so it hears CIFInitDone; outside a window pass a `client`.',
  host_error: 'The channel provider must be active and the call made from its widget iframe.',
  timed_out: 'The host is not answering; the host may still record these.',
  queue_full: 'Raise maxQueueSize, or find why the host stalls.',
  after_shutdown: 'Export before shutdown(), or give shutdown longer (timeoutMillis).',
  no_timer: "The page's setTimeout must work for calls to be timed.",
};

/**
 * Counts how a call of `events` KPI events ended: delivered when `error` is undefined, else kept
 * when the outbox still holds its `entry` for a later page, else dropped for `reason`, which is
 * warned about once per delivery. `name`, the call's event name, says a DEBUG line for a drop.
 */
export type CountEnd = (events: number, batch: Batch, entry: OutboxEntry | undefined, error?: Error, reason?: DeliveryDropReason, name?: string) => void;

export function createCountEnd(stats: CifDeliveryStats, outbox: Outbox | undefined): CountEnd {
  /** The drop reasons warned about, each once per delivery. */
  const warned = new Set<DeliveryDropReason>();
  return (events, batch, entry, error, reason, name) => {
    if (!error) stats.kpiEventsDelivered += events;
    else if (entry && outbox!.holds(entry)) {
      stats.kpiEventsKept += events;
      log('debug', `call '${entry.call.eventName}' kept in the outbox for a later page: ${error.message}`);
    } else {
      if (name !== undefined) log('debug', `call '${name}' given up as ${reason}: ${error.message}`);
      stats.callsFailed++;
      stats.dropped[reason!] += events;
      if (!warned.has(reason!)) {
        warned.add(reason!);
        log('warn', `KPI events dropped: ${error.message}. ${FIXES[reason!]} Counted in getStats().dropped.${reason}; shown once.`);
      }
    }
    countSettled(batch, error);
  };
}
