// An inbound call in a softphone widget, instrumented with the OpenTelemetry API only.
// Outside Dynamics 365 there is no Microsoft.CIFramework, so a client that prints stands in.
import { trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter, type CifAnalyticsClient } from '../src/index.js';

const printingClient: CifAnalyticsClient = {
  async logAnalyticsEvent(data, eventName, correlationId) {
    console.log(`logAnalyticsEvent(eventName: ${eventName}, correlationId: ${correlationId})`);
    console.log(JSON.stringify(data, null, 2).replace(/^/gm, '  '));
    return 'ok';
  },
};

const exporter = new CifSpanExporter({
  client: printingClient,
  customAttributes: { 'call.queue': 'msdyn_customattribute1' },
});
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'contoso-softphone', 'cif.participant.id': 'agent-042' }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('contoso-softphone');

const call = tracer.startSpan('inbound call', {
  attributes: {
    'cif.conversation.id': 'c7a1e5d2-0b1f-4e8e-9d56-3f0e8a2b9c11',
    'cif.provider_session.id': 'CA5f3c2e9b7d',
    'call.queue': 'billing',
  },
});
call.addEvent('CallOffered', { 'cif.kpi.reason': 'inbound' });
call.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' });
call.addEvent('CallHold', { 'cif.kpi.reason': 'agent consulted supervisor' });
call.addEvent('CallUnhold');
call.end();

const wrapUp = tracer.startSpan('wrap-up', {
  attributes: {
    'cif.conversation.id': 'c7a1e5d2-0b1f-4e8e-9d56-3f0e8a2b9c11',
    'cif.provider_session.id': 'CA5f3c2e9b7d',
    'cif.kpi.name': 'WrapUpCompleted',
    'cif.kpi.additional_data': JSON.stringify({ disposition: 'resolved' }),
  },
});
wrapUp.end();

await provider.forceFlush();
console.log('\nExporter stats:', JSON.stringify(exporter.getStats()));
await provider.shutdown();
