export { CifLogRecordExporter } from './exporters/log-record-exporter.js';
export type { CifLogRecordExporterOptions } from './exporters/log-record-exporter.js';
export { CifSessionLogRecordProcessor } from './session/log-record-processor.js';
export type { CifEmittingLogRecord } from './session/log-record-processor.js';
export { emitKpiEvent } from './recording/emit-kpi-event.js';
export type { CifEmitKpiEventOptions, CifKpiLogRecord, CifLogger } from './recording/emit-kpi-event.js';
export { CifDelivery } from './delivery/cif-delivery.js';
export type { CifLogRecordDropReason, CifLogRecordExporterStats } from './stats.js';
export type { CifReadableLogRecord } from './types.js';
