import type { CifMappingStats } from '../stats.js';
import type { CifCall } from '../types.js';
import type { KpiEventOptions, MappingWarn, PendingCall } from './kpi-events.js';

/** Where the mapping of a batch in parts stands: the next source item to map, and the KPI events a part stops at. */
export interface Cursor {
  at: number;
  limit: number;
}

/**
 * Maps one export batch of any source to `logAnalyticsEvent` calls: `collect` adds the calls of
 * one source item, one per KPI event. An item is taken whole or not at all, and one that cannot
 * be read (`collect` throws) is counted in `dropped[invalid]` without costing the rest of the batch.
 * With `maxEventsPerCall` above 1, KPI events sharing eventName, identity and correlationId go
 * together, in time order: walking them in that order, a call opens with its first KPI event, so
 * the calls stay in time order too, and each group's call in progress takes the group's next ones.
 * With a `cursor`, it maps one part of `sources` (which it does not copy): from `cursor.at`, until
 * `cursor.limit` KPI events or more are collected, and moves `cursor.at` past what it mapped.
 */
export function collectCalls<S, O extends KpiEventOptions<S>, R extends string, M extends CifMappingStats<R>>(
  sources: readonly S[],
  collect: (source: S, options: O, stats: M, out: PendingCall[], warn: MappingWarn | undefined) => void,
  invalid: R,
  options: O,
  stats: M,
  warn: MappingWarn | undefined,
  cursor?: Cursor,
): CifCall[] {
  const { maxEventsPerCall } = options;
  const pending: PendingCall[] = [];
  // Copied first: a batch whose iteration throws part way is refused whole, not half counted.
  const batch = cursor ? sources : [...sources];
  let at = cursor?.at ?? 0;
  while (at < batch.length && pending.length < (cursor?.limit ?? Infinity)) {
    const before = pending.length;
    try {
      collect(batch[at++]!, options, stats, pending, warn);
    } catch {
      pending.length = before;
      stats.dropped[invalid]++;
    }
  }
  if (cursor) cursor.at = at;
  // Most batches come in time order: sorted only when not, as a sort calls its comparator for every pair it walks.
  if (pending.some((call, i) => i && call[0] < pending[i - 1]![0])) pending.sort((a, b) => a[0] - b[0]);
  const calls: CifCall[] = [];
  const open = new Map<string, CifCall>();
  for (const [, call] of pending) {
    if (maxEventsPerCall > 1) {
      const { data } = call;
      // Each part after its length, so that no character inside an id can make two different groups share a key; no
      // JSON, which a page library may have replaced.
      const key = [call.eventName, call.correlationId, data.conversationId, data.providerSessionId, data.clientSessionId, data.participantId]
        .map((part) => `${part?.length}:${part}`)
        .join();
      const events = open.get(key)?.data.events;
      if (events && events.length < maxEventsPerCall) {
        events.push(data.events[0]!);
        continue;
      }
      open.set(key, call);
    }
    calls.push(call);
  }
  return calls;
}
