// A flush-on-hide burst while CIF is not ready yet: the browser batch processors at their
// defaults hold 2048 spans (a widget's span carries a few KPI events, 4 here) and 2048 log
// records; the page hides before the CIF library has raised CIFInitDone, then the library starts
// (or the page goes). Span events alone, and span events with log-based events through one
// CifDelivery, as docs/delivery.md shows.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
// What a bundler resolves the two batch processors to in a page: the ones that flush on page hide.
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import { OUTBOX_DEFAULTS } from '../../src/delivery/outbox.js';
import { CifDelivery, CifSpanExporter } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { expectBalanced, expectNothingDropped, kpiNames, later, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

/** The default maxQueueSize of both SDK batch processors. */
const SPANS = 2048;
const PER_SPAN = 4;

/**
 * What `make` makes with the outbox `off`, or with the page's outbox over `store` and the page's
 * Web Locks, under the name a Dynamics 365 web resource has.
 */
function onPage<T>(outbox: 'page default' | 'off', store: MemoryStore, make: (options: { outbox: false | { store: MemoryStore; name: string } }) => T): T {
  if (outbox === 'off') return make({ outbox: false });
  const { locks } = createLockManager().client();
  return withPageGlobals({ navigator: { locks } }, () => make({ outbox: { store, name: '/WebResources/new_softphone/index.html' } }));
}

/**
 * Ends `count` spans (by default the 2048 the processor holds) of `PER_SPAN` KPI events each, numbered from `from`,
 * and with `logger` a KPI event log record after each span; the names of the KPI events go to `expected`.
 */
function endBurst(tracer: Tracer, expected: string[], logger?: Logger, count = SPANS, from = 0): void {
  for (let s = from; s < from + count; s++) {
    const span = tracer.startSpan('agent action', { attributes: IDENTITY });
    for (let k = 0; k < PER_SPAN; k++) {
      span.addEvent(`s${s}.${k}`);
      expected.push(`s${s}.${k}`);
    }
    span.end();
    if (!logger) continue;
    emitKpiEvent(logger, `l${s}`);
    expected.push(`l${s}`);
  }
}

describe('a flush-on-hide burst while CIF is not yet ready', function () {
  // Thousands of calls a test: seconds on an idle machine, several times that on a busy one.
  this.timeout(60_000);
  let clock: InstalledClock;
  let page: ReturnType<typeof pageWindow>;
  const document = usePageDocument();
  const closeables: Array<{ shutdown(): Promise<unknown> }> = [];
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: Date.parse('2026-11-25T10:15:30.123Z') });
    page = pageWindow();
  });
  afterEach(async () => {
    try {
      const closing = Promise.all(closeables.splice(0).map((c) => c.shutdown().catch(() => {})));
      await clock.runAllAsync();
      await closing;
    } finally {
      clock.uninstall();
      page.restore();
      removePageCif();
    }
  });

  describe('of 2048 spans x 4 KPI events', () => {
    /** The widget as the README wires it, on the page's CIF library; `outbox` as the page gives it. */
    function widget(outbox: 'page default' | 'off') {
      const store = new MemoryStore();
      const exporter = onPage(outbox, store, (options) => new CifSpanExporter(options));
      const provider = new BasicTracerProvider({ spanProcessors: [new BrowserBatchSpanProcessor({ exporter })] });
      closeables.push(provider, exporter);
      const tracer = provider.getTracer('softphone');
      const expected: string[] = [];
      return { exporter, store, burst: () => endBurst(tracer, expected), expected };
    }

    (['page default', 'off'] as const).forEach((outbox) =>
      it(`delivers every KPI event once when the CIF library starts 3 s after the page hid, with the outbox ${outbox}`, async () => {
        const { exporter, store, burst, expected } = widget(outbox);
        await clock.tickAsync(0);
        burst();
        hidePage(document());
        await clock.tickAsync(3_000);
        const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
        installFakeCIFramework(globalThis, client);
        await clock.tickAsync(120_000);

        expect(client.calls.flatMap(kpiNames).sort()).to.deep.equal([...expected].sort());
        const stats = exporter.getStats();
        expectBalanced(stats);
        expectNothingDropped(stats);
        expect(stats).to.include({ spansSeen: SPANS, kpiEventsSent: SPANS * PER_SPAN, kpiEventsDelivered: SPANS * PER_SPAN, kpiEventsPending: 0, kpiEventsKept: 0 });
        // Nothing left for a later page to send again.
        expect(store.length, 'entries left in the outbox').to.equal(0);
      }),
    );

    it('keeps in the outbox what maxBytes holds of the burst when the page goes before CIF starts, and counts the rest in outbox.notStored.full', async () => {
      const { exporter, store, burst } = widget('page default');
      await clock.tickAsync(0);
      burst();
      hidePage(document());
      await clock.tickAsync(0);
      const stats = exporter.getStats();
      expect(stats.kpiEventsSent).to.equal(SPANS * PER_SPAN);
      // The page is about to go: what the outbox did not store is counted, and lost with it.
      expect(stats.outbox.stored + stats.outbox.notStored.full).to.equal(SPANS * PER_SPAN);
      expect(stats.outbox.notStored.full).to.be.above(0);
      // Stored up to maxBytes, two bytes a character as browsers count them: no room is left for one more call.
      const entries = [...store.items];
      const bytes = entries.reduce((sum, [key, value]) => sum + 2 * (key.length + value.length), 0);
      expect(entries).to.have.length(stats.outbox.stored);
      expect(bytes).to.be.at.most(OUTBOX_DEFAULTS.maxBytes).and.above(OUTBOX_DEFAULTS.maxBytes - bytes / entries.length);
    });
  });

  describe('of 2048 spans x 4 KPI events and 2048 log records, through one CifDelivery', () => {
    const TOTAL = SPANS * PER_SPAN + SPANS;

    /** Both exporters on one delivery of the page's CIF library, as the docs wire them; `outbox` as the page gives it. */
    function widget(outbox: 'page default' | 'off') {
      const store = new MemoryStore();
      const delivery = onPage(outbox, store, (options) => new CifDelivery(options));
      const spanExporter = new CifSpanExporter({ delivery });
      const logExporter = new CifLogRecordExporter({ delivery });
      const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BrowserBatchSpanProcessor({ exporter: spanExporter })] });
      const loggerProvider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new BrowserBatchLogRecordProcessor({ exporter: logExporter })] });
      closeables.push(tracerProvider, loggerProvider, spanExporter, logExporter);
      const tracer = tracerProvider.getTracer('softphone');
      const logger = loggerProvider.getLogger('softphone');
      const expected: string[] = [];
      const burst = () => endBurst(tracer, expected, logger);
      return { spanExporter, logExporter, store, burst, expected, tracer, logger };
    }

    // Each processor exports a batch of 512 as its queue reaches it, which waits for CIF while the queue fills to 2048
    // again; the page then hides, and each flushes its whole queue: 2560 spans and 2560 log records at once.
    it('delivers each KPI event once when both queues fill while a batch of each waits for CIF, then the page hides', async () => {
      const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
      const { spanExporter, logExporter, tracer, logger, expected } = widget('off');
      await clock.tickAsync(0);
      endBurst(tracer, expected, logger, 512);
      await clock.tickAsync(0);
      endBurst(tracer, expected, logger, SPANS, 512);
      hidePage(document());
      await clock.tickAsync(3_000);
      installFakeCIFramework(globalThis, client);
      await clock.tickAsync(120_000);

      const all = (SPANS + 512) * (PER_SPAN + 1);
      const stats = spanExporter.getStats();
      expectBalanced(stats);
      expectNothingDropped(stats);
      expect(stats).to.include({ kpiEventsSent: all, kpiEventsDelivered: all });
      expect(logExporter.getStats()).to.include({ logRecordsSeen: SPANS + 512 });
      expect(client.calls.flatMap(kpiNames).sort()).to.deep.equal([...expected].sort());
    });

    const cases: Array<{ outbox: 'page default' | 'off'; cifAt: 'before the burst' | '3 s after the page hid' }> = [
      { outbox: 'page default', cifAt: 'before the burst' },
      { outbox: 'page default', cifAt: '3 s after the page hid' },
      { outbox: 'off', cifAt: '3 s after the page hid' },
    ];
    cases.forEach(({ outbox, cifAt }) =>
      it(`delivers each of the ${TOTAL} KPI events of both queues once when the CIF library starts ${cifAt}, with the outbox ${outbox}`, async () => {
        const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
        const { spanExporter, logExporter, store, burst, expected } = widget(outbox);
        if (cifAt === 'before the burst') installFakeCIFramework(globalThis, client);
        await clock.tickAsync(0);
        burst();
        hidePage(document());
        await clock.tickAsync(3_000);
        if (cifAt !== 'before the burst') installFakeCIFramework(globalThis, client);
        await clock.tickAsync(120_000);

        const stats = spanExporter.getStats();
        expectBalanced(stats);
        expectNothingDropped(stats);
        expect(client.calls.flatMap(kpiNames).sort()).to.deep.equal([...expected].sort());
        expect(stats).to.include({ kpiEventsSent: TOTAL, kpiEventsDelivered: TOTAL, kpiEventsPending: 0, kpiEventsKept: 0 });
        expect(logExporter.getStats()).to.include({ logRecordsSeen: SPANS, kpiEventsDelivered: TOTAL });
        expect(store.length, 'entries left in the outbox').to.equal(0);
      }),
    );
  });
});
