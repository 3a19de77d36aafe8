import { ROOT_CONTEXT, context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import {
  CifSampler,
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  traceIdToGuid,
  withCifSession,
  type CifAnalyticsData,
  type CifSession,
} from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

type Library = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** A turn of the event loop, as between a host event and the next. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Several CIF calls at once, with the SDKs as a widget wires them', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  it('sends each KPI event of three interleaved calls with its own call ids and its trace as correlationId', async () => {
    const messages = captureDiag();
    // The host's updateConversation, beside the stand-in's session APIs, records the correlationId it gets.
    const updates: Array<[id: unknown, correlationId: unknown]> = [];
    const target = Object.assign(new EventTarget(), {
      Microsoft: { CIFramework: { updateConversation: async (id: unknown, _data: unknown, correlationId: unknown) => void updates.push([id, correlationId]) } },
    });
    const host = installFakeCIFramework(target);
    const client = new RecordingCifClient();
    const spanExporter = new CifSpanExporter({ client });
    const logExporter = new CifLogRecordExporter({ client });
    // A sampler that samples no trace of its own: only what CifSampler keeps is exported.
    const tracerProvider = shutDownAfterTest(
      new BasicTracerProvider({
        sampler: new CifSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) })),
        spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(spanExporter)],
      }),
    );
    const loggerProvider = shutDownAfterTest(
      new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter: logExporter })] }),
    );
    const instrumentation = new CifInstrumentation({ target, enabled: false });
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.enable();
    const tracer = tracerProvider.getTracer('softphone');
    const logger = loggerProvider.getLogger('softphone');
    const cif = target.Microsoft.CIFramework as unknown as Library;

    const calls = new Map<string, Required<Pick<CifSession, 'conversationId' | 'providerSessionId' | 'clientSessionId'>>>();
    const traces = new Map<string, string>();
    cif.addHandler!('onsessionswitched', ((event: { sessionId: string; focused: boolean }) => {
      const call = calls.get(event.sessionId)!;
      withCifSession(call, () => {
        const span = tracer.startSpan('focus');
        recordKpiEvent(span, event.focused ? 'SessionFocused' : 'SessionUnfocused', { reason: call.conversationId });
        span.end();
      });
    }) as never);

    const handle = (sessionId: string) => {
      const call = { conversationId: `conversation-${sessionId.slice(-1)}`, providerSessionId: `CA-${sessionId}`, clientSessionId: sessionId };
      calls.set(sessionId, call);
      return withCifSession(call, () =>
        tracer.startActiveSpan('call', async (span) => {
          traces.set(call.conversationId, traceIdToGuid(span.spanContext().traceId));
          recordKpiEvent(span, 'CallAccepted', { reason: call.conversationId });
          await tick();
          await cif.updateConversation!(call.conversationId, { status: 'active' });
          // A timer and a promise chain of the call, as its telephony SDK's callbacks run.
          await new Promise<void>((resolve) =>
            setTimeout(() => {
              emitKpiEvent(logger, 'CallHold', { reason: call.conversationId });
              resolve();
            }, 0),
          );
          await Promise.resolve().then(() => recordKpiEvent(span, 'CallResumed', { reason: call.conversationId }));
          return span;
        }),
      );
    };
    const sessionIds = ['session-1', await cif.createSession!({}), await cif.createSession!({})] as string[];
    const open = Promise.all(sessionIds.map(handle));
    // The host switches focus between them while they run: each event from its own task, outside any session.
    await context.with(ROOT_CONTEXT, async () => {
      await tick();
      await host.fireEvent('onsessionswitched', { sessionId: 'session-3', focused: false });
      await host.fireEvent('onsessionswitched', { sessionId: 'session-1', focused: true });
    });
    const spans = await open;
    // The first call closes while its span is still open; the span ends later and is still sent.
    await host.fireEvent('onsessionclosed', { sessionId: 'session-1' });
    spans.forEach((span) => span.end());
    await tracerProvider.forceFlush();
    await loggerProvider.forceFlush();

    const sent = client.calls.map(({ data, eventName, correlationId }) => ({ data: data as CifAnalyticsData, eventName, correlationId }));
    expect(sent).to.have.length(3 * 3 + 2);
    for (const { data, eventName, correlationId } of sent) {
      const conversationId = data.events[0]!.kpiEventReason!;
      const sessionId = `session-${conversationId.slice(-1)}`;
      expect(data).to.deep.include({ conversationId, providerSessionId: `CA-${sessionId}`, clientSessionId: sessionId });
      // The call's own KPI events share its trace; a focus change has the trace of the host's event.
      if (!eventName.startsWith('Session')) expect(correlationId, eventName).to.equal(traces.get(conversationId));
    }
    const names = (conversationId: string) => sent.filter((call) => call.data.conversationId === conversationId).map((call) => call.eventName);
    expect(names('conversation-1')).to.have.members(['CallAccepted', 'CallResumed', 'CallHold', 'SessionFocused']);
    expect(names('conversation-3')).to.have.members(['CallAccepted', 'CallResumed', 'CallHold', 'SessionUnfocused']);
    // updateConversation got the correlationId of its call's KPI events.
    expect(updates).to.have.deep.members([...traces].map(([conversationId, guid]) => [conversationId, guid]));
    expect(spanExporter.getStats().dropped).to.include({ missing_identity: 0 });
    expect(messages).to.deep.equal([]);
    instrumentation.disable();
    host.uninstall();
  });
});
