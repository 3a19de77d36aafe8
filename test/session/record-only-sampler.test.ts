// A sampler that records spans but samples none (SamplingDecision.RECORD: a page that keeps spans
// for its own span processors, e.g. to compute metrics, and exports none), wrapped in CifSampler as
// the README says, with a BatchSpanProcessor at its defaults. Spans carry a span-level KPI event
// (`cif.kpi.name` on the span) and KPI events recorded on them.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { ATTR_CIF_KPI_NAME, CifSampler, CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { expectBalanced, expectNothingDropped } from '../helpers/fake-client.js';
import { IDENTITY } from '../helpers/spans.js';

const RECORD_ONLY: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };

describe('CifSampler around a sampler that records only, with a BatchSpanProcessor at its defaults', () => {
  let clock: InstalledClock;
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: Date.parse('2026-11-25T10:15:30.123Z') });
  });
  afterEach(() => {
    clock.uninstall();
    diag.disable();
  });

  /** The README's wiring with `sampler`, the ids also on the resource where `resource` is set. */
  function widget(resource?: typeof IDENTITY) {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    const provider = new BasicTracerProvider({
      sampler: new CifSampler(RECORD_ONLY),
      ...(resource && { resource: resourceFromAttributes(resource) }),
      spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(exporter)],
    });
    const finish = async () => {
      const flushed = provider.forceFlush();
      await clock.tickAsync(0);
      await flushed;
      const closed = provider.shutdown();
      await clock.runAllAsync();
      await closed;
    };
    return { client, exporter, tracer: provider.getTracer('softphone'), finish };
  }

  it('delivers the span-level KPI event and the KPI events recorded on each span started under a CIF session, 3 a span', async () => {
    const messages = captureDiag();
    const { client, exporter, tracer, finish } = widget();
    const expected: string[] = [];
    for (let i = 0; i < 100; i++) {
      withCifSession({ conversationId: 'conv-1', providerSessionId: `prov-${i}` }, () => {
        const span = tracer.startSpan('inbound call', { attributes: { [ATTR_CIF_KPI_NAME]: `CallEnded${i}` } });
        recordKpiEvent(span, `CallAccepted${i}`);
        recordKpiEvent(span, `CallHold${i}`);
        span.end();
        expected.push(`CallAccepted${i}`, `CallHold${i}`, `CallEnded${i}`);
      });
    }
    await finish();
    expect(client.calls.map((c) => c.eventName).sort()).to.deep.equal([...expected].sort());
    const stats = exporter.getStats();
    expectBalanced(stats);
    expectNothingDropped(stats);
    expect(stats).to.include({ spansSeen: 100, cifSpans: 100, kpiEventsDelivered: 300 });
    expect(messages).to.deep.equal([]);
  });

  it('delivers the span-level KPI event of a span started outside a session with cif.kpi.name, the ids on the resource', async () => {
    const { client, exporter, tracer, finish } = widget(IDENTITY);
    const span = tracer.startSpan('inbound call', { attributes: { [ATTR_CIF_KPI_NAME]: 'CallEnded' } });
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    await finish();
    expect(client.calls.map((c) => c.eventName).sort()).to.deep.equal(['CallAccepted', 'CallEnded']);
    expectBalanced(exporter.getStats());
  });

  // The README's table: `cif.kpi.name` on the span makes it one KPI event; the ids may be on the
  // resource. A span that gets its name once the outcome is known, outside withCifSession, was not
  // a CIF span when the sampler was asked: no exporter gets it, and the session processor says so.
  it('warns once, naming CifSampler and starting the span in the session, of a span given cif.kpi.name after it started outside a session, then tells each later one at DEBUG', async () => {
    const lines = captureLevels();
    const { client, exporter, tracer, finish } = widget(IDENTITY);
    for (const name of ['CallMissed', 'CallAbandoned']) {
      const span = tracer.startSpan('inbound call');
      span.setAttribute(ATTR_CIF_KPI_NAME, name);
      span.end();
    }
    // Spans that are no CIF spans, or sampled ones, are not told of.
    tracer.startSpan('GET /config').end();
    withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1' }, () => tracer.startSpan('inbound call', { attributes: { [ATTR_CIF_KPI_NAME]: 'CallEnded' } }).end());
    await finish();
    expect(client.calls.map((c) => c.eventName)).to.deep.equal(['CallEnded']);
    expect(exporter.getStats().spansSeen).to.equal(1);
    expect(lines.filter((line) => line.includes('lost'))).to.deep.equal([
      "warn KPI events of span 'inbound call' lost: it is not exported: a trace sampler dropped it, or no tracer provider is registered. `new CifSampler(yourSampler)` keeps the spans started in a CIF session or with a `cif.` attribute: wrap your sampler, and start each span so. Shown once.",
      "debug KPI events of span 'inbound call' lost: it is not exported.",
    ]);
  });

  it('tells of a span whose only cif. attribute is on an event added outside recordKpiEvent, and never throws for a span it cannot read', () => {
    const lines = captureLevels();
    const processor = new CifSessionSpanProcessor();
    const provider = new BasicTracerProvider({ sampler: new CifSampler(RECORD_ONLY), spanProcessors: [processor] });
    const span = provider.getTracer('softphone').startSpan('inbound call');
    span.addEvent('CallHold', { [ATTR_CIF_KPI_NAME]: 'CallHold' });
    span.end();
    const hostile = [
      null,
      {},
      { spanContext: () => ({ traceFlags: 0 }), attributes: {}, events: null },
      new Proxy({}, { get: () => { throw new Error('revoked'); } }),
      { spanContext: () => ({ traceFlags: 0 }), attributes: {}, events: [{ attributes: { 'cif.kpi.name': 'x' } }], get name(): string { throw new Error('no name'); } },
    ];
    for (const foreign of hostile) expect(() => processor.onEnd(foreign as never)).not.to.throw();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^warn KPI events of span 'inbound call' lost: it is not exported: .*CifSampler/);
  });
});
