// CifLogRecordExporter given one batch of the logs SDK's own records, each with an odd field, and
// getStats() on a page whose structuredClone another library took or replaced.
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { SeverityNumber, type LogRecord } from '@opentelemetry/api-logs';
import { expect } from 'chai';
import { withCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const T1 = '2026-11-25T10:15:30.123Z';
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** The logs SDK wired as the README says, batching, under the CIF session CALL. */
function batchingPipeline() {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
  const provider = shutDownAfterTest(
    new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })] }),
  );
  const flush = async () => {
    await provider.forceFlush();
    await exporter.forceFlush();
  };
  return { client, exporter, logger: provider.getLogger('softphone'), flush };
}

describe('CifLogRecordExporter given one batch of the SDK records with every odd field', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  it('sends the named KPI events of the batch, counts the unnamed ones, and leaves the plain lines alone, its counters balanced', async () => {
    const { client, exporter, logger, flush } = batchingPipeline();
    const lines = captureLevels();
    const records: LogRecord[] = [
      { body: 'a plain line, body only' },
      { severityNumber: SeverityNumber.ERROR },
      { eventName: null as never, body: 'eventName null, from an untyped caller' },
      { eventName: 42 as never },
      { attributes: { 'cif.kpi.name': '' }, body: 'a KPI event with an empty name' },
      { eventName: 'ObservedOnly', observedTimestamp: Date.parse(T1) },
      { eventName: 'WithException', exception: new Error('with an exception field') },
      { eventName: 'NestedId', attributes: { 'cif.participant.id': { nested: ['map'] } } },
      { eventName: 'exception' },
    ];
    withCifSession(CALL, () => {
      for (const record of records) logger.emit(record);
      emitKpiEvent(logger, 'CallAccepted');
    });
    await flush();
    diag.disable();
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(client.payloads().flatMap((data) => data.events.map((event) => event.kpiEventName))).to.have.members(['42', 'ObservedOnly', 'WithException', 'NestedId', 'CallAccepted']);
    expect(client.payloads().find((data) => data.events[0]!.kpiEventName === 'NestedId')?.participantId).to.equal('{"nested":["map"]}');
    expect({ logRecordsSeen: stats.logRecordsSeen, cifLogRecords: stats.cifLogRecords, missing: stats.dropped.missing_kpi_name, delivered: stats.kpiEventsDelivered }).to.deep.equal({
      logRecordsSeen: 10,
      cifLogRecords: 10,
      missing: 1,
      delivered: 5,
    });
    expect(lines.filter((line) => line.startsWith('warn'))).to.deep.equal([
      'warn KPI events dropped: a log record has a cif.kpi.name or eventName that is empty or cannot be read. Counted in getStats().dropped.missing_kpi_name; shown once.',
    ]);
  });
});

describe("getStats() on a page whose structuredClone another library took or replaced", () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  // structuredClone is a page global as JSON is, and newer: an older engine lacks it, a hardened page may take it
  // away, and a polyfill may clone only what it knows.
  const pages: Array<[what: string, replacement: unknown]> = [
    ['has none', undefined],
    [
      'has one that throws',
      () => {
        throw new Error('polyfill: cannot clone');
      },
    ],
  ];
  pages.forEach(([what, replacement]) =>
    it(`answers every counter, and does not throw into the page, when the page ${what}`, async () => {
      const { exporter, logger, flush } = batchingPipeline();
      withCifSession(CALL, () => emitKpiEvent(logger, 'CallAccepted'));
      await flush();
      const real = globalThis.structuredClone;
      let stats: unknown;
      let thrown: unknown;
      globalThis.structuredClone = replacement as typeof structuredClone;
      try {
        stats = exporter.getStats();
      } catch (error) {
        thrown = error;
      } finally {
        globalThis.structuredClone = real;
      }
      expect(thrown, 'thrown').to.equal(undefined);
      expect(stats).to.deep.equal(exporter.getStats());
    }),
  );
});
