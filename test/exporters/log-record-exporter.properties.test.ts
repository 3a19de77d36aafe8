import { ROOT_CONTEXT, diag } from '@opentelemetry/api';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import fc from 'fast-check';
import { setCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { cifSession, kpiEventDetails, kpiEventTime } from '../helpers/kpi-event-arbitraries.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const kpiEvent = fc.record({ name: fc.string({ maxLength: 110 }), details: kpiEventDetails, time: kpiEventTime, session: cifSession });

describe('CifLogRecordExporter properties, through the OpenTelemetry logs SDK', () => {
  afterEach(() => diag.disable());

  it('accounts for every KPI event emitKpiEvent emits, whatever its name, details, time and session: delivered, or under one drop reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(kpiEvent, { maxLength: 12 }), fc.integer({ min: 1, max: 3 }), async (events, maxEventsPerCall) => {
        const client = new RecordingCifClient();
        const exporter = new CifLogRecordExporter({ client, maxEventsPerCall });
        const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter })] }));
        const logger = provider.getLogger('softphone');
        for (const { name, details, time, session } of events) {
          expect(() => emitKpiEvent(logger, name, details, { time, context: setCifSession(ROOT_CONTEXT, session) })).not.to.throw();
        }
        await provider.forceFlush();
        const stats = exporter.getStats();
        const { missing_identity, identity_too_long, missing_kpi_name, invalid_timestamp } = stats.dropped;
        expectBalanced(stats);
        expect(stats.logRecordsSeen).to.equal(events.length);
        expect(stats.kpiEventsDelivered + missing_identity + identity_too_long + missing_kpi_name + invalid_timestamp).to.equal(events.length);
        expect(client.payloads().reduce((sum, data) => sum + data.events.length, 0)).to.equal(stats.kpiEventsDelivered);
      }),
      { numRuns: 60 },
    );
  });
});
