// Compiles only while the published declarations fit this line's SDK types.
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { CifInstrumentation } from 'opentelemetry-exporter-cif/instrumentation';
import { logs, type Logger } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SpanExporter, type TimedEvent } from '@opentelemetry/sdk-trace';
import { CifDelivery, CifSampler, CifSpanExporter, type CifReadableSpan, type CifTimedEvent } from 'opentelemetry-exporter-cif';
import {
  CifLogRecordExporter,
  CifSessionLogRecordProcessor,
  emitKpiEvent,
  type CifReadableLogRecord,
} from 'opentelemetry-exporter-cif/logs';

export const exporter: SpanExporter = new CifSpanExporter({
  eventFilter: (event, span) => event.name !== 'exception' && span.name !== 'health check',
  correlationId: (span) => span.spanContext().traceId,
});

export function exportSpans(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
  new CifSpanExporter().export(spans, done);
}

export const asCifSpan = (span: ReadableSpan): CifReadableSpan => span;
export const asCifEvent = (event: TimedEvent): CifTimedEvent => event;

const delivery = new CifDelivery({ maxQueueSize: 500 });
export const spanExporter: SpanExporter = new CifSpanExporter({ delivery });
export const logExporter: LogRecordExporter = new CifLogRecordExporter({
  delivery,
  eventFilter: (record) => record.eventName !== 'exception',
  correlationId: (record) => record.spanContext?.traceId ?? 'no trace',
});
export const sessionProcessor: LogRecordProcessor = new CifSessionLogRecordProcessor();

export function exportLogRecords(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
  new CifLogRecordExporter().export(records, done);
}

export const asCifLogRecord = (record: ReadableLogRecord): CifReadableLogRecord => record;

const logger: Logger = logs.getLogger('softphone');
emitKpiEvent(logger, 'CallAccepted', { notificationResponseAction: 'accepted' }, { time: Date.now() });

export const sampler: Sampler = new CifSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) }));

// registerInstrumentations of this line takes the CIF instrumentation as an Instrumentation.

export const instrumentation: Instrumentation = new CifInstrumentation({ enabled: false, correlationId: true });
export const unregister: () => void = registerInstrumentations({ instrumentations: [instrumentation] });
