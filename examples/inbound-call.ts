// A softphone widget's inbound calls, instrumented with the OpenTelemetry API and the CIF helpers.
// Outside Dynamics 365 there is no Microsoft.CIFramework: installFakeCIFramework stands in for it
// and prints each logAnalyticsEvent call the exporter makes.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../src/index.js';
import { RecordingCifClient, formatCifCall, installFakeCIFramework } from '../src/testing/index.js';

// --- Setup, done once by the page. In a browser: WebTracerProvider, and ZoneContextManager to keep
// the session across await (see docs/session-context.md).
const client = new RecordingCifClient({ onCall: (call, index) => console.log(`${formatCifCall(call, index)}\n`) });
const cif = installFakeCIFramework(globalThis, client);
const exporter = new CifSpanExporter(); // calls Microsoft.CIFramework, here the fake one
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'contoso-softphone' }),
  spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// --- The widget: OpenTelemetry API plus withCifSession and recordKpiEvent, nothing else.
const tracer = trace.getTracer('contoso-softphone');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const step = (text: string) => console.log(`--- ${text}\n`);

interface IncomingCall {
  conversationId: string;
  callSid: string;
  queue: string;
}

/** A short span of its own, so its KPI events reach the host as soon as the step is over. */
function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** Shows the notification; resolves with the agent's answer. */
function notify(call: IncomingCall, answer: 'accepted' | 'rejected'): Promise<boolean> {
  return inSpan('incoming call notification', async (span) => {
    recordKpiEvent(span, 'NotificationShown', { customData: { msdyn_customattribute1: call.queue } });
    await pause(30); // ringing
    recordKpiEvent(span, 'NotificationResponse', {
      notificationResponseAction: answer,
      reason: answer === 'rejected' ? 'agent busy' : undefined,
    });
    return answer === 'accepted';
  });
}

async function handleInboundCall(call: IncomingCall, answer: 'accepted' | 'rejected'): Promise<void> {
  // Every span started in here, and after each await, carries these two ids; one trace per call,
  // so all its logAnalyticsEvent calls share a correlationId.
  await withCifSession({ conversationId: call.conversationId, providerSessionId: call.callSid }, () =>
    inSpan('inbound call', async (callSpan) => {
      step(`notification shown for ${call.callSid}; the agent ${answer} it`);
      if (!(await notify(call, answer))) return;

      // The Dynamics session opened for the call: a nested session adds its id.
      await withCifSession({ clientSessionId: `session-${call.callSid.slice(-4)}` }, async () => {
        await inSpan('session start', async (span) => {
          step('session started');
          recordKpiEvent(span, 'SessionStarted');
        });

        await inSpan('hold', async (hold) => {
          step('the agent puts the customer on hold, then takes them off hold');
          recordKpiEvent(hold, 'CallHold', { reason: 'consulting supervisor' });
          await pause(20);
          recordKpiEvent(hold, 'CallUnhold');
        });

        await inSpan('transfer', async (transfer) => {
          step('the agent transfers the call to tier 2');
          recordKpiEvent(transfer, 'CallTransferred', {
            externalCorrelationId: `${call.callSid}-xfer-1`,
            additionalData: JSON.stringify({ to: 'tier-2-billing' }),
          });
        });

        await inSpan('wrap-up', async (wrapUp) => {
          step('wrap-up');
          recordKpiEvent(wrapUp, 'WrapUpStarted');
          await pause(10);
          recordKpiEvent(wrapUp, 'WrapUpCompleted', { customData: { msdyn_customattribute2: 'resolved' } });
        });
      });

      step('call ended');
      recordKpiEvent(callSpan, 'CallEnded', { reason: 'transferred' });
    }),
  );
}

// One agent for the whole shift: the outermost session.
await withCifSession({ participantId: 'agent-042' }, async () => {
  await handleInboundCall({ conversationId: 'c7a1e5d2-0b1f-4e8e-9d56-3f0e8a2b9c11', callSid: 'CA5f3c2e9b7d', queue: 'billing' }, 'accepted');
  await handleInboundCall({ conversationId: '0d9e4b71-6c2a-4f3e-8b15-7a4c9e2d1f60', callSid: 'CA91d04e7a22', queue: 'sales' }, 'rejected');
});

await provider.forceFlush();
const { kpiEventsSent, callsMade, callsFailed } = exporter.getStats();
console.log(`${kpiEventsSent} KPI events in ${callsMade} logAnalyticsEvent calls, ${callsFailed} failed.`);
await provider.shutdown();
cif.uninstall();
