// The softphone widget: instrumented with the OpenTelemetry API, CifSessionSpanProcessor and
// recordKpiEvent only. CifSpanExporter has no `client` option, so it calls the page's
// Microsoft.CIFramework, waiting for CIFInitDone as it would inside Dynamics 365.
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import {
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  setCifSession,
  traceIdToGuid,
  type CifKpiEventDetails,
} from '../../src/index.js';

const AGENT = 'agent-042';

const exporter = new CifSpanExporter({ customAttributes: { 'call.queue': 'msdyn_customattribute1' } });
const provider = new WebTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'contoso-softphone', 'cif.participant.id': AGENT }),
  spanProcessors: [
    new CifSessionSpanProcessor(),
    // A short delay so that each action shows up in the host panel within a moment.
    new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200 }),
  ],
});
provider.register();
const tracer = trace.getTracer('contoso-softphone');

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
addEventListener('CIFInitDone', () => (cifReady = true));

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
