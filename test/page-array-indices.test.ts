// A page library may give Array.prototype indices, as old ones gave Object.prototype keys: an
// array's hole is then read through the prototype. None of it may reach a payload or a counter.
import { context } from '@opentelemetry/api';
import { expect } from 'chai';
import { recordKpiEvent, setCifSession, type CifKpiEventDetails } from '../src/index.js';
import { emitKpiEvent } from '../src/logs.js';
import { logPipeline, spanPipeline } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';

const T1 = new Date('2026-11-25T10:15:30.123Z');
const T2 = new Date('2026-11-25T10:15:31.456Z');

const DETAILS: CifKpiEventDetails = {
  reason: 'inbound',
  additionalData: '{"queue":"billing"}',
  notificationResponseAction: 'accepted',
  externalCorrelationId: 'ext-1',
  customData: { msdyn_customattribute1: 'tier-2', msdyn_customattribute3: 'hold' },
};

/** What a span pipeline and a log pipeline send and count for the same KPI events, one with no fields, one with all. */
async function sent() {
  const spans = spanPipeline();
  const span = spans.tracer.startSpan('call', { attributes: { ...IDENTITY, 'cif.kpi.custom.msdyn_customattribute2': 'span' } });
  recordKpiEvent(span, 'CallOffered', undefined, T1);
  recordKpiEvent(span, 'CallAccepted', DETAILS, T2);
  span.end();
  await spans.flush();
  const logs = logPipeline();
  const session = setCifSession(context.active(), { conversationId: 'conv-1', providerSessionId: 'prov-1' });
  emitKpiEvent(logs.logger, 'CallOffered', undefined, { context: session, time: T1 });
  emitKpiEvent(logs.logger, 'CallAccepted', DETAILS, { context: session, time: T2 });
  await logs.flush();
  const stats = (exporter: { getStats(): object }) => JSON.parse(JSON.stringify(exporter.getStats())) as unknown;
  return { spans: [spans.client.payloads(), stats(spans.exporter)], logs: [logs.client.payloads(), stats(logs.exporter)] };
}

describe('a page that gave Array.prototype indices', () => {
  it('sends and counts the KPI events of spans and log records as on a page that did not', async () => {
    const expected = await sent();
    const indices = Array.prototype as unknown as Record<number, unknown>;
    for (let i = 0; i < 16; i++) indices[i] = `page ${i}`;
    let polluted: Awaited<ReturnType<typeof sent>>;
    try {
      polluted = await sent();
    } finally {
      for (let i = 0; i < 16; i++) delete indices[i];
    }
    expect(polluted).to.deep.equal(expected);
  });
});
