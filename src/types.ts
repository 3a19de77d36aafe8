import type { Attributes, HrTime, SpanContext } from '@opentelemetry/api';

/** One `customData` item: `attribute` is a column logical name of `msdyn_kpieventdata`. */
export interface CifCustomData {
  attribute: string;
  value: string;
}

/** One KPI event of a `logAnalyticsEvent` payload. Absent fields are omitted. */
export interface CifKpiEvent {
  kpiEventName: string;
  kpiEventReason?: string;
  /** ISO 8601 UTC with milliseconds, e.g. `2026-11-25T10:15:30.123Z`. */
  eventTimestamp: string;
  additionalData?: string;
  notificationResponseAction?: string;
  externalCorrelationId?: string;
  customData?: CifCustomData[];
}

/** The `data` argument of `Microsoft.CIFramework.logAnalyticsEvent`. */
export interface CifAnalyticsData {
  conversationId: string;
  providerSessionId: string;
  clientSessionId?: string;
  participantId?: string;
  events: CifKpiEvent[];
}

/** The part of `Microsoft.CIFramework` this exporter calls. */
export interface CifAnalyticsClient {
  logAnalyticsEvent(
    data: CifAnalyticsData | string,
    eventName: string,
    correlationId?: string,
  ): Promise<string>;
}

/** Who a KPI event belongs to. Every field is optional; the identity rules are in docs/mapping.md. */
export interface CifSession {
  conversationId?: string | undefined;
  providerSessionId?: string | undefined;
  clientSessionId?: string | undefined;
  participantId?: string | undefined;
}

/** One `logAnalyticsEvent` call, as the mapping produces it. */
export interface CifCall {
  data: CifAnalyticsData;
  eventName: string;
  correlationId: string;
}

/**
 * The parts of a finished span the exporter reads. The SDK's `ReadableSpan` (2.x and 3.x)
 * satisfies it; declaring it here keeps the SDK out of this package's type surface.
 */
export interface CifReadableSpan {
  readonly name: string;
  readonly attributes: Attributes;
  readonly events: readonly CifTimedEvent[];
  readonly endTime: HrTime;
  readonly resource: { readonly attributes: Attributes };
  /** Who made the span; the default `eventFilter` leaves out the events of instrumentation libraries. */
  readonly instrumentationScope?: { readonly name: string };
  spanContext(): SpanContext;
}

/** A span event as the SDK records it. */
export interface CifTimedEvent {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes?: Attributes;
}

/**
 * The parts of an exported log record the exporter reads. The SDK's `ReadableLogRecord`
 * (`@opentelemetry/sdk-logs` 0.2xx and 3.x) satisfies it. The `body` is never read.
 */
export interface CifReadableLogRecord {
  readonly eventName?: string;
  readonly hrTime: HrTime;
  readonly hrTimeObserved: HrTime;
  readonly spanContext?: SpanContext;
  readonly attributes: { readonly [key: string]: unknown };
  readonly resource: { readonly attributes: Attributes };
  /** Who emitted the record; the default `eventFilter` leaves out the events of instrumentation libraries. */
  readonly instrumentationScope?: { readonly name: string };
}
