import type { Span, TimeInput } from '@opentelemetry/api';
import { ATTR_CIF_KPI_NAME } from '../attributes.js';
import { kpiEventAttributes, writeKpiEvent, type CifKpiEventDetails } from './kpi-event-attributes.js';

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
  const record = (): boolean => {
    if (typeof span?.addEvent !== 'function') return false;
    span.addEvent(name, kpiEventAttributes(name, details), time);
    return true;
  };
  writeKpiEvent(name, record, 'recorded', 'there is no span to record it on');
}

/**
 * An `eventFilter` that keeps only the KPI events recorded with `recordKpiEvent` or
 * `emitKpiEvent` (those that carry `cif.kpi.name`), so other libraries' span events and log
 * events under a CIF session are not sent. Fits both exporters.
 * @example new CifSpanExporter({ eventFilter: recordedKpiEventsOnly })
 */
export function recordedKpiEventsOnly(event: { readonly attributes?: { readonly [key: string]: unknown } }): boolean {
  const name = event.attributes?.[ATTR_CIF_KPI_NAME];
  return typeof name === 'string' && name !== '';
}
