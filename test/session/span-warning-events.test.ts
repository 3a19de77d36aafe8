// CifSessionSpanProcessor.onEnd (src/session/span-processor.ts) warns of an unsampled span with
// KPI events as the exporter finds them by default (plain events of a CIF span too), and not of a
// span `recordKpiEvent` said lost, also through a proxy of the span. Through the real trace SDK,
// the processor wired as the README says.
import { context, diag, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, SimpleSpanProcessor, SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

/** A sampler that records spans for the page's own processors and samples none. */
const RECORD_ONLY: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('the session processor warning of plain span events, and of spans reached through a proxy', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  function pipeline(sampler?: Sampler) {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const provider = shutDownAfterTest(new BasicTracerProvider({ ...(sampler && { sampler }), spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
    return { client, exporter, provider, tracer: provider.getTracer('softphone') };
  }

  // docs/mapping.md: "a plain `span.addEvent('CallAccepted')` on the widget's own span is" a KPI
  // event, the span being a CIF span by the session ids the processor stamps. Sampled, it is sent
  // (checked first); recorded unsampled, it is lost, and said so. README Troubleshooting: "KPI events
  // go missing under a trace sampler | a warning names `CifSampler`".
  it('warns that a span under a CIF session lost its plain span events, which are KPI events, when its sampler records without sampling', async () => {
    const sampled = pipeline();
    withCifSession(CALL, () => {
      const span = sampled.tracer.startSpan('call');
      span.addEvent('CallAccepted');
      span.end();
    });
    await sampled.exporter.forceFlush();
    expect(sampled.client.payloads().flatMap((data) => data.events).map((event) => event.kpiEventName), 'sent when sampled').to.deep.equal(['CallAccepted']);

    const lines = captureLevels();
    const unsampled = pipeline(RECORD_ONLY);
    withCifSession(CALL, () => {
      const span = unsampled.tracer.startSpan('call');
      span.addEvent('CallAccepted');
      span.end();
    });
    expect(lines.filter((line) => line.includes("KPI events of span 'call' lost")).map((line) => line.replace(/(exported).*/s, '$1'))).to.deep.equal([
      "warn KPI events of span 'call' lost: it is not exported",
    ]);
  });

  // docs/session-context.md: the processor warns "unless `recordKpiEvent` said it", also of a span the
  // widget reaches through a wrapper (a Proxy, as a framework's reactive store or a membrane gives),
  // while the SDK hands the processor its own Span.
  it('does not warn again of a span recordKpiEvent said lost when the widget recorded on it through a Proxy', () => {
    const lines = captureLevels();
    const { tracer } = pipeline(RECORD_ONLY);
    withCifSession(CALL, () => {
      const span = tracer.startSpan('inbound call');
      recordKpiEvent(new Proxy(span, {}) as Span, 'CallAccepted');
      span.end();
    });
    expect(lines.filter((line) => line.includes('lost')).map((line) => line.replace(/^(warn|debug) /, '').replace(/(exported).*/s, '$1'))).to.deep.equal([
      "KPI event 'CallAccepted' lost: its span is not exported",
    ]);
  });
});
