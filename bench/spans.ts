import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { CifAnalyticsClient, CifSpanExporterOptions } from '../src/index.js';

export const BATCH_SIZE = 512;
export const KPI_EVENTS_PER_SPAN = 4;

/** Options every contender runs with: one mapped attribute beside the `cif.kpi.custom.*` ones. */
export const EXPORTER_OPTIONS = {
  customAttributes: { 'call.queue': 'msdyn_customattribute2' },
  // One batch is 2048 calls (512 spans, four KPI events each), past the default queue of 1000.
  maxQueueSize: 4096,
} satisfies CifSpanExporterOptions;

const KPI_EVENTS = ['CallOffered', 'CallAccepted', 'CallHold', 'CallEnded'] as const;

/**
 * Finished SDK spans as a widget records a call: identity on span and resource, custom columns,
 * ordinary attributes beside them, and four KPI events each.
 */
export async function recordCallSpans(count = BATCH_SIZE): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'softphone-widget',
      'service.version': '4.2.0',
      'cif.participant.id': 'agent-0042',
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('softphone', '4.2.0');
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan('inbound call', {
      attributes: {
        'cif.conversation.id': `7c1f9a52-4d3e-4b8a-9f21-${String(i).padStart(12, '0')}`,
        'cif.provider_session.id': `CA${String(i).padStart(32, '0')}`,
        'cif.client_session.id': `session-${i % 16}`,
        'cif.kpi.reason': 'inbound',
        'cif.kpi.custom.msdyn_customattribute1': 'tier-2',
        'call.queue': 'billing',
        'call.direction': 'inbound',
        'call.duration_ms': 183_000 + i,
      },
    });
    for (const [n, name] of KPI_EVENTS.entries()) {
      span.addEvent(name, {
        'cif.kpi.additional_data': JSON.stringify({ step: n, channel: 'voice' }),
        'cif.kpi.external_correlation_id': `ext-${i}-${n}`,
        ...(name === 'CallAccepted' ? { 'cif.kpi.notification_response_action': 'accepted' } : {}),
        ...(name === 'CallHold' ? { 'cif.kpi.custom.msdyn_customattribute3': 'customer request' } : {}),
      });
    }
    span.end();
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return spans;
}

/** A CIF client that accepts every call at once. */
export function immediateClient(): CifAnalyticsClient {
  return { logAnalyticsEvent: () => Promise.resolve('ok') };
}
