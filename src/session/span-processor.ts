import type { AttributeValue, Attributes, Context } from '@opentelemetry/api';
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
 * Register it beside the processor of `CifSpanExporter`; it exports nothing itself.
 * @example new WebTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(new CifSpanExporter())] })
 */
export class CifSessionSpanProcessor {
  onStart(span: CifStartingSpan, parentContext: Context): void {
    stampSession(span, parentContext, 'span');
  }

  onEnd(_span: unknown): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
