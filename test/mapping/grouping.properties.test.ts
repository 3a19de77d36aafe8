import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import fc from 'fast-check';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { traceIdToGuid } from '../../src/mapping/trace-id.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const TRACES = ['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c', 'a3ce929d0e0e47364bf92f3577b34da6'];
const BASE = Date.parse('2026-11-25T10:15:00.000Z');

const plannedSpan = fc.record({
  trace: fc.nat(TRACES.length - 1),
  conversation: fc.constantFrom('conv-1', 'conv-2'),
  client: fc.constantFrom(undefined, 'client-1'),
  events: fc.array(fc.record({ name: fc.constantFrom('CallAccepted', 'CallHold'), offset: fc.nat(5_000) }), { minLength: 1, maxLength: 5 }),
});

describe('grouping with maxEventsPerCall above 1, over one export batch of real spans, mapped as one part', () => {
  it('puts in one call only KPI events of one eventName, identity and correlationId, in time order, calls in order of their first, each group filling its calls in turn', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plannedSpan, { minLength: 1, maxLength: 8 }), fc.integer({ min: 2, max: 4 }), fc.boolean(), async (plans, maxEventsPerCall, oneName) => {
        let trace = TRACES[0]!;
        let spanIds = 0;
        const idGenerator: IdGenerator = { generateTraceId: () => trace, generateSpanId: () => (++spanIds).toString(16).padStart(16, '0') };
        const memory = new InMemorySpanExporter();
        const provider = new BasicTracerProvider({ idGenerator, spanProcessors: [new SimpleSpanProcessor(memory)] });
        const tracer = provider.getTracer('softphone');
        plans.forEach((plan, i) => {
          trace = TRACES[plan.trace]!;
          const attributes = { 'cif.conversation.id': plan.conversation, 'cif.provider_session.id': 'prov-1', ...(plan.client && { 'cif.client_session.id': plan.client }) };
          const span = tracer.startSpan('call', { attributes });
          // Each KPI event says where it came from, in a field the mapping passes through.
          plan.events.forEach(({ name, offset }, j) => span.addEvent(name, { 'cif.kpi.external_correlation_id': `${i}:${j}` }, new Date(BASE + offset)));
          span.end();
        });
        const client = new RecordingCifClient();
        // A part is what the host takes at once, maxConcurrentCalls calls of maxEventsPerCall: here all of the at most 40 KPI events.
        const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, maxEventsPerCall, maxConcurrentCalls: 20, ...(oneName && { eventName: () => 'KpiEvents' }) }));
        const result = await new Promise<number>((resolve) => exporter.export(memory.getFinishedSpans(), ({ code }) => resolve(code)));
        expect(result).to.equal(0);

        const keyOf = (i: number, j: number): string => {
          const plan = plans[i]!;
          return JSON.stringify([oneName ? 'KpiEvents' : plan.events[j]!.name, traceIdToGuid(TRACES[plan.trace]!), plan.conversation, plan.client]);
        };
        const callsByKey = new Map<string, number[]>();
        let lastFirst = '';
        for (const call of client.calls) {
          const data = call.data as Exclude<typeof call.data, string>;
          expect(data.events.length).to.be.within(1, maxEventsPerCall);
          const keys = data.events.map((event) => {
            const [i, j] = event.externalCorrelationId!.split(':').map(Number) as [number, number];
            return keyOf(i, j);
          });
          const key = keys[0]!;
          expect(keys.every((k) => k === key), 'one eventName, identity and correlationId per call').to.equal(true);
          expect(JSON.stringify([call.eventName, call.correlationId, data.conversationId, data.clientSessionId])).to.equal(key);
          const times = data.events.map((event) => event.eventTimestamp);
          expect(times, 'in time order').to.deep.equal([...times].sort());
          expect(times[0]! >= lastFirst, 'calls in order of their first KPI event').to.equal(true);
          lastFirst = times[0]!;
          callsByKey.set(key, [...(callsByKey.get(key) ?? []), data.events.length]);
        }
        // Every group's calls but its last are full.
        for (const [key, sizes] of callsByKey) expect(sizes.slice(0, -1).every((n) => n === maxEventsPerCall), key).to.equal(true);
        const planned = plans.reduce((sum, plan) => sum + plan.events.length, 0);
        expect(client.calls.reduce((sum, call) => sum + (call.data as Exclude<typeof call.data, string>).events.length, 0)).to.equal(planned);
        const stats = exporter.getStats();
        expect(stats.kpiEventsDelivered).to.equal(planned);
        expectBalanced(stats);
        await provider.shutdown();
      }),
      { numRuns: 80 },
    );
  });
});
