import { diag, DiagLogLevel } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { ATTR_CIF_CONVERSATION_ID, ATTR_CIF_PROVIDER_SESSION_ID, CifSpanExporter, recordKpiEvent } from '../src/index.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureDiag } from './helpers/diag.js';
import { shutDownAfterTest } from './helpers/shut-down.js';

/** Adds enumerable `properties` to `target` as old page libraries do, and returns how to take them away. */
function extend(target: object, properties: Record<string, unknown>): () => void {
  Object.assign(target, properties);
  return () => {
    for (const key of Object.keys(properties)) Reflect.deleteProperty(target, key);
  };
}

/** Exports one span with one KPI event through a batch processor to `client`; returns the exporter. */
async function exportOneKpiEvent(client: RecordingCifClient, options = {}): Promise<CifSpanExporter> {
  const exporter = new CifSpanExporter({ client, ...options });
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
  const span = provider.getTracer('widget').startSpan('call');
  span.setAttributes({ [ATTR_CIF_CONVERSATION_ID]: 'c1', [ATTR_CIF_PROVIDER_SESSION_ID]: 'p1' });
  recordKpiEvent(span, 'CallAccepted');
  span.end();
  await provider.forceFlush();
  return exporter;
}

describe('a page whose old libraries added enumerable properties to Object.prototype', () => {
  let restore: () => void = () => {};
  afterEach(() => {
    restore();
    diag.disable();
  });

  it('sends no KPI field that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { 'cif.kpi.reason': 'from the page', 'cif.kpi.custom.msdyn_customattribute2': 'page' });
    const client = new RecordingCifClient();
    await exportOneKpiEvent(client);
    expect(client.payloads().flatMap((data) => data.events)).to.deep.equal([
      { kpiEventName: 'CallAccepted', eventTimestamp: client.payloads()[0]!.events[0]!.eventTimestamp },
    ]);
  });

  it('warns of no counter that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { count: 7 });
    const messages = captureDiag(DiagLogLevel.DEBUG);
    const exporter = await exportOneKpiEvent(new RecordingCifClient());
    expect(messages.filter((line) => line.includes('count'))).to.deep.equal([]);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });

  it('takes no option without a default that only Object.prototype holds: ready, retry.maxBackoffMillis, the outbox store and name', async () => {
    const refusing = { then: (_resolve: unknown, reject: (reason: unknown) => void) => reject(new Error('the page')) };
    restore = extend(Object.prototype, { ready: refusing, maxBackoffMillis: 1, store: 'no store', name: 7 });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });

  it('takes no option that only Object.prototype holds', async () => {
    restore = extend(Object.prototype, { outbox: 5, dataFormat: 'xml', eventFilter: () => false });
    const client = new RecordingCifClient();
    const exporter = await exportOneKpiEvent(client);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(exporter.getStats().kpiEventsDelivered).to.equal(1);
  });
});
