import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CifDelivery, CifSpanExporter, traceIdToGuid, withCifSession } from 'opentelemetry-exporter-cif';
import * as cifLogs from 'opentelemetry-exporter-cif/logs';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { CifInstrumentation } from 'opentelemetry-exporter-cif/instrumentation';
import { installFakeCIFramework } from 'opentelemetry-exporter-cif/testing';
import { describeScenario } from '../scenario.mjs';

describeScenario({
  name: 'OpenTelemetry JS 3.x (TracerProvider, LoggerProvider)',
  api,
  contextManager: new AsyncLocalStorageContextManager(),
  CifSpanExporter,
  CifDelivery,
  traceIdToGuid,
  withCifSession,
  instrumentation: { CifInstrumentation, registerInstrumentations, installFakeCIFramework },
  createProvider: (exporter, processor, resource, idGenerator) =>
    new TracerProvider({
      idGenerator,
      resource: resourceFromAttributes(resource),
      spanProcessors: [processor === 'simple' ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
    }),
  anyValueAttributes: true,
  logs: {
    cif: cifLogs,
    createLoggerProvider: (processors, resource) => new LoggerProvider({ resource: resourceFromAttributes(resource), processors }),
    createProcessor: (exporter, processor) =>
      processor === 'simple' ? new SimpleLogRecordProcessor({ exporter }) : new BatchLogRecordProcessor({ exporter }),
  },
});
