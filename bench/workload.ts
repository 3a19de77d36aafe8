import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CifAnalyticsClient } from '../src/index.js';

/** The BatchSpanProcessor's default `maxExportBatchSize`. */
export const BATCH_SIZE = 512;
export const KPI_EVENTS_PER_SPAN = 4;

const KPI_EVENTS = ['CallOffered', 'CallAccepted', 'CallHold', 'CallEnded'] as const;
/** Event times are fixed, so every run maps the same timestamps: one call every 2 s, events 437 ms apart. */
const FIRST_EVENT_MILLIS = Date.UTC(2026, 2, 2, 9, 0, 0, 0);

/**
 * Trace and span ids that look random but are the same in every process (xorshift32 from a fixed
 * seed): each bench step records the very batch whose floor `checkFloor` proved in its own process.
 */
function fixedIds(): IdGenerator {
  let state = 0x9e3779b9;
  const hex = (digits: number): string => {
    let out = '';
    while (out.length < digits) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out += (state >>> 0).toString(16).padStart(8, '0');
    }
    return out.slice(0, digits);
  };
  return { generateTraceId: () => hex(32), generateSpanId: () => hex(16) };
}

/**
 * Finished SDK spans as a widget records a call: identity on span and resource, custom columns,
 * ordinary attributes beside them, and four KPI events each. The same spans in every process.
 */
export async function recordCallSpans(count = BATCH_SIZE): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    idGenerator: fixedIds(),
    resource: resourceFromAttributes({
      'service.name': 'softphone-widget',
      'service.version': '4.2.0',
      'cif.participant.id': 'agent-0042',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('softphone', '4.2.0');
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan('inbound call', {
      attributes: {
        'cif.conversation.id': `7c1f9a52-4d3e-4b8a-9f21-${String(i).padStart(12, '0')}`,
        'cif.provider_session.id': `CA${String(i).padStart(32, '0')}`,
        'cif.client_session.id': `session-${i % 16}`,
        'cif.kpi.reason': 'inbound',
        'cif.kpi.custom.msdyn_customattribute1': 'tier-2',
        'call.queue': 'billing',
        'call.direction': 'inbound',
        'call.duration_ms': 183_000 + i,
      },
    });
    for (const [n, name] of KPI_EVENTS.entries()) {
      const attributes = {
        'cif.kpi.additional_data': JSON.stringify({ step: n, channel: 'voice' }),
        'cif.kpi.external_correlation_id': `ext-${i}-${n}`,
        ...(name === 'CallAccepted' ? { 'cif.kpi.notification_response_action': 'accepted' } : {}),
        ...(name === 'CallHold' ? { 'cif.kpi.custom.msdyn_customattribute3': 'customer request' } : {}),
      };
      span.addEvent(name, attributes, new Date(FIRST_EVENT_MILLIS + i * 2_000 + n * 437));
    }
    span.end();
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/**
 * The largest KPI events the mapping sends: every id and field at its Dataverse column size, five
 * custom columns, all in two-byte text (V8 then stores two bytes per character), one per span.
 */
export async function recordWidestSpans(count = BATCH_SIZE): Promise<ReadableSpan[]> {
  const text = (length: number, i: number): string => String(i).padEnd(length, 'ж');
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('softphone');
  for (let i = 0; i < count; i++) {
    const attributes: Record<string, string> = {};
    for (const key of ['conversation.id', 'provider_session.id', 'client_session.id', 'participant.id']) attributes[`cif.${key}`] = text(100, i);
    for (const key of ['name', 'reason', 'notification_response_action', 'external_correlation_id']) attributes[`cif.kpi.${key}`] = text(100, i);
    for (let column = 1; column <= 5; column++) attributes[`cif.kpi.custom.msdyn_customattribute${column}`] = text(100, i);
    attributes['cif.kpi.additional_data'] = text(2000, i);
    tracer.startSpan('inbound call', { attributes }, undefined).end();
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** A host that answers every call at once and does nothing else: the exporter's own cost alone. */
export function answeringHost(): CifAnalyticsClient {
  return { logAnalyticsEvent: () => Promise.resolve('ok') };
}

/**
 * A host that copies each payload on the widget's main thread, then answers at once:
 * `structuredClone` stands in for the copy the CIF library's messaging to the host page makes.
 */
export function copyingHost(): CifAnalyticsClient {
  return {
    logAnalyticsEvent: (data) => {
      structuredClone(data);
      return Promise.resolve('ok');
    },
  };
}

/**
 * A host that copies each payload and answers only when told, one call at a time, oldest first,
 * as the host page's reply messages arrive: each answer is a task of its own.
 */
export class SteppedHost implements CifAnalyticsClient {
  private readonly answers: Array<(answer: string) => void> = [];

  logAnalyticsEvent(data: unknown): Promise<string> {
    structuredClone(data);
    return new Promise((resolve) => this.answers.push(resolve));
  }

  /** Answers the oldest call waiting; false when none waits. */
  answerOne(): boolean {
    const answer = this.answers.shift();
    answer?.('ok');
    return answer !== undefined;
  }
}

/** Resolves in a later task, once the microtasks queued before it have run. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
