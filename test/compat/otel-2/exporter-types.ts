// Compiles only while the published declarations fit this line's SDK types.
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { CifInstrumentation } from 'opentelemetry-exporter-cif/instrumentation';
import type { ExportResult } from '@opentelemetry/core';
import { ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanExporter, type TimedEvent } from '@opentelemetry/sdk-trace-base';
import { CifSampler, CifSpanExporter, type CifReadableSpan, type CifTimedEvent } from 'opentelemetry-exporter-cif';

export const exporter: SpanExporter = new CifSpanExporter({
  eventFilter: (event, span) => event.name !== 'exception' && span.name !== 'health check',
  correlationId: (span) => span.spanContext().traceId,
});

export function exportSpans(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
  new CifSpanExporter().export(spans, done);
}

export const asCifSpan = (span: ReadableSpan): CifReadableSpan => span;
export const asCifEvent = (event: TimedEvent): CifTimedEvent => event;

export const sampler: Sampler = new CifSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) }));

// registerInstrumentations of this line takes the CIF instrumentation as an Instrumentation.

export const instrumentation: Instrumentation = new CifInstrumentation({ enabled: false, correlationId: true });
export const unregister: () => void = registerInstrumentations({ instrumentations: [instrumentation] });
