import type { AttributeValue, Attributes, Context } from '@opentelemetry/api';
import { CIF_KPI_PREFIX } from '../attributes.js';
import { hasCifAttribute, type AttributeBag } from '../mapping/kpi-fields.js';
import { LOST, toldLost } from '../recording/record-kpi-event.js';
import { sayOnce, type Warned } from '../recording/kpi-event-attributes.js';
import { stampSession } from './stamp.js';

/**
 * The parts of a starting span the processor uses. The SDK's `Span` (2.x and 3.x) satisfies it;
 * declaring it here keeps the SDK out of this package's type surface.
 */
export interface CifStartingSpan {
  readonly attributes: Attributes;
  setAttribute(key: string, value: AttributeValue): unknown;
}

/** The parts of an ended span the processor reads; the SDK's `ReadableSpan` satisfies it. */
export interface CifEndedSpan {
  readonly name: string;
  readonly attributes: AttributeBag;
  readonly events: ReadonlyArray<{ readonly attributes?: AttributeBag }>;
  spanContext(): { traceFlags: number };
}

/**
 * A `SpanProcessor` that stamps the CIF session of the parent context (see `withCifSession`)
 * onto every span as it starts: `cif.conversation.id`, `cif.provider_session.id`,
 * `cif.client_session.id` and `cif.participant.id`. An id the span already has is kept, unless empty.
 * Register it beside the processor of `CifSpanExporter`; it exports nothing itself. A span that
 * ends recorded but unsampled with a `cif.kpi.` attribute, which no exporter gets (a sampler decided
 * before it was set), is warned of once a processor, naming `CifSampler`, then told at DEBUG,
 * unless `recordKpiEvent` warned of it.
 * @example new WebTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(new CifSpanExporter())] })
 */
export class CifSessionSpanProcessor {
  private readonly warned: Warned = {};

  onStart(span: CifStartingSpan, parentContext: Context): void {
    stampSession(span, parentContext, 'span');
  }

  onEnd(span: CifEndedSpan): void {
    try {
      // KPI events: `cif.kpi.` attributes, not the ids this processor stamps on every span under a session. One
      // `recordKpiEvent` warned of is not warned of again.
      const bags = [span.attributes, ...span.events.map((event) => event.attributes)];
      if (!(span.spanContext().traceFlags & 1) && !toldLost.has(span) && bags.some((bag) => hasCifAttribute(bag, CIF_KPI_PREFIX))) {
        sayOnce(this.warned, 'lost', `KPI events of span '${span.name}' lost: it is not exported`, LOST);
      }
    } catch {
      // A span that cannot be read is the exporter's to count, should it get it.
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
