import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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

// In a browser bundle, the SDKs' `#platform` import resolves to their browser processors, which
// listen on `document`; Node gets processors that never do. So the page is played here: the
// browser processors, loaded by path, and a document that can be hidden.
const browserPlatform = (pkg) => import(new URL(`./node_modules/@opentelemetry/${pkg}/dist/platform/browser/index.mjs`, import.meta.url));

describe('in a page, the 3.x BatchSpanProcessor and BatchLogRecordProcessor', () => {
  const T = '2026-11-25T10:15:30.123Z';
  const IDS = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
  /** The call each source makes for its one KPI event. */
  const call = (eventName, correlationId) => ({
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: eventName, eventTimestamp: T }] },
    eventName,
    correlationId,
  });

  it('listen for visibilitychange only, and export what they hold when the document becomes hidden', { timeout: 10_000 }, async () => {
    const { BatchSpanProcessor: PageBatchSpanProcessor } = await browserPlatform('sdk-trace');
    const { BatchLogRecordProcessor: PageBatchLogRecordProcessor } = await browserPlatform('sdk-logs');
    const page = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const listened = [];
    page.addEventListener = (type, listener) => (listened.push(type), EventTarget.prototype.addEventListener.call(page, type, listener));
    globalThis.document = page;
    const calls = [];
    let bothCalled;
    const both = new Promise((resolve) => (bothCalled = resolve));
    const client = {
      logAnalyticsEvent(data, eventName, correlationId) {
        if (calls.push({ data, eventName, correlationId }) === 2) bothCalled();
        return Promise.resolve('ok');
      },
    };
    const tracerProvider = new TracerProvider({
      idGenerator: { generateTraceId: () => '4bf92f3577b34da6a3ce929d0e0e4736', generateSpanId: () => '00f067aa0ba902b7' },
      spanProcessors: [new PageBatchSpanProcessor({ exporter: new CifSpanExporter({ client }) })],
    });
    const loggerProvider = new LoggerProvider({ processors: [new PageBatchLogRecordProcessor({ exporter: new cifLogs.CifLogRecordExporter({ client }) })] });
    try {
      assert.deepEqual(listened, ['visibilitychange', 'visibilitychange'], 'no pagehide listener, unlike the 2.x processors');
      const span = tracerProvider.getTracer('softphone').startSpan('accept call', { attributes: IDS });
      span.addEvent('CallAccepted', undefined, new Date(T));
      span.end();
      loggerProvider.getLogger('softphone').emit({ eventName: 'CallHold', attributes: IDS, timestamp: new Date(T) });

      page.visibilityState = 'hidden';
      page.dispatchEvent(new Event('visibilitychange'));
      // The span exporter calls the host before the event handler returns; the logs SDK exports a moment later.
      assert.deepEqual(calls, [call('CallAccepted', '4bf92f35-77b3-4da6-a3ce-929d0e0e4736')]);
      await both;
      assert.deepEqual(calls, [call('CallAccepted', '4bf92f35-77b3-4da6-a3ce-929d0e0e4736'), call('CallHold', calls[1].correlationId)]);
      assert.match(calls[1].correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
      delete globalThis.document;
    }
  });
});

describe('the 3.x TracerProvider dropping attributes for their type', () => {
  it('counts a map on a span event in droppedFields.sdk_attribute_limit, and sends the KPI event without it', async () => {
    const calls = [];
    const exporter = new CifSpanExporter({ client: { logAnalyticsEvent: (data) => (calls.push(data), Promise.resolve('ok')) } });
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    try {
      const span = provider.getTracer('softphone').startSpan('transfer call', { attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' } });
      span.addEvent('CallTransferred', { 'cif.kpi.additional_data': { queue: 'billing' } });
      span.end();
      await exporter.forceFlush();
      assert.deepEqual(calls.map((data) => Object.keys(data.events[0])), [['kpiEventName', 'eventTimestamp']]);
      assert.equal(exporter.getStats().droppedFields.sdk_attribute_limit, 1);
    } finally {
      await provider.shutdown();
    }
  });
});
