import type { Attributes, Context, Link, SpanKind, TraceState } from '@opentelemetry/api';
import { caught, log } from '../log.js';
import { hasCifAttribute } from '../mapping/kpi-fields.js';
import { check } from '../validate.js';
import { readCifSession } from './context.js';

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
 * once; its spans are then dropped, but the CIF spans kept. Throws a `TypeError` at construction
 * when `sampler` is missing or has no `shouldSample` method; never throws when asked.
 * @example new WebTracerProvider({ sampler: new CifSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })), spanProcessors })
 */
export class CifSampler {
  private warned?: boolean;

  constructor(private readonly sampler: CifWrappedSampler) {
    try {
      if (typeof sampler?.shouldSample === 'function') return;
    } catch {
      // A sampler that cannot be read is warned of at its first span, as one that throws.
      return;
    }
    check('CifSampler: argument').fail('sampler', 'must be a Sampler', sampler);
  }

  // Decisions are the SDK's `SamplingDecision` numbers, so that no SDK is imported at run time: 2 RECORD_AND_SAMPLED, 0 NOT_RECORD.
  shouldSample(...args: Parameters<CifWrappedSampler['shouldSample']>): CifSamplingResult {
    const [context, , , , attributes] = args;
    let cif = true;
    try {
      cif = readCifSession(context) !== undefined || hasCifAttribute(attributes);
    } catch {
      // A context or attribute bag that cannot be read: keep the span rather than lose KPI events.
    }
    let result: unknown;
    try {
      result = this.sampler.shouldSample(...args);
      // Read once and copied, attributes too, so that no getter of a foreign result runs inside the SDK.
      const { decision, attributes: added, traceState } = result as CifSamplingResult;
      if (![0, 1, 2].includes(decision)) throw new TypeError(`it answered the decision ${String(decision)}`);
      // A trace state the SDK propagates, attributes it copies: one of another kind fails later, in the page's own requests.
      if ((traceState && typeof traceState.serialize !== 'function') || (added && typeof added !== 'object')) throw new TypeError('it answered no sampling result');
      return { decision: cif ? 2 : decision, attributes: added && { ...added }, traceState };
    } catch (error) {
      // An answer that is a promise (an async sampler) is no decision.
      caught(result);
      if (!this.warned) {
        // Marked before it is said, so that a diag logger that starts a span as it is told is not warned again.
        this.warned = true;
        log('warn', 'CifSampler: the wrapped sampler failed; only CIF spans are kept. Shown once.', error);
      }
    }
    return { decision: cif ? 2 : 0 };
  }

  toString(): string {
    try {
      return `CifSampler{${this.sampler}}`;
    } catch {
      return 'CifSampler{unknown}';
    }
  }
}
