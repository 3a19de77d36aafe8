import type { CifAnalyticsData, CifCall, CifKpiEvent } from '../types.js';
import type { Identity } from './kpi-fields.js';
import type { PendingKpiEvent } from './kpi-events.js';

/**
 * Maps one export batch of any source to `logAnalyticsEvent` calls: `collect` adds the KPI
 * events of one source item. An item is taken whole or not at all, and one that cannot be read
 * (`collect` throws) is counted by `countInvalid` without costing the rest of the batch.
 */
export function collectCalls<S>(
  sources: readonly S[],
  collect: (source: S, out: PendingKpiEvent[]) => void,
  countInvalid: () => void,
  maxEventsPerCall: number,
): CifCall[] {
  const pending: PendingKpiEvent[] = [];
  for (const source of sources) {
    const before = pending.length;
    try {
      collect(source, pending);
    } catch {
      pending.length = before;
      countInvalid();
    }
  }
  pending.sort((a, b) => a.millis - b.millis);
  return maxEventsPerCall === 1 ? pending.map((p) => toCall(p, [p.event])) : groupCalls(pending, maxEventsPerCall);
}

function toCall(first: PendingKpiEvent, events: CifKpiEvent[]): CifCall {
  return {
    data: payload(first.identity, events),
    eventName: first.eventName,
    correlationId: first.correlationId,
  };
}

/** Built field by field: spreading the identity into every payload was the mapping's slowest step. */
function payload(identity: Identity, events: CifKpiEvent[]): CifAnalyticsData {
  // `events` is set last so the payload keeps its field order: the identity, then the events.
  const data = { conversationId: identity.conversationId, providerSessionId: identity.providerSessionId } as CifAnalyticsData;
  if (identity.clientSessionId !== undefined) data.clientSessionId = identity.clientSessionId;
  if (identity.participantId !== undefined) data.participantId = identity.participantId;
  data.events = events;
  return data;
}

/** KPI events sharing eventName, identity and correlationId go together, in time order. */
function groupCalls(pending: readonly PendingKpiEvent[], maxEventsPerCall: number): CifCall[] {
  // Walking the events in time order, a call opens with its first event: the calls stay in
  // time order too, and each group's call in progress takes the group's next events.
  const open = new Map<string, CifKpiEvent[]>();
  const calls: CifCall[] = [];
  for (const p of pending) {
    const key = groupKey(p);
    let events = open.get(key);
    if (events === undefined || events.length === maxEventsPerCall) {
      events = [];
      open.set(key, events);
      calls.push(toCall(p, events));
    }
    events.push(p.event);
  }
  return calls;
}

/** JSON, so that no character inside an id can make two different groups share a key. */
function groupKey(p: PendingKpiEvent): string {
  const { identity: id } = p;
  return JSON.stringify([p.eventName, p.correlationId, id.conversationId, id.providerSessionId, id.clientSessionId, id.participantId]);
}
