import type { Span, SpanContext, TimeInput } from '@opentelemetry/api';
import { ATTR_CIF_KPI_NAME } from '../attributes.js';
import { own } from '../mapping/kpi-fields.js';
import { shown } from '../validate.js';
import { kpiEventAttributes, timeInput, writeKpiEvent, type CifKpiEventDetails, type WriterWarned } from './kpi-event-attributes.js';
import { caught, sayOnce } from '../log.js';

/**
 * Records the KPI event `name` on `span` as a span event carrying `cif.kpi.name` and the
 * `cif.kpi.*` attributes of `details`; `CifSpanExporter` sends it after the span ends.
 * `time` defaults to now. With no span (`trace.getActiveSpan()` outside any span) nothing is
 * recorded and a `diag.warn` says so; on a span that is not exported (a sampler dropped it, or
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
  const record = (reach: () => void): boolean => {
    if (typeof span?.addEvent !== 'function') return false;
    const attributes = kpiEventAttributes(name, details);
    reach();
    // A span of another SDK may answer with a promise.
    caught(span.addEvent(name, attributes, timeInput(time)));
    const lost = lostContext(span);
    if (lost) {
      // A sampler drops spans by the thousand, and the fix is the same for each.
      sayOnce(warned, 'lost', `KPI event '${shown(name)}' lost: its span is not exported`, LOST);
      toldLost.add(lost);
    }
    return true;
  };
  writeKpiEvent(name, record, 'recorded', 'there is no span to record it on', warned);
}

/**
 * The spans, by their span context (the same object through a proxy of the span), a KPI event was
 * recorded on and said lost: `CifSessionSpanProcessor` does not say so again as they end.
 */
export const toldLost = new WeakSet<object>();

/** Why a span is not exported, said the first time: a sampler already wrapped drops the spans started outside a session. */
export const LOST =
  ': a trace sampler dropped it, or no tracer provider is registered. `new CifSampler(yourSampler)` keeps the spans started in a CIF session or with a `cif.` attribute: wrap your sampler, and start each span so. Shown once.';

/**
 * The span's context, as an object, when span processors do not get the span: it does not record,
 * or records unsampled (a remote parent's span is sampled but does not record). Nothing for a span
 * that has ended, which the SDK warns of itself, or that cannot say: one whose answers throw, or
 * are promises (a span of another SDK), whose rejections are caught.
 */
function lostContext(span: Span): object | undefined {
  try {
    if ((span as { ended?: unknown }).ended) return;
    const recording: unknown = span.isRecording();
    const context: unknown = span.spanContext();
    caught(recording);
    caught(context);
    // Flags that are no number (a promise's) say nothing.
    if (recording === false || (recording === true && (context as SpanContext).traceFlags % 2 === 0)) return Object(context) as object;
  } catch {
    // Taken as exported.
  }
}

const warned: WriterWarned = {};

/**
 * An `eventFilter` that keeps only the KPI events recorded with `recordKpiEvent` or
 * `emitKpiEvent` (those that carry `cif.kpi.name`), so other libraries' span events and log
 * events under a CIF session are not sent. Fits both exporters.
 * @example new CifSpanExporter({ eventFilter: recordedKpiEventsOnly })
 */
export function recordedKpiEventsOnly(event: { readonly attributes?: { readonly [key: string]: unknown } }): boolean {
  // Whatever its value: an empty name is then counted as missing, not left out unseen.
  return own(event.attributes, ATTR_CIF_KPI_NAME) !== undefined;
}
