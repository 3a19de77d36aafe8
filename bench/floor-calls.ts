/** The floor's mapper: the calls of the bench's spans, written by hand (no Node APIs, so a bench page bundles it too). */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CifAnalyticsData, CifKpiEvent } from '../src/index.js';
import type { CifCall } from '../src/types.js';

/**
 * The calls of this workload's spans, written by hand for them: what a mapper that knows its
 * input must do at least. `checkFloor` proves it builds the same payloads as the exporter.
 */
export function handWrittenCalls(spans: readonly ReadableSpan[]): CifCall[] {
  const calls: CifCall[] = [];
  for (const span of spans) {
    const attributes = span.attributes as Record<string, string>;
    const traceId = span.spanContext().traceId;
    const correlationId = `${traceId.slice(0, 8)}-${traceId.slice(8, 12)}-${traceId.slice(12, 16)}-${traceId.slice(16, 20)}-${traceId.slice(20)}`;
    for (const spanEvent of span.events) {
      const eventAttributes = spanEvent.attributes as Record<string, string | undefined>;
      const event: CifKpiEvent = {
        kpiEventName: spanEvent.name,
        eventTimestamp: isoTimestamp(spanEvent.time[0] * 1000 + Math.floor(spanEvent.time[1] / 1e6)),
        kpiEventReason: attributes['cif.kpi.reason'],
        additionalData: eventAttributes['cif.kpi.additional_data'],
      };
      const action = eventAttributes['cif.kpi.notification_response_action'];
      if (action !== undefined) event.notificationResponseAction = action;
      event.externalCorrelationId = eventAttributes['cif.kpi.external_correlation_id'];
      event.customData = [{ attribute: 'msdyn_customattribute1', value: attributes['cif.kpi.custom.msdyn_customattribute1']! }];
      const hold = eventAttributes['cif.kpi.custom.msdyn_customattribute3'];
      if (hold !== undefined) event.customData.push({ attribute: 'msdyn_customattribute3', value: hold });
      const data: CifAnalyticsData = {
        conversationId: attributes['cif.conversation.id']!,
        providerSessionId: attributes['cif.provider_session.id']!,
        clientSessionId: attributes['cif.client_session.id']!,
        participantId: span.resource.attributes['cif.participant.id'] as string,
        events: [event],
      };
      calls.push({ data, eventName: spanEvent.name, correlationId });
    }
  }
  return calls;
}

let minute = Number.NaN;
let prefix = '';

/**
 * `Date#toISOString` for times after 1970, asking `Date` once per minute seen, as the library does:
 * a `Date` per KPI event costs more than the rest of a payload.
 */
function isoTimestamp(millis: number): string {
  const sinceMinute = millis % 60_000;
  if (millis - sinceMinute !== minute) {
    minute = millis - sinceMinute;
    prefix = new Date(minute).toISOString().slice(0, 17);
  }
  const seconds = Math.floor(sinceMinute / 1000);
  const ms = sinceMinute % 1000;
  return `${prefix}${seconds < 10 ? '0' : ''}${seconds}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
