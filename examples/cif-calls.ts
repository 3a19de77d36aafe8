// A softphone widget whose own CIF calls show up in its traces: CifInstrumentation, registered with
// registerInstrumentations, beside the CIF exporter, on OpenTelemetry's browser SDK (startTracesSdk
// with `processors`). Outside Dynamics 365, installFakeCIFramework stands in for the CIF library and
// prints each logAnalyticsEvent call; an InMemorySpanExporter stands in for the tracing backend the
// widget exports its spans to (OTLPTraceExporter in a real page), and the example prints its traces.
import { trace, type Span } from '@opentelemetry/api';
import { startTracesSdk } from '@opentelemetry/browser-sdk/traces';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, traceIdToGuid, withCifSession } from '../src/index.js';
import { CifInstrumentation } from '../src/instrumentation.js';
import { RecordingCifClient, formatCifCall, installFakeCIFramework } from '../src/testing/index.js';

// --- Setup, done once by the page. The CIF library is there first here; in a page it may come
// later, and the instrumentation wraps it at CIFInitDone.
const host = installFakeCIFramework(
  globalThis,
  new RecordingCifClient({ onCall: (call, index) => console.log(`${formatCifCall(call, index)}\n`) }),
);
const backend = new InMemorySpanExporter();
const sdk = startTracesSdk({
  serviceName: 'contoso-softphone',
  logLevel: 'WARN',
  processors: [
    new CifSessionSpanProcessor(),
    new SimpleSpanProcessor({ exporter: new CifSpanExporter() }), // KPI events only
    new SimpleSpanProcessor({ exporter: backend }), // every span
  ],
  // In a browser, leave it out (the SDK's own, for synchronous code) or pass ZoneContextManager.
  contextManager: new AsyncLocalStorageContextManager(),
});
registerInstrumentations({ instrumentations: [new CifInstrumentation()] });

// --- The widget: the OpenTelemetry API, the CIF helpers, and its calls to the CIF library.
interface CIFramework {
  addHandler(eventName: string, handler: (eventData: string) => unknown): void;
  getPresence(): Promise<string>;
  setPresence(presenceText: string): Promise<boolean>;
}
/** Looked up at each call, as the instrumentation replaces its functions. */
const cif = () => (globalThis as unknown as { Microsoft: { CIFramework: CIFramework } }).Microsoft.CIFramework;
const tracer = trace.getTracer('contoso-softphone');
const step = (text: string) => console.log(`--- ${text}\n`);

function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

/** A short span carrying one KPI event, so it reaches the host as soon as it ends. */
function kpi(name: string, reason: string): void {
  const span = tracer.startSpan(name);
  recordKpiEvent(span, name, { reason });
  span.end();
}

/** The agent selected a phone number on a Dynamics 365 form: dial it. */
async function onClickToAct(eventData: string): Promise<void> {
  const { value } = JSON.parse(eventData) as { value: string };
  step(`onclicktoact: dialling ${value}`);
  await withCifSession({ conversationId: 'c7a1e5d2-3b4f-4e1a-9c2d-5f6e7a8b9c0d', providerSessionId: 'CA9d0e7c41' }, () =>
    inSpan('outbound call', async () => {
      await cif().setPresence('Busy');
      kpi('OutboundCallStarted', 'click to act');
      kpi('CallEnded', 'customer hung up');
      await cif().setPresence('Available');
    }),
  );
}

await inSpan('softphone start', async () => {
  step('the widget starts: it listens for click to act and reads the agent presence');
  cif().addHandler('onclicktoact', onClickToAct);
  await cif().getPresence();
});
// The host calls the handler when the agent selects the contact's phone number.
await host.fireEvent('onclicktoact', JSON.stringify({ value: '+1 425 555 0100', name: 'telephone1', format: 'phone', entityLogicalName: 'contact' }));

// --- What the tracing backend shows: one tree per trace, children indented under their parent.
step("the widget's tracing backend: each trace as a tree (the CIF exporter's own calls made no span)");
const spans = backend.getFinishedSpans();
const startOf = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];
const childrenOf = (parentId: string | undefined) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parentId).sort((a, b) => startOf(a) - startOf(b));
function print(span: ReadableSpan, depth: number): void {
  const status = span.status.code === 2 ? `  ERROR ${span.status.message ?? ''}` : '';
  console.log(`${'  '.repeat(depth)}${span.name}  ${['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'][span.kind]}${status}`);
  for (const child of childrenOf(span.spanContext().spanId)) print(child, depth + 1);
}
for (const root of childrenOf(undefined)) {
  console.log(`trace ${traceIdToGuid(root.spanContext().traceId)}`);
  print(root, 1);
}
await sdk.shutdown(); // after reading: shutting down clears the InMemorySpanExporter
