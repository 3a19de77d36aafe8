// A widget that sends span events and log-based events through one CifDelivery, as
// docs/delivery.md wires them, with the browser batch processors of both SDKs at their defaults
// and the page's outbox: CIF is still starting when the page hides and the agent reloads it. The
// reloaded page, whose CIF is ready, sends what the first page left once, beside its own.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
// What a bundler resolves the two batch processors to in a page: the ones that flush on page hide.
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import { CifDelivery, CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, expectNothingDropped, kpiNames } from '../helpers/fake-client.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

const SPANS = 300;
const PER_SPAN = 3;
const RECORDS = 300;

describe('span and log exporters of two SDKs sharing one CifDelivery, through a reload while CIF starts', () => {
  const document = usePageDocument();
  const fake = useFakeClock(undefined, Date.parse('2026-11-25T10:15:30.123Z'));

  /** One page of the widget: one delivery on the page's outbox, a tracer and a logger provider with the browser batch processors at their defaults. */
  function page(store: MemoryStore, locks: ReturnType<ReturnType<typeof createLockManager>['client']>, options: { client: RecordingCifClient; ready?: Promise<void> }) {
    const delivery = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifDelivery({ ...options, outbox: { store, name: '/WebResources/new_softphone/index.html' } }));
    const spanExporter = new CifSpanExporter({ delivery });
    const logExporter = new CifLogRecordExporter({ delivery });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BrowserBatchSpanProcessor({ exporter: spanExporter })] });
    const loggerProvider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new BrowserBatchLogRecordProcessor({ exporter: logExporter })] });
    const tracer = tracerProvider.getTracer('softphone');
    const logger = loggerProvider.getLogger('softphone');
    const record = (prefix: string): string[] => {
      const names: string[] = [];
      for (let s = 0; s < SPANS; s++) {
        const span = tracer.startSpan('agent action', { attributes: IDENTITY });
        for (let k = 0; k < PER_SPAN; k++) {
          recordKpiEvent(span, `${prefix}s${s}.${k}`);
          names.push(`${prefix}s${s}.${k}`);
        }
        span.end();
      }
      for (let r = 0; r < RECORDS; r++) {
        emitKpiEvent(logger, `${prefix}l${r}`);
        names.push(`${prefix}l${r}`);
      }
      return names;
    };
    return { spanExporter, logExporter, tracerProvider, loggerProvider, record };
  }

  it('sends every KPI event of both exporters the first page left once from the reloaded page, beside its own, each page balanced', async () => {
    const store = new MemoryStore();
    const manager = createLockManager();
    const firstLocks = manager.client();
    const first = page(store, firstLocks, { client: new RecordingCifClient(), ready: new Promise<void>(() => {}) });
    await fake.clock.tickAsync(0);
    const left = first.record('a.');
    hidePage(document());
    // The logs SDK exports a moment after the event, one batch at a time.
    await fake.clock.tickAsync(50);
    const firstStats = first.spanExporter.getStats();
    expect(firstStats.kpiEventsSent, 'handed to delivery before the page went').to.equal(left.length);
    expect(firstStats.outbox.stored, 'kept for the next page').to.equal(left.length);
    expectBalanced(firstStats);
    // The reload: the first page goes without shutting anything down, its locks let go.
    firstLocks.crash();

    const host = new RecordingCifClient();
    const second = page(store, manager.client(), { client: host });
    fake.closeables.push(second.tracerProvider, second.loggerProvider, second.spanExporter, second.logExporter);
    await fake.clock.tickAsync(0);
    const own = second.record('b.');
    await fake.clock.tickAsync(60_000);

    const sent = host.calls.flatMap(kpiNames);
    expect(sent.length, 'calls made').to.equal(left.length + own.length);
    expect([...sent].sort()).to.deep.equal([...left, ...own].sort());
    const stats = second.spanExporter.getStats();
    expectBalanced(stats);
    expectNothingDropped(stats);
    expect(stats).to.include({ kpiEventsSent: own.length, kpiEventsDelivered: left.length + own.length, kpiEventsPending: 0 });
    expect(stats.outbox.replayed).to.equal(left.length);
    expect(second.logExporter.getStats(), 'one delivery, one set of delivery counters').to.include({ kpiEventsDelivered: left.length + own.length });
    expect(store.length, 'entries left in the outbox').to.equal(0);
  });
});
