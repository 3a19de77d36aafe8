// The softphone widget: instrumented with the OpenTelemetry API, CifSessionSpanProcessor and
// recordKpiEvent only. CifSpanExporter has no `client` option, so it calls the page's
// Microsoft.CIFramework, waiting for CIFInitDone as it would inside Dynamics 365. CifInstrumentation
// makes the widget's own CIF calls spans, which the widget lists as its tracing backend would.
import { context, SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-web';
import {
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  setCifSession,
  traceIdToGuid,
  type CifKpiEventDetails,
} from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';

const AGENT = 'agent-042';

/** A traced span as the widget's tracing backend would show it; read by the end-to-end tests. */
interface ShownSpan {
  name: string;
  kind: string;
  parent: string | undefined;
  traceId: string;
}
const shownSpans: ShownSpan[] = [];
(window as unknown as { widgetSpans: ShownSpan[] }).widgetSpans = shownSpans;

/** Stands in for the widget's own tracing backend: lists every span, and the CIF call spans in the page. */
class SpanList implements SpanProcessor {
  private readonly names = new Map<string, string>();
  onStart(span: Span & ReadableSpan): void {
    this.names.set(span.spanContext().spanId, span.name);
  }
  onEnd(span: ReadableSpan): void {
    const parentId = span.parentSpanContext?.spanId;
    const shown = { name: span.name, kind: SpanKind[span.kind], parent: parentId && this.names.get(parentId), traceId: span.spanContext().traceId };
    shownSpans.push(shown);
    if (!span.name.startsWith('Microsoft.CIFramework')) return;
    const item = document.createElement('li');
    item.textContent = `${shown.name} (${shown.kind}${shown.parent ? `, in ${shown.parent}` : ''})`;
    $('cif-spans').append(item);
  }
  forceFlush = () => Promise.resolve();
  shutdown = () => Promise.resolve();
}

const exporter = new CifSpanExporter({ customAttributes: { 'call.queue': 'msdyn_customattribute1' } });
const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'contoso-softphone', 'cif.participant.id': AGENT }),
  spanProcessors: [
    new CifSessionSpanProcessor(),
    // A short delay so that each action shows up in the host panel within a moment.
    new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200 }),
    new SpanList(),
  ],
});
provider.register();
// Before the widget's own CIFInitDone listener, so the library is wrapped when the widget first calls it.
registerInstrumentations({ instrumentations: [new CifInstrumentation()] });
const tracer = trace.getTracer('contoso-softphone');

interface CIFramework {
  getPresence(): Promise<string>;
  setPresence(presenceText: string): Promise<boolean>;
}
/** The CIF library once the host has loaded it; looked up at each call. */
const cif = () => (window as unknown as { Microsoft?: { CIFramework?: CIFramework } }).Microsoft?.CIFramework;

/** Sets the agent's presence in the host, as a softphone does when a call starts and ends. */
function setPresence(presence: string, parent: Context): void {
  const library = cif();
  if (!library) return; // the host has not loaded the CIF library yet
  // A rejection is on the call's span (ERROR, with the exception); the widget shows the last presence set.
  void context.with(parent, () => library.setPresence(presence)).then(
    (done) => {
      if (done) $('presence').textContent = presence;
    },
    () => {},
  );
}

/** The call in progress: its root span, and the context that carries it and its CIF session. */
let call: { span: Span; context: Context } | undefined;
let onHold = false;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let kpiEventsRecorded = 0;

/** One user action: a short child span of the call, carrying one KPI event. */
function kpi(name: string, details?: CifKpiEventDetails): void {
  if (!call) return;
  kpiEventsRecorded++;
  const span = tracer.startSpan(name, { attributes: { 'call.queue': 'billing' } }, call.context);
  recordKpiEvent(span, name, details);
  span.end();
}

function ring(): void {
  const span = tracer.startSpan('inbound call');
  const conversationId = crypto.randomUUID();
  const providerSessionId = `CA${span.spanContext().spanId}`;
  call = {
    span,
    context: setCifSession(trace.setSpan(context.active(), span), { conversationId, providerSessionId }),
  };
  $('conversation-id').textContent = conversationId;
  $('provider-session-id').textContent = providerSessionId;
  // As the host shows it: the correlationId of every call of this phone call.
  $('trace-id').textContent = traceIdToGuid(span.spanContext().traceId);
  kpi('CallOffered', { reason: 'inbound' });
  show('ringing');
}

function accept(): void {
  kpi('CallAccepted', { notificationResponseAction: 'accepted' });
  if (call) setPresence('Busy', call.context);
  show('connected');
}

function reject(): void {
  kpi('CallRejected', { notificationResponseAction: 'rejected', reason: 'agent busy' });
  hangUp();
}

function toggleHold(): void {
  onHold = !onHold;
  kpi(onHold ? 'CallHold' : 'CallResume', onHold ? { reason: 'consulting supervisor' } : undefined);
  $('hold').textContent = onHold ? 'Resume' : 'Hold';
  $('call-state').textContent = onHold ? 'On hold' : 'Connected';
}

function transfer(): void {
  kpi('CallTransferred', { reason: 'to billing tier 2', externalCorrelationId: 'TR-1042' });
}

function end(): void {
  kpi('CallEnded', { reason: 'agent ended the call' });
  if (call) setPresence('Available', call.context);
  hangUp();
}

function hangUp(): void {
  call?.span.end();
  call = undefined;
  onHold = false;
  $('hold').textContent = 'Hold';
  show('idle');
}

function show(state: 'idle' | 'ringing' | 'connected'): void {
  $('ring').hidden = state !== 'idle';
  $('notification').hidden = state !== 'ringing';
  $('controls').hidden = state !== 'connected';
  $('call-state').textContent = { idle: 'Idle', ringing: 'Ringing', connected: 'Connected' }[state];
}

let cifReady = false;
function onCifReady(): void {
  cifReady = true;
  void cif()
    ?.getPresence()
    .then(
      (presence) => ($('presence').textContent = presence),
      () => {}, // on the call's span too
    );
}
// The host may have loaded the CIF library before this script ran: then CIFInitDone has fired already.
if (cif()) onCifReady();
else addEventListener('CIFInitDone', onCifReady, { once: true });

/**
 * The calls not yet delivered, one per KPI event: those the exporter holds and those whose spans
 * still wait in the BatchSpanProcessor, which exports one batch at a time.
 */
function showExporterState(): void {
  const { kpiEventsDelivered, dropped } = exporter.getStats();
  const lost = Object.values(dropped).reduce((sum, n) => sum + n, 0);
  const held = kpiEventsRecorded - kpiEventsDelivered - lost;
  const state = $('exporter-state');
  if (!cifReady && held > 0) state.textContent = `waiting for CIFInitDone: ${held} call${held === 1 ? '' : 's'} held`;
  else state.textContent = `${kpiEventsDelivered} KPI event${kpiEventsDelivered === 1 ? '' : 's'} delivered${held > 0 ? `, ${held} on the way` : ''}`;
}
setInterval(showExporterState, 100);

$('ring').addEventListener('click', ring);
$('accept').addEventListener('click', accept);
$('reject').addEventListener('click', reject);
$('hold').addEventListener('click', toggleHold);
$('transfer').addEventListener('click', transfer);
$('end').addEventListener('click', end);
// The browser BatchSpanProcessor flushes by itself when the page is hidden; flush on pagehide too.
addEventListener('pagehide', () => void provider.forceFlush());
