import { type AttributeValue, type Attributes, type Context } from '@opentelemetry/api';
import { SESSION_ATTRIBUTES } from './attributes.js';
import { log } from './log.js';
import { getCifSession } from './session.js';

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
 * `cif.client_session.id` and `cif.participant.id`. An attribute the span already has is kept.
 * Register it beside the processor of `CifSpanExporter`; it exports nothing itself.
 * @example new WebTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(new CifSpanExporter())] })
 */
export class CifSessionSpanProcessor {
  onStart(span: CifStartingSpan, parentContext: Context): void {
    try {
      const session = getCifSession(parentContext);
      if (session === undefined) return;
      for (const [field, key] of SESSION_ATTRIBUTES) {
        const value = session[field];
        if (value !== undefined && span.attributes[key] === undefined) span.setAttribute(key, value);
      }
    } catch (error) {
      // Starting a span must never fail because of this processor.
      log('error', 'could not stamp the CIF session on a span', error);
    }
  }

  onEnd(_span: unknown): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
