import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifDelivery, CifSpanExporter, traceIdToGuid, withCifSession } from 'opentelemetry-exporter-cif';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { CifInstrumentation } from 'opentelemetry-exporter-cif/instrumentation';
import { installFakeCIFramework } from 'opentelemetry-exporter-cif/testing';
import { describeScenario } from '../scenario.mjs';

describeScenario({
  name: 'OpenTelemetry JS 2.x (BasicTracerProvider)',
  api,
  contextManager: new AsyncLocalStorageContextManager(),
  CifSpanExporter,
  CifDelivery,
  traceIdToGuid,
  withCifSession,
  instrumentation: { CifInstrumentation, registerInstrumentations, installFakeCIFramework },
  createProvider: (exporter, processor, resource, idGenerator) =>
    new BasicTracerProvider({
      idGenerator,
      resource: resourceFromAttributes(resource),
      spanProcessors: [processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
    }),
  anyValueAttributes: false,
});
