import type { Span, TimeInput } from '@opentelemetry/api';
import { ATTR_CIF_KPI_NAME } from '../attributes.js';
import { log } from '../log.js';
import { kpiEventAttributes, writeKpiEvent, type CifKpiEventDetails } from './kpi-event-attributes.js';

/**
 * Records the KPI event `name` on `span` as a span event carrying `cif.kpi.name` and the
 * `cif.kpi.*` attributes of `details`; `CifSpanExporter` sends it when the span ends.
 * `time` defaults to now. With no span (`trace.getActiveSpan()` outside any span) nothing is
 * recorded and a `diag.warn` says so; on a span that is not sampled (a sampler dropped it, or
 * no SDK is registered) the KPI event is lost, and a `diag.warn` says so once, naming `CifSampler`.
 * Never throws.
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
    // Processors export sampled spans only; the SDK itself warns of a span that has ended.
    if (!isSampled(span)) {
      // Once per page: a sampler drops spans by the thousand, and the fix is the same for each.
      log(warnedNotSampled ? 'debug' : 'warn', `KPI event '${name}' lost: its span is not sampled${warnedNotSampled ? '.' : NOT_SAMPLED_FIX}`);
      warnedNotSampled = true;
    }
    return true;
  };
  writeKpiEvent(name, record, 'recorded', 'there is no span to record it on');
}

/** The SAMPLED bit of the span's trace flags; a span that cannot say is taken as sampled. */
function isSampled(span: Span): number {
  try {
    return span.spanContext().traceFlags & 1;
  } catch {
    return 1;
  }
}

let warnedNotSampled = false;
const NOT_SAMPLED_FIX = ': a trace sampler dropped it (wrap yours: `new CifSampler(yourSampler)`) or no tracer provider is registered. Shown once.';

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
