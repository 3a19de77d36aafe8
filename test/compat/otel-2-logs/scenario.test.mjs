import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifDelivery, CifSpanExporter, traceIdToGuid, withCifSession } from 'opentelemetry-exporter-cif';
import * as cifLogs from 'opentelemetry-exporter-cif/logs';
import { describeScenario } from '../scenario.mjs';

describeScenario({
  name: 'OpenTelemetry JS 2.x (BasicTracerProvider, sdk-logs 0.2xx)',
  api,
  contextManager: new AsyncLocalStorageContextManager(),
  CifSpanExporter,
  CifDelivery,
  traceIdToGuid,
  withCifSession,
  createProvider: (exporter, processor, resource, idGenerator) =>
    new BasicTracerProvider({
      idGenerator,
      resource: resourceFromAttributes(resource),
      spanProcessors: [processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
    }),
  anyValueAttributes: false,
  logs: {
    cif: cifLogs,
    createLoggerProvider: (processors, resource) => new LoggerProvider({ resource: resourceFromAttributes(resource), processors }),
    createProcessor: (exporter, processor) =>
      processor === 'simple' ? new SimpleLogRecordProcessor({ exporter }) : new BatchLogRecordProcessor({ exporter }),
  },
});
