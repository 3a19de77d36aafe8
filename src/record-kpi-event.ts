import { type Attributes, type Span, type TimeInput } from '@opentelemetry/api';
import {
  ATTR_CIF_KPI_ADDITIONAL_DATA,
  ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID,
  ATTR_CIF_KPI_NAME,
  ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION,
  ATTR_CIF_KPI_REASON,
  CIF_KPI_CUSTOM_PREFIX,
} from './attributes.js';
import { log } from './log.js';

/** The optional fields of a KPI event recorded with `recordKpiEvent`. */
export interface CifKpiEventDetails {
  /** `kpiEventReason`. */
  reason?: string;
  /** `additionalData`, up to 2000 characters; JSON text is common. */
  additionalData?: string;
  /** `notificationResponseAction`: `'accepted'`, `'rejected'` or a value of your own. */
  notificationResponseAction?: 'accepted' | 'rejected' | (string & {});
  /** `externalCorrelationId`: the id of this event in the provider's own system. */
  externalCorrelationId?: string;
  /**
   * `customData`, by column logical name of `msdyn_kpieventdata`.
   * @example { msdyn_customattribute1: 'billing' }
   */
  customData?: Record<string, string | number | boolean>;
}

const DETAIL_ATTRIBUTES = [
  ['reason', ATTR_CIF_KPI_REASON],
  ['additionalData', ATTR_CIF_KPI_ADDITIONAL_DATA],
  ['notificationResponseAction', ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION],
  ['externalCorrelationId', ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID],
] as const;

/**
 * Records the KPI event `name` on `span` as a span event carrying `cif.kpi.name` and the
 * `cif.kpi.*` attributes of `details`; `CifSpanExporter` sends it when the span ends.
 * `time` defaults to now. With no span (`trace.getActiveSpan()` outside any span) nothing is
 * recorded and a `diag.warn` says so. Never throws.
 * @example recordKpiEvent(span, 'CallAccepted', { notificationResponseAction: 'accepted' });
 */
export function recordKpiEvent(
  span: Span | undefined,
  name: string,
  details?: CifKpiEventDetails,
  time?: TimeInput,
): void {
  if (typeof span?.addEvent !== 'function') {
    log('warn', `KPI event '${String(name)}' not recorded: there is no span to record it on.`);
    return;
  }
  try {
    span.addEvent(name, kpiEventAttributes(name, details), time);
  } catch (error) {
    log('error', `KPI event '${String(name)}' not recorded`, error);
  }
}

/** The span event attributes of one KPI event. */
function kpiEventAttributes(name: string, details: CifKpiEventDetails = {}): Attributes {
  const attributes: Attributes = { [ATTR_CIF_KPI_NAME]: name };
  if (typeof details !== 'object' || details === null) return attributes;
  for (const [field, key] of DETAIL_ATTRIBUTES) {
    const value = details[field];
    if (value !== undefined) attributes[key] = value;
  }
  if (typeof details.customData === 'object' && details.customData !== null) {
    for (const [column, value] of Object.entries(details.customData)) {
      attributes[CIF_KPI_CUSTOM_PREFIX + column] = value;
    }
  }
  return attributes;
}

/**
 * An `eventFilter` that keeps only the span events recorded with `recordKpiEvent` (those that
 * carry `cif.kpi.name`), so other libraries' span events under a CIF session are not sent.
 * @example new CifSpanExporter({ eventFilter: recordedKpiEventsOnly })
 */
export function recordedKpiEventsOnly(event: { attributes?: Attributes }): boolean {
  const name = event.attributes?.[ATTR_CIF_KPI_NAME];
  return typeof name === 'string' && name !== '';
}
