import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent, recordedKpiEventsOnly, setCifSession } from '../../src/index.js';
import { emitKpiEvent } from '../../src/logs.js';
import { logPipeline } from '../helpers/pipelines.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY } from '../helpers/spans.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';

const T1 = '2026-11-25T10:15:30.123Z';

describe('recordKpiEvent and emitKpiEvent with a name that is no attribute value, and spans of another SDK that answer with promises', () => {
  it('under recordedKpiEventsOnly, counts a KPI event recorded with a name that is no attribute value (a symbol) as missing its name, as without the filter', async () => {
    // mapping.md: a KPI event whose name is empty everywhere is counted in dropped.missing_kpi_name, also under
    // recordedKpiEventsOnly. Without the filter, this one is counted so; with it, it vanishes: the SDK drops the
    // cif.kpi.name attribute (not an attribute value), so the filter leaves the event out, unsent and uncounted.
    captureDiag();
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, eventFilter: recordedKpiEventsOnly }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    recordKpiEvent(span, Symbol('CallHold') as unknown as string, undefined, new Date(T1));
    span.end();
    await provider.forceFlush();
    await exporter.forceFlush();
    expect([client.calls, exporter.getStats().dropped.missing_kpi_name]).to.deep.equal([[], 1]);
  });

  it('under recordedKpiEventsOnly, counts a KPI event emitted with a name that is no attribute value (a symbol) under a session as missing its name', async () => {
    captureDiag();
    const { client, exporter, logger, flush } = logPipeline({ eventFilter: recordedKpiEventsOnly });
    const ctx = setCifSession(ROOT_CONTEXT, { conversationId: 'conv-1', providerSessionId: 'prov-1' });
    emitKpiEvent(logger, Symbol('CallHold') as unknown as string, undefined, { time: new Date(T1), context: ctx });
    await flush();
    expect([client.calls, exporter.getStats().dropped.missing_kpi_name]).to.deep.equal([[], 1]);
  });

  it('catches the rejection of a span of another SDK whose isRecording answers with a promise, as it does for addEvent', async () => {
    captureDiag();
    const span = trace.wrapSpanContext({ ...INVALID_SPAN_CONTEXT, traceFlags: TraceFlags.SAMPLED });
    (span as { isRecording: unknown }).isRecording = async () => {
      throw new Error('span of another SDK, closed');
    };
    const unhandled = await unhandledRejectionsOf(() => recordKpiEvent(span as Span, 'CallAccepted'));
    expect(unhandled).to.have.length(0);
  });

  it('does not say lost the KPI event of an unsampled span whose isRecording answers with a promise: it cannot say', async () => {
    const messages = captureDiag();
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    Object.assign(span, { isRecording: async () => true });
    recordKpiEvent(span, 'CallAccepted');
    await Promise.resolve();
    expect(messages.filter((message) => message.includes('lost'))).to.deep.equal([]);
  });

  it('neither leaves unhandled nor says lost the KPI event of a recording span whose spanContext answers with a rejected promise', async () => {
    const messages = captureDiag();
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    Object.assign(span, { isRecording: () => true, spanContext: async () => Promise.reject(new Error('span of another SDK, closed')) });
    const unhandled = await unhandledRejectionsOf(() => recordKpiEvent(span, 'CallAccepted'));
    expect([unhandled, messages.filter((message) => message.includes('lost'))]).to.deep.equal([[], []]);
  });
});
