import type { Attributes, HrTime } from '@opentelemetry/api';
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan, type TimedEvent } from '@opentelemetry/sdk-trace-base';

export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACE_GUID = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';
export const IDENTITY = {
  'cif.conversation.id': 'conv-1',
  'cif.provider_session.id': 'prov-1',
};

/** An HrTime for an ISO date, plus extra nanoseconds below the millisecond. */
export function at(iso: string, extraNanos = 0): HrTime {
  const [seconds, nanos] = millisToHrTime(Date.parse(iso));
  return [seconds, nanos + extraNanos];
}

export function event(name: string, iso: string, attributes?: Attributes): TimedEvent {
  return attributes ? { name, time: at(iso), attributes } : { name, time: at(iso) };
}

export interface SpanOverrides {
  name?: string;
  attributes?: Attributes;
  events?: TimedEvent[];
  endTime?: HrTime;
  resource?: Attributes;
  traceId?: string;
  /** The instrumentation scope's name. */
  scope?: string;
}

/** A finished span shaped as the SDK hands it to exporters. */
export function makeSpan(overrides: SpanOverrides = {}): ReadableSpan {
  const traceId = overrides.traceId ?? TRACE_ID;
  const endTime = overrides.endTime ?? at('2026-11-25T10:20:00.000Z');
  return {
    name: overrides.name ?? 'call',
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED }),
    startTime: at('2026-11-25T10:15:00.000Z'),
    endTime,
    status: { code: 0 },
    attributes: overrides.attributes ?? {},
    links: [],
    events: overrides.events ?? [],
    duration: [300, 0],
    ended: true,
    resource: resourceFromAttributes(overrides.resource ?? {}),
    instrumentationScope: { name: overrides.scope ?? 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

let spanCount = 0;
/** Ids for a real tracer provider: every trace is TRACE_ID, so tests can expect TRACE_GUID as a literal. */
export const FIXED_TRACE_ID: IdGenerator = {
  generateTraceId: () => TRACE_ID,
  generateSpanId: () => (++spanCount).toString(16).padStart(16, '0'),
};

/** Spans as the trace SDK ends them (a real `BasicTracerProvider`), under `IDENTITY`, each with the KPI events named in its entry. */
export function sdkSpans(...spans: string[][]): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('softphone');
  for (const names of spans) {
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    for (const name of names) span.addEvent(name);
    span.end();
  }
  return memory.getFinishedSpans();
}
