import type { AttributeValue, Attributes, Context } from '@opentelemetry/api';
import type { CifReadableSpan } from '../types.js';
import { CIF_KPI_PREFIX } from '../attributes.js';
import { hasCifAttribute } from '../mapping/kpi-fields.js';
import { defaultEventFilter } from '../mapping/spans.js';
import { LOST, toldLost } from '../recording/record-kpi-event.js';
import type { WriterWarned } from '../recording/kpi-event-attributes.js';
import { sayOnce } from '../log.js';
import { stampSession } from './stamp.js';

/**
 * The parts of a starting span the processor uses. The SDK's `Span` (2.x and 3.x) satisfies it;
 * declaring it here keeps the SDK out of this package's type surface.
 */
export interface CifStartingSpan {
  readonly attributes: Attributes;
  setAttribute(key: string, value: AttributeValue): unknown;
}

/**
 * A `SpanProcessor` that stamps the CIF session of the parent context (see `withCifSession`)
 * onto every span as it starts: `cif.conversation.id`, `cif.provider_session.id`,
 * `cif.client_session.id` and `cif.participant.id`. An id the span already has is kept, unless empty.
 * Register it beside the processor of `CifSpanExporter`; it exports nothing itself. A span that
 * ends recorded but unsampled with KPI events, which no exporter gets (a sampler decided before a
 * `cif.` attribute was set, or without `CifSampler`), is warned of once a processor, naming
 * `CifSampler`, then told at DEBUG, unless `recordKpiEvent` warned of it.
 * @example new WebTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(new CifSpanExporter())] })
 */
export class CifSessionSpanProcessor {
  private readonly warned: WriterWarned = {};

  onStart(span: CifStartingSpan, parentContext: Context): void {
    stampSession(span, parentContext, 'span');
  }

  onEnd(span: CifReadableSpan): void {
    try {
      // A sampled span, every span of a page that samples them all, costs one read; one `recordKpiEvent` warned of is
      // not warned of again.
      if (span.spanContext().traceFlags & 1 || toldLost.has(span.spanContext())) return;
      // KPI events, as the exporter would find them by default: `cif.kpi.name` on the span, or events of a CIF span
      // its default filter keeps; not the ids this processor stamps on every span under a session.
      const cif = hasCifAttribute(span.attributes);
      if (hasCifAttribute(span.attributes, CIF_KPI_PREFIX) || span.events.some((event) => defaultEventFilter(event, span) && (cif || hasCifAttribute(event.attributes)))) {
        sayOnce(this.warned, 'lost', `KPI events of span '${span.name}' lost: it is not exported`, LOST);
      }
    } catch {
      // A span that cannot be read is the exporter's to count, should it get it.
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
