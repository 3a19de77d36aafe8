import { ROOT_CONTEXT, diag } from '@opentelemetry/api';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import fc from 'fast-check';
import { setCifSession, type CifKpiEventDetails } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const text = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 95, maxLength: 2100 }));
const details: fc.Arbitrary<CifKpiEventDetails | undefined> = fc.option(
  fc.record(
    {
      reason: text,
      additionalData: text,
      notificationResponseAction: text,
      externalCorrelationId: text,
      customData: fc.dictionary(fc.constantFrom('msdyn_customattribute1', 'msdyn_customattribute2', 'Not A Column', '__proto__', ''), fc.oneof(text, fc.integer(), fc.boolean())),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
/** Milliseconds, as `emitKpiEvent`'s `time` option takes them: within Dataverse's dates, outside them, or no number at all. */
const time = fc.option(fc.oneof(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.constantFrom(Number.NaN, -7_000_000_000_000, 1e15, Infinity)), { nil: undefined });
const session = fc.record({ conversationId: fc.string({ maxLength: 105 }), providerSessionId: fc.string({ maxLength: 105 }) }, { requiredKeys: [] });
const kpiEvent = fc.record({ name: fc.string({ maxLength: 110 }), details, time, session });

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
