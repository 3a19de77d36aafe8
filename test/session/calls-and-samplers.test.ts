/**
 * What docs/session-context.md says of several calls at once and of trace samplers, held through
 * the real SDKs: a tracer provider with the session processor, context managers, CifSampler,
 * CifInstrumentation on the stand-in host, and a logger provider beside it.
 */
import { ROOT_CONTEXT, context, defaultTextMapSetter, diag, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { StackContextManager } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import { CifSampler, CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, traceIdToGuid, withCifSession, type CifSession } from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { emitKpiEvent } from '../../src/logs.js';
import type * as RecordKpiEventModule from '../../src/recording/record-kpi-event.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { logPipeline, spanPipeline } from '../helpers/pipelines.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const FIRST = { conversationId: 'conv-1', providerSessionId: 'CA-1' };
const SECOND = { conversationId: 'conv-2', providerSessionId: 'CA-2' };

let copies = 0;

/** A copy of `recordKpiEvent` of its own, whose once-per-page warning no earlier test has used up. */
async function freshRecordKpiEvent(copy: string): Promise<typeof RecordKpiEventModule.recordKpiEvent> {
  const url = new URL(`../../src/recording/record-kpi-event.js?copy-${copy}-${++copies}`, import.meta.url);
  return ((await import(url.href)) as typeof RecordKpiEventModule).recordKpiEvent;
}

/** A provider as the README wires it, with `sampler` and `resource`, its KPI events sent as spans end; `others` get every span too. */
function provider(options: { sampler?: Sampler; resource?: Record<string, string>; session?: CifSession; others?: SimpleSpanProcessor[] } = {}) {
  const client = new RecordingCifClient();
  const exporter = new CifSpanExporter({ client, outbox: false, ...(options.session && { session: options.session }) });
  const tracerProvider = shutDownAfterTest(
    new BasicTracerProvider({
      ...(options.sampler && { sampler: options.sampler }),
      ...(options.resource && { resource: resourceFromAttributes(options.resource) }),
      spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter), ...(options.others ?? [])],
    }),
  );
  return { client, exporter, provider: tracerProvider, tracer: tracerProvider.getTracer('softphone') };
}

describe('several calls at once, as docs/session-context.md says', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  it("sends a KPI event recorded on the first call's active span inside the second call's session with the first call's ids", async () => {
    const { client, tracer, flush } = spanPipeline();
    withCifSession(FIRST, () =>
      tracer.startActiveSpan('first call', (span) => {
        withCifSession(SECOND, () => recordKpiEvent(trace.getActiveSpan(), 'CallHold', undefined, new Date(T1)));
        span.end();
      }),
    );
    await flush();
    expect(client.payloads()).to.deep.equal([{ ...FIRST, events: [{ kpiEventName: 'CallHold', eventTimestamp: T1 }] }]);
  });

  it('sends every KPI event of a span whose conversation id changes before it ends with the new id, those recorded before the change too', async () => {
    const { client, tracer, flush } = spanPipeline();
    const span = withCifSession(FIRST, () => tracer.startSpan('call'));
    recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
    span.setAttribute('cif.conversation.id', SECOND.conversationId);
    recordKpiEvent(span, 'CallTransferred', undefined, new Date(T2));
    span.end();
    await flush();
    expect(client.payloads()).to.deep.equal([
      { conversationId: SECOND.conversationId, providerSessionId: FIRST.providerSessionId, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] },
      { conversationId: SECOND.conversationId, providerSessionId: FIRST.providerSessionId, events: [{ kpiEventName: 'CallTransferred', eventTimestamp: T2 }] },
    ]);
  });

  it('keeps the KPI events before a transfer with the old ids when the span ends at the transfer and the next starts under the new session', async () => {
    const { client, tracer, flush } = spanPipeline();
    const before = withCifSession(FIRST, () => tracer.startSpan('call'));
    recordKpiEvent(before, 'CallAccepted', undefined, new Date(T1));
    before.end();
    const after = withCifSession(SECOND, () => tracer.startSpan('call'));
    recordKpiEvent(after, 'CallTransferred', undefined, new Date(T2));
    after.end();
    await flush();
    expect(client.payloads()).to.deep.equal([
      { ...FIRST, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] },
      { ...SECOND, events: [{ kpiEventName: 'CallTransferred', eventTimestamp: T2 }] },
    ]);
  });

  const agentSetups: Array<{ where: string; session?: CifSession; around: (fn: () => void) => void; outsideRecorded: boolean; cifSpans: number; missingIdentity: number }> = [
    { where: "in the exporter's session option", session: { participantId: 'agent-7' }, around: (fn) => fn(), outsideRecorded: false, cifSpans: 1, missingIdentity: 0 },
    { where: 'in a withCifSession around the whole widget', around: (fn) => withCifSession({ participantId: 'agent-7' }, fn), outsideRecorded: true, cifSpans: 2, missingIdentity: 1 },
  ];
  agentSetups.forEach(({ where, session, around, outsideRecorded, cifSpans, missingIdentity }) =>
    it(`with the agent's participantId ${where}, ${outsideRecorded ? 'samples a span outside any call, makes it a CIF span and counts its plain event as missing_identity' : 'leaves a span outside any call to the sampler and out of CIF'}`, async () => {
      const { client, exporter, provider: tracerProvider, tracer } = provider({ sampler: new CifSampler(new AlwaysOffSampler()), ...(session && { session }) });
      let recorded: boolean | undefined;
      around(() => {
        const settings = tracer.startSpan('settings');
        recorded = settings.isRecording();
        settings.addEvent('ui.click', {}, new Date(T1));
        settings.end();
        withCifSession(FIRST, () => {
          const call = tracer.startSpan('call');
          recordKpiEvent(call, 'CallAccepted', undefined, new Date(T2));
          call.end();
        });
      });
      await tracerProvider.forceFlush();
      const stats = exporter.getStats();
      expect([recorded, stats.cifSpans, stats.dropped.missing_identity]).to.deep.equal([outsideRecorded, cifSpans, missingIdentity]);
      expect(client.payloads()).to.deep.equal([{ ...FIRST, participantId: 'agent-7', events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T2 }] }]);
    }),
  );

  it("emits a KPI event with the ids of the emit context's session and the correlationId of that context's span, another call's", async () => {
    const spans = spanPipeline();
    const logs = logPipeline();
    let firstTrace = '';
    withCifSession(FIRST, () =>
      spans.tracer.startActiveSpan('first call', (span) => {
        firstTrace = traceIdToGuid(span.spanContext().traceId);
        withCifSession(SECOND, () => emitKpiEvent(logs.logger, 'CallHold', undefined, { time: new Date(T1) }));
        span.end();
      }),
    );
    await logs.flush();
    expect(logs.client.calls.map(({ data, eventName, correlationId }) => ({ data, eventName, correlationId }))).to.deep.equal([
      { data: { ...SECOND, events: [{ kpiEventName: 'CallHold', eventTimestamp: T1 }] }, eventName: 'CallHold', correlationId: firstTrace },
    ]);
  });

  it("loses a KPI event recorded on the active span of a handler CifInstrumentation traces, warning that names CifSampler, and sends one recorded on a span started under the call's session", async () => {
    const record = await freshRecordKpiEvent('handler');
    const target = new EventTarget();
    const host = installFakeCIFramework(target);
    const { client, provider: tracerProvider, tracer } = provider({ sampler: new CifSampler(new AlwaysOffSampler()) });
    const instrumentation = new CifInstrumentation({ target, enabled: false });
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.enable();
    const messages = captureDiag();
    let handlerSpanRecorded: boolean | undefined;
    try {
      const cif = (target as unknown as { Microsoft: { CIFramework: { addHandler(name: string, handler: () => void): Promise<unknown> } } }).Microsoft.CIFramework;
      await cif.addHandler('onsessionswitched', () => {
        const active = trace.getActiveSpan();
        handlerSpanRecorded = active?.isRecording();
        record(active, 'FocusOnHandlerSpan', undefined, new Date(T1));
        withCifSession(FIRST, () => {
          const span = tracer.startSpan('focus');
          record(span, 'FocusOnCallSpan', undefined, new Date(T1));
          span.end();
        });
      });
      // The host raises its events from a task of its own, outside any session.
      await context.with(ROOT_CONTEXT, () => host.fireEvent('onsessionswitched', { sessionId: 'session-1', focused: true }));
      await tracerProvider.forceFlush();
    } finally {
      instrumentation.disable();
      host.uninstall();
    }
    expect(handlerSpanRecorded).to.equal(false);
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['FocusOnCallSpan']);
    expect(messages).to.have.length(1);
    expect(messages[0]).to.include("KPI event 'FocusOnHandlerSpan' lost: its span is not exported").and.to.include('new CifSampler(yourSampler)');
  });
});

describe('trace samplers and shut-down providers, as docs/session-context.md says', () => {
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  it('loses, unwarned, a KPI event recorded on a span of a tracer provider that was shut down, which still records and is sampled', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const record = await freshRecordKpiEvent('shut-down');
    const { client, exporter, provider: tracerProvider, tracer } = provider();
    await tracerProvider.shutdown();
    const lines = captureLevels();
    const span = withCifSession(FIRST, () => tracer.startSpan('call'));
    const exported = [span.isRecording(), span.spanContext().traceFlags & 1];
    record(span, 'CallAccepted', undefined, new Date(T1));
    span.end();
    await exporter.forceFlush();
    expect({ exported, calls: client.calls, lines, spansSeen: exporter.getStats().spansSeen }).to.deep.equal({ exported: [true, 1], calls: [], lines: [], spansSeen: 0 });
  });

  it('with StackContextManager and CifSampler, loses with a warning the KPI event of a span started after an await though the resource has the ids, and keeps one started with an id as attribute', async () => {
    context.setGlobalContextManager(new StackContextManager().enable());
    const record = await freshRecordKpiEvent('stack');
    const ids = { 'cif.conversation.id': FIRST.conversationId, 'cif.provider_session.id': FIRST.providerSessionId };
    const { client, provider: tracerProvider, tracer } = provider({ sampler: new CifSampler(new AlwaysOffSampler()), resource: ids });
    const messages = captureDiag();
    await withCifSession(FIRST, async () => {
      const ringing = tracer.startSpan('ringing');
      await Promise.resolve();
      record(ringing, 'CallOffered', undefined, new Date(T1));
      ringing.end();
      const connected = tracer.startSpan('connected');
      record(connected, 'CallAccepted', undefined, new Date(T1));
      connected.end();
      const kept = tracer.startSpan('connected', { attributes: { 'cif.conversation.id': FIRST.conversationId } });
      record(kept, 'CallConnected', undefined, new Date(T2));
      kept.end();
    });
    await tracerProvider.forceFlush();
    expect(client.payloads()).to.deep.equal([
      { ...FIRST, events: [{ kpiEventName: 'CallOffered', eventTimestamp: T1 }] },
      { ...FIRST, events: [{ kpiEventName: 'CallConnected', eventTimestamp: T2 }] },
    ]);
    expect(messages).to.have.length(1);
    expect(messages[0]).to.include("KPI event 'CallAccepted' lost: its span is not exported").and.to.include('CifSampler');
  });

  it("samples a session's spans for every exporter of the provider, and says so in the trace context sent downstream, while leaving other spans to the wrapped sampler", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const other = new InMemorySpanExporter();
    const { client, provider: tracerProvider, tracer } = provider({ sampler: new CifSampler(new AlwaysOffSampler()), others: [new SimpleSpanProcessor(other)] });
    const propagator = new W3CTraceContextPropagator();
    const traceparent = (span: ReturnType<typeof tracer.startSpan>): string => {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      return carrier['traceparent'] ?? '';
    };
    const call = withCifSession(FIRST, () => tracer.startSpan('call'));
    const poll = tracer.startSpan('poll');
    const flags = [traceparent(call).slice(-3), traceparent(poll).slice(-3)];
    recordKpiEvent(call, 'CallAccepted', undefined, new Date(T1));
    call.end();
    poll.end();
    await tracerProvider.forceFlush();
    expect({ flags, other: other.getFinishedSpans().map((span) => span.name), calls: client.calls.length }).to.deep.equal({ flags: ['-01', '-00'], other: ['call'], calls: 1 });
  });
});
