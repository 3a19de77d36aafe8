export { CifSpanExporter } from './exporters/span-exporter.js';
export { CifDelivery } from './delivery/cif-delivery.js';
export {
  CifExportError,
  CifHostError,
  CifNotLoadedError,
  CifQueueFullError,
  CifShutdownError,
  CifTimeoutError,
  CifTimerError,
} from './errors.js';
export type { CifDeliveryOptions, CifOutboxOptions, CifRetryOptions } from './delivery/options.js';
export type { OutboxStore as CifOutboxStore } from './delivery/outbox-store.js';
export type { CifExporterOptions, CifSpanExporterOptions } from './options.js';
export { getCifSession, setCifSession, withCifSession } from './session/context.js';
export { CifSessionSpanProcessor } from './session/span-processor.js';
export type { CifStartingSpan } from './session/span-processor.js';
export { CifSampler } from './session/sampler.js';
export type { CifSamplingResult, CifWrappedSampler } from './session/sampler.js';
export { recordKpiEvent, recordedKpiEventsOnly } from './recording/record-kpi-event.js';
export type { CifKpiEventDetails } from './recording/kpi-event-attributes.js';
export type {
  CifAnalyticsClient,
  CifAnalyticsData,
  CifCustomData,
  CifKpiEvent,
  CifReadableSpan,
  CifSession,
  CifTimedEvent,
} from './types.js';
export type {
  CifDeliveryStats,
  CifDropReason,
  CifDroppedFieldReason,
  CifExporterStats,
  CifOutboxStats,
  CifTruncatedField,
} from './stats.js';
export {
  ATTR_CIF_CLIENT_SESSION_ID,
  ATTR_CIF_CONVERSATION_ID,
  ATTR_CIF_KPI_ADDITIONAL_DATA,
  ATTR_CIF_KPI_EXTERNAL_CORRELATION_ID,
  ATTR_CIF_KPI_NAME,
  ATTR_CIF_KPI_NOTIFICATION_RESPONSE_ACTION,
  ATTR_CIF_KPI_REASON,
  ATTR_CIF_PARTICIPANT_ID,
  ATTR_CIF_PROVIDER_SESSION_ID,
  CIF_KPI_CUSTOM_PREFIX,
} from './attributes.js';
export { traceIdToGuid } from './mapping/trace-id.js';
