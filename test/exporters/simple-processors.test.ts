// The SDKs' simple processors at their defaults (SimpleSpanProcessor, SimpleLogRecordProcessor),
// which hand each span or record to the exporter as it ends, on a page whose CIF library starts
// late: a widget's burst of KPI events, then CIF starting before readyTimeoutMillis (20 s) or after
// it, with the page's outbox or without.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifDelivery, CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { expectBalanced, expectNothingDropped, kpiNames, later, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

const SPANS = 1000;
const PER_SPAN = 4;
const RECORDS = 1000;
const TOTAL = SPANS * PER_SPAN + RECORDS;

describe('the simple processors at their defaults, one CifDelivery, a CIF library that starts late', () => {
  let page: ReturnType<typeof pageWindow>;
  const fake = useFakeClock(() => {
    page.restore();
    removePageCif();
  }, Date.parse('2026-11-25T10:15:30.123Z'));
  beforeEach(() => (page = pageWindow()));

  function widget(outbox: 'page default' | 'off', store: MemoryStore) {
    const delivery =
      outbox === 'off'
        ? new CifDelivery({ outbox: false })
        : withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () => new CifDelivery({ outbox: { store, name: '/WebResources/new_softphone/index.html' } }));
    const spanExporter = new CifSpanExporter({ delivery });
    const logExporter = new CifLogRecordExporter({ delivery });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
    const loggerProvider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
    fake.closeables.push(tracerProvider, loggerProvider, spanExporter, logExporter);
    const tracer = tracerProvider.getTracer('softphone');
    const logger = loggerProvider.getLogger('softphone');
    const burst = (): string[] => {
      const names: string[] = [];
      for (let s = 0; s < SPANS; s++) {
        const span = tracer.startSpan('agent action', { attributes: IDENTITY });
        for (let k = 0; k < PER_SPAN; k++) {
          recordKpiEvent(span, `s${s}.${k}`);
          names.push(`s${s}.${k}`);
        }
        span.end();
        emitKpiEvent(logger, `l${s}`);
        names.push(`l${s}`);
      }
      return names;
    };
    return { spanExporter, logExporter, tracerProvider, loggerProvider, burst };
  }

  (['page default', 'off'] as const).forEach((outbox) =>
    it(`delivers each of the ${TOTAL} KPI events once when CIF starts 3 s after the burst, and both providers' forceFlush() resolve, with the outbox ${outbox}`, async () => {
      const store = new MemoryStore();
      const { spanExporter, tracerProvider, loggerProvider, burst } = widget(outbox, store);
      await fake.clock.tickAsync(0);
      const expected = burst();
      const flushed = Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush()]).then(() => 'resolved', (error: unknown) => `rejected: ${String(error)}`);
      await fake.clock.tickAsync(3_000);
      const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
      installFakeCIFramework(globalThis, client);
      await fake.clock.tickAsync(60_000);

      expect(await flushed).to.equal('resolved');
      const sent = client.calls.flatMap(kpiNames);
      expect(sent.length, 'calls made').to.equal(TOTAL);
      expect([...sent].sort()).to.deep.equal([...expected].sort());
      const stats = spanExporter.getStats();
      expectBalanced(stats);
      expectNothingDropped(stats);
      expect(stats).to.include({ spansSeen: SPANS, kpiEventsSent: TOTAL, kpiEventsDelivered: TOTAL, kpiEventsPending: 0 });
      expect(store.length, 'entries left in the outbox').to.equal(0);
    }),
  );

  it(`sends what the page outbox kept once when CIF starts 30 s after the burst, past readyTimeoutMillis, and counts the rest in dropped.cif_not_loaded`, async () => {
    const store = new MemoryStore();
    const { spanExporter, burst } = widget('page default', store);
    await fake.clock.tickAsync(0);
    const expected = burst();
    await fake.clock.tickAsync(30_000);
    const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
    installFakeCIFramework(globalThis, client);
    await fake.clock.tickAsync(60_000);

    const sent = client.calls.flatMap(kpiNames);
    expect(new Set(sent).size, 'sent twice').to.equal(sent.length);
    expect(sent.every((name) => expected.includes(name))).to.equal(true);
    const stats = spanExporter.getStats();
    expectBalanced(stats);
    expect(stats.kpiEventsPending + stats.kpiEventsKept, 'still waiting').to.equal(0);
    expect({ delivered: stats.kpiEventsDelivered, notLoaded: stats.dropped.cif_not_loaded }).to.deep.equal({ delivered: sent.length, notLoaded: TOTAL - sent.length });
    // The burst is more than maxBytes (2 MiB) holds.
    expect(stats.outbox.notStored.full, 'not stored: full').to.be.above(0);
    expect(stats.dropped.cif_not_loaded, 'the calls the outbox had no room for').to.equal(stats.outbox.notStored.full);
    expect(store.length, 'entries left in the outbox').to.equal(0);
  });
});
