import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CifSpanExporter, traceIdToGuid } from 'opentelemetry-exporter-cif';
import { describeScenario } from '../scenario.mjs';

describeScenario({
  name: 'OpenTelemetry JS 3.x (TracerProvider)',
  api,
  contextManager: new AsyncLocalStorageContextManager(),
  CifSpanExporter,
  traceIdToGuid,
  createProvider: (exporter, processor, resource, idGenerator) =>
    new TracerProvider({
      idGenerator,
      resource: resourceFromAttributes(resource),
      spanProcessors: [processor === 'simple' ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
    }),
  anyValueAttributes: true,
});
