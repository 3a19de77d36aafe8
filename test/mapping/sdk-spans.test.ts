import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { spanPipeline } from '../helpers/pipelines.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY, event, makeSpan } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// docs/mapping.md, "The default eventFilter" and "Correlation", with the trace SDK making the events.
describe('the default eventFilter and correlationId, with spans the trace SDK makes', () => {
  it("sends recordKpiEvent(span, 'exception') and a plain addEvent of the widget's span, and not span.recordException(error)", async () => {
    const { client, tracer, flush } = spanPipeline();
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.recordException(new Error('line dropped'), new Date(T1));
    recordKpiEvent(span, 'exception', { reason: 'crash' }, new Date(T1));
    span.addEvent('CallAccepted', new Date(T2));
    span.end();
    await flush();
    expect(client.payloads().flatMap((p) => p.events.map((e) => [e.kpiEventName, e.kpiEventReason]))).to.deep.equal([
      ['exception', 'crash'],
      ['CallAccepted', undefined],
    ]);
  });

  it('leaves out every plain event of a span whose tracer is named @opentelemetry/instrumentation-*, and sends a KPI event recorded on it', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
    const span = provider.getTracer('@opentelemetry/instrumentation-fetch').startSpan('HTTP GET', { attributes: IDENTITY });
    span.addEvent('fetchStart', new Date(T1));
    span.addEvent('CallAccepted', new Date(T1));
    recordKpiEvent(span, 'CrmLookupDone', undefined, new Date(T2));
    span.end();
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.calls.map((c) => c.eventName)).to.deep.equal(['CrmLookupDone']);
    expect(exporter.getStats().cifSpans).to.equal(1);
  });

  it('gives each span with an all-zero trace id a v4 UUID of its own, shared by the calls of that span', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const invalid = '0'.repeat(32);
    const spans = [0, 1].map(() => makeSpan({ attributes: IDENTITY, traceId: invalid, events: [event('A', T1), event('B', T2)] }));
    await new Promise<void>((resolve) => exporter.export(spans, () => resolve()));
    const ids = client.calls.map((c) => c.correlationId);
    expect(ids).to.have.length(4);
    for (const id of ids) expect(id).to.match(UUID_V4);
    // Calls of one span go out together in time order: A of both spans, then B of both.
    expect(new Set(ids).size).to.equal(2);
    expect(ids.filter((id) => id === ids[0])).to.have.length(2);
  });
});

