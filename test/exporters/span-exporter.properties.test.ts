import { ROOT_CONTEXT, diag } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import fc from 'fast-check';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, setCifSession } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { cifSession, kpiEventDetails, kpiEventTime } from '../helpers/kpi-event-arbitraries.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const kpiEvent = fc.record({ name: fc.string({ maxLength: 110 }), details: kpiEventDetails, time: kpiEventTime });
const call = fc.record({ session: cifSession, events: fc.array(kpiEvent, { maxLength: 4 }) });

describe('CifSpanExporter properties, through the OpenTelemetry trace SDK', () => {
  afterEach(() => diag.disable());

  it('accounts for every KPI event recordKpiEvent records, whatever its name, details, time and session: delivered, or under one drop reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { maxLength: 6 }), fc.integer({ min: 1, max: 3 }), async (calls, maxEventsPerCall) => {
        const client = new RecordingCifClient();
        const exporter = new CifSpanExporter({ client, maxEventsPerCall });
        const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(exporter)] }));
        const tracer = provider.getTracer('softphone');
        for (const { session, events } of calls) {
          const span = tracer.startSpan('call', {}, setCifSession(ROOT_CONTEXT, session));
          for (const { name, details, time } of events) expect(() => recordKpiEvent(span, name, details, time)).not.to.throw();
          span.end();
        }
        await provider.forceFlush();
        const recorded = calls.reduce((sum, { events }) => sum + events.length, 0);
        const stats = exporter.getStats();
        const { missing_identity, identity_too_long, missing_kpi_name, invalid_timestamp } = stats.dropped;
        expectBalanced(stats);
        expect(stats.spansSeen).to.equal(calls.length);
        expect(stats.kpiEventsDelivered + missing_identity + identity_too_long + missing_kpi_name + invalid_timestamp).to.equal(recorded);
        expect(client.payloads().reduce((sum, data) => sum + data.events.length, 0)).to.equal(stats.kpiEventsDelivered);
      }),
      { numRuns: 60 },
    );
  });
});
