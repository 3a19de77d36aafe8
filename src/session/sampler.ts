import type { Attributes, Context, Link, SpanKind, TraceState } from '@opentelemetry/api';
import { log } from '../log.js';
import { hasCifAttribute } from '../mapping/kpi-fields.js';
import { getCifSession } from './context.js';

/** The values of the SDK's `SamplingDecision`, kept here so that no SDK is imported at run time. */
const NOT_RECORD = 0;
const RECORD_AND_SAMPLED = 2;

/** A sampling result, as the SDK's `SamplingResult` (`@opentelemetry/sdk-trace-base` 2.x, `sdk-trace` 3.x). */
export interface CifSamplingResult {
  /** `0` NOT_RECORD, `1` RECORD, `2` RECORD_AND_SAMPLED: the SDK's `SamplingDecision`. */
  decision: 0 | 1 | 2;
  attributes?: Readonly<Attributes>;
  traceState?: TraceState;
}

/** A trace sampler, as the SDK's `Sampler` (2.x and 3.x), which satisfies it. */
export interface CifWrappedSampler {
  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): CifSamplingResult;
  toString(): string;
}

/**
 * A trace `Sampler` that keeps every KPI event: a span started under a CIF session
 * (`withCifSession`) or with a `cif.` attribute is recorded and sampled, whatever `sampler`
 * decides; every other span gets `sampler`'s decision. Give it to the provider as its sampler,
 * outermost: a `ParentBasedSampler` around it would drop a session's spans under an unsampled
 * parent before it is asked. The spans it keeps are sampled for every exporter of the provider.
 * A `sampler` that throws or answers something else than a sampling result is warned about
 * once; its spans are then dropped, but the CIF spans kept. Never throws.
 * @example new WebTracerProvider({ sampler: new CifSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })), spanProcessors })
 */
export class CifSampler {
  private warned = false;

  constructor(private readonly sampler: CifWrappedSampler) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): CifSamplingResult {
    const result = this.ask(context, traceId, spanName, spanKind, attributes, links);
    if (result.decision === RECORD_AND_SAMPLED || !isCifStart(context, attributes)) return result;
    return { ...result, decision: RECORD_AND_SAMPLED };
  }

  toString(): string {
    let inner: string;
    try {
      inner = String(this.sampler);
    } catch {
      inner = 'unknown';
    }
    return `CifSampler{${inner}}`;
  }

  /** The wrapped sampler's answer, copied so that a getter cannot change it later; its failure is a decision not to record. */
  private ask(...args: Parameters<CifWrappedSampler['shouldSample']>): CifSamplingResult {
    try {
      const { decision, attributes, traceState } = this.sampler.shouldSample(...args);
      if (decision === 0 || decision === 1 || decision === 2) {
        const result: CifSamplingResult = { decision };
        if (attributes !== undefined) result.attributes = attributes;
        if (traceState !== undefined) result.traceState = traceState;
        return result;
      }
      this.fail(`answered the decision ${String(decision)}`);
    } catch (error) {
      this.fail('threw', error);
    }
    return { decision: NOT_RECORD };
  }

  private fail(what: string, error?: unknown): void {
    if (this.warned) {
      log('debug', `CifSampler: the wrapped sampler ${what}; the span is dropped unless it is a CIF span.`);
      return;
    }
    this.warned = true;
    log('warn', `CifSampler: the wrapped sampler ${what}; its spans are dropped, spans under a CIF session kept. Shown once.`, error);
  }
}

/** A span that starts under a CIF session, or with `cif.` attributes, may carry KPI events. */
function isCifStart(context: Context, attributes: Attributes): boolean {
  try {
    return getCifSession(context) !== undefined || hasCifAttribute(attributes);
  } catch {
    // A context or attribute bag that cannot be read: keep the span rather than lose KPI events.
    return true;
  }
}
