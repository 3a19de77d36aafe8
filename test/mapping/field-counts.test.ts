import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { createSpanMappingStats, spansToCalls } from '../../src/mapping/spans.js';
import { normalizeOptions } from '../../src/options.js';
import { IDENTITY, at, makeSpan } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';

/** The finished spans of `record`, made by the real SDK. */
async function finishedSpans(record: (tracer: ReturnType<BasicTracerProvider['getTracer']>) => void): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  record(provider.getTracer('softphone'));
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

function map(spans: readonly ReadableSpan[]) {
  const stats = createSpanMappingStats();
  return { calls: spansToCalls(spans, normalizeOptions(), stats), stats };
}

describe('droppedFields: fields left out of KPI events that are sent, one count per KPI event', () => {
  it("counts a span's field left out once per KPI event it is left out of, as a span's cut value is counted", async () => {
    const spans = await finishedSpans((tracer) => {
      const span = tracer.startSpan('call', {
        attributes: { ...IDENTITY, 'cif.kpi.custom.MyColumn': 'x', 'cif.kpi.custom.msdyn_customattribute1': 'y'.repeat(101) },
      });
      span.addEvent('A', at(T1));
      span.addEvent('B', at(T2));
      span.end();
    });
    const { calls, stats } = map(spans);
    expect([calls.length, stats.truncated.customData, stats.droppedFields.invalid_custom_column]).to.deep.equal([2, 2, 2]);
  });

  it('counts an id that cannot be read once per KPI event sent without it', () => {
    const attributes = { ...IDENTITY };
    Object.defineProperty(attributes, 'cif.client_session.id', { enumerable: true, get: () => { throw new Error('trap'); } });
    const { calls, stats } = map([makeSpan({ attributes, events: [{ name: 'A', time: at(T1) }, { name: 'B', time: at(T2) }] })]);
    expect([calls.map((call) => call.data.clientSessionId), stats.droppedFields.unserializable_value]).to.deep.equal([[undefined, undefined], 2]);
  });

  it('counts no field for KPI events dropped whole, nor for a CIF span that has none', async () => {
    const spans = await finishedSpans((tracer) => {
      const orphan = tracer.startSpan('call', { attributes: { 'cif.conversation.id': 'conv-1', 'cif.kpi.custom.MyColumn': 'x' } });
      orphan.addEvent('A', at(T1));
      orphan.end();
      tracer.startSpan('setup', { attributes: { ...IDENTITY, 'cif.kpi.custom.MyColumn': 'x' } }).end();
    });
    const { calls, stats } = map(spans);
    expect([calls, stats.dropped.missing_identity, stats.droppedFields.invalid_custom_column]).to.deep.equal([[], 1, 0]);
  });

  it("counts the span's own KPI event as missing its name when its cif.kpi.name cannot be read, as for a log record", () => {
    const attributes = { ...IDENTITY };
    Object.defineProperty(attributes, 'cif.kpi.name', { enumerable: true, get: () => { throw new Error('trap'); } });
    const { calls, stats } = map([makeSpan({ attributes })]);
    expect([calls, stats.dropped.missing_kpi_name, stats.droppedFields.unserializable_value]).to.deep.equal([[], 1, 0]);
  });

  it("names a span event by its name when its cif.kpi.name cannot be read, and counts that value left out", () => {
    const eventAttributes = {};
    Object.defineProperty(eventAttributes, 'cif.kpi.name', { enumerable: true, get: () => { throw new Error('trap'); } });
    const { calls, stats } = map([makeSpan({ attributes: IDENTITY, events: [{ name: 'CallAccepted', time: at(T1), attributes: eventAttributes }] })]);
    expect([calls.map((call) => call.eventName), stats.droppedFields.unserializable_value]).to.deep.equal([['CallAccepted'], 1]);
  });
});
