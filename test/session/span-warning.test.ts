// CifSessionSpanProcessor.onEnd (src/session/span-processor.ts), which warns of a span that ends
// recorded but unsampled with a `cif.kpi.` attribute on it or an event: "KPI events of span
// '<name>' lost". Through the real trace SDK, with the processor wired as the README says.
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSampler, CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

/** A sampler that records spans for the page's own processors (metrics, say) and samples none. */
const RECORD_ONLY: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };

describe('the session processor warning of a span that ends unsampled', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  function provider(sampler: Sampler) {
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), outbox: false }));
    return shutDownAfterTest(new BasicTracerProvider({ sampler, spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(exporter)] }));
  }

  // The span's only `cif.` attributes are the session ids the processor itself stamped at its
  // start (docs/session-context.md: it stamps them "onto every span"). The span carries no KPI
  // event, so none is lost: no line says so.
  it('does not say a span under a CIF session lost KPI events when it carries none, in a provider whose sampler records without sampling', () => {
    const lines = captureLevels();
    const tracer = provider(RECORD_ONLY).getTracer('@opentelemetry/instrumentation-fetch');
    withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1' }, () => {
      tracer.startSpan('HTTP GET').end();
      tracer.startSpan('HTTP POST').end();
    });
    expect(lines.filter((line) => line.includes('lost'))).to.deep.equal([]);
  });

  // docs/session-context.md: "`recordKpiEvent` on any of these warns once ... then says each later
  // one at DEBUG". With CifSampler, a span started outside a session gets its sampler's decision;
  // A span that is no CIF span (no session, no `cif.` attribute) has no KPI events, plain events or not.
  it('does not tell of an unsampled span outside a session with plain events and no cif. attribute', () => {
    const lines = captureLevels();
    const span = provider(RECORD_ONLY).getTracer('softphone').startSpan('GET /config');
    span.addEvent('retrying');
    span.end();
    expect(lines.filter((line) => line.includes('lost'))).to.deep.equal([]);
  });

  // recordKpiEvent says the KPI event is lost as it records it (at WARN, or at DEBUG once said in
  // this process); the processor does not say it again as the span ends.
  it('says once, not twice, that a KPI event recordKpiEvent recorded on a span that is not exported is lost', () => {
    const lines = captureLevels();
    const span = provider(new CifSampler(RECORD_ONLY)).getTracer('softphone').startSpan('inbound call');
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    expect(lines.filter((line) => line.includes('lost')).map((line) => line.replace(/^(warn|debug) /, '').replace(/(exported).*/, '$1'))).to.deep.equal([
      "KPI event 'CallAccepted' lost: its span is not exported",
    ]);
  });
});
