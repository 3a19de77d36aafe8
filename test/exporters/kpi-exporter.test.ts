// Both exporters as a widget page runs them: behind the browser batch processor of their SDK at
// its defaults, with the page's own CIF library, under fake timers and a fake `document`.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
// What a bundler resolves `BatchLogRecordProcessor` and `BatchSpanProcessor` to in a page: the ones that flush on page hide.
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import { CifSpanExporter, type CifAnalyticsData } from '../../src/index.js';
import { DEFAULT_OPTIONS } from '../../src/options.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient, installFakeCIFramework, type RecordedCifCall } from '../../src/testing/index.js';
import { expectBalanced, expectNothingDropped, kpiNames, later, pageWindow, removePageCif } from '../helpers/fake-client.js';
import { IDENTITY } from '../helpers/spans.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';

/** The default `maxQueueSize` of both SDK batch processors: what one hides the page with at most. */
const SDK_QUEUE = 2048;
const SDK_BATCH = 512;

interface Widget {
  exporter: CifSpanExporter | CifLogRecordExporter;
  /** Records `names` as KPI events the source's way: one span with an event each, or one log-based event each. */
  record(names: string[]): void;
  shutdown(): Promise<void>;
}

interface Source {
  /** What the SDK batches: spans or log records. */
  items: string;
  /** KPI events per item in a burst: the README's short span per KPI event may carry a few. */
  perItem: number;
  /** The batch sizes the processor has handed to the exporter when the page's `visibilitychange` handler returns. */
  atHide: number[];
  open(client?: RecordingCifClient): Widget;
}

const SOURCES: Source[] = [
  {
    items: 'spans',
    perItem: 4,
    // Every batch, back to back: so the exporter makes its calls before the page can go.
    atHide: [SDK_BATCH, SDK_BATCH, SDK_BATCH, SDK_BATCH],
    open(client) {
      const exporter = new CifSpanExporter(client ? { client } : {});
      const provider = new BasicTracerProvider({ spanProcessors: [new BrowserBatchSpanProcessor({ exporter })] });
      const tracer = provider.getTracer('softphone');
      return {
        exporter,
        record(names) {
          const span = tracer.startSpan('call', { attributes: IDENTITY });
          for (const name of names) span.addEvent(name);
          span.end();
        },
        shutdown: () => provider.shutdown(),
      };
    },
  },
  {
    items: 'log records',
    perItem: 1,
    // The logs SDK exports a moment later, one batch at a time, each after the last has settled.
    atHide: [],
    open(client) {
      const exporter = new CifLogRecordExporter(client ? { client } : {});
      const provider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new BrowserBatchLogRecordProcessor({ exporter })] });
      const logger = provider.getLogger('softphone');
      return {
        exporter,
        record: (names) => names.forEach((name) => emitKpiEvent(logger, name)),
        shutdown: () => provider.shutdown(),
      };
    },
  },
];

/** The KPI event names of every call, in the order made. */
const sentNames = (calls: readonly RecordedCifCall[]) => calls.flatMap(kpiNames);

describe('both exporters behind their browser batch processor at its defaults', () => {
  let clock: InstalledClock;
  let page: ReturnType<typeof pageWindow>;
  const document = usePageDocument();
  const widgets: Widget[] = [];
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: Date.parse('2026-11-25T10:15:30.123Z') });
    page = pageWindow();
  });
  afterEach(async () => {
    try {
      const closing = Promise.all(widgets.splice(0).map((widget) => widget.shutdown()));
      await clock.runAllAsync();
      await closing;
    } catch {
      // Only after a test that failed before its end, which says why: a failing hook would skip the suite.
    } finally {
      clock.uninstall();
      page.restore();
      removePageCif();
    }
  });

  function open(source: Source, client?: RecordingCifClient): Widget {
    const widget = source.open(client);
    widgets.push(widget);
    return widget;
  }

  const hide = () => hidePage(document());

  SOURCES.forEach((source) => {
    const { items, perItem, atHide } = source;

    it(`delivers each KPI event of the ${SDK_QUEUE} ${items} its queue holds once, when the page is hidden during a burst, with the exporter's default maxQueueSize`, async () => {
      const client = new RecordingCifClient({ answer: () => later(2, 'ok') });
      const widget = open(source, client);
      const batches: number[] = [];
      const { exporter } = widget;
      const exportBatch = exporter.export.bind(exporter) as (batch: unknown[], callback: () => void) => void;
      (exporter as { export: typeof exportBatch }).export = (batch, callback) => {
        batches.push(batch.length);
        exportBatch(batch, callback);
      };
      const expected: string[] = [];
      for (let i = 0; i < SDK_QUEUE; i++) {
        const names = Array.from({ length: perItem }, (_, k) => `${i}.${k}`);
        expected.push(...names);
        widget.record(names);
      }
      hide();
      expect(batches).to.deep.equal(atHide);
      await clock.tickAsync(60_000);

      expect(batches).to.deep.equal([SDK_BATCH, SDK_BATCH, SDK_BATCH, SDK_BATCH]);
      expect(sentNames(client.calls).sort()).to.deep.equal(expected.sort());
      const stats = exporter.getStats();
      expectBalanced(stats);
      expectNothingDropped(stats);
      expect(stats).to.include({ kpiEventsSent: expected.length, kpiEventsDelivered: expected.length, kpiEventsPending: 0, callsFailed: 0 });
    });

    const appears: Array<{ when: string; at: number; lost: number }> = [
      { when: 'after 5 s, when the batch processor first exports', at: 5_000, lost: 0 },
      // The items are exported within 5 s, so their wait for CIF has run out by then.
      { when: `after readyTimeoutMillis (${DEFAULT_OPTIONS.readyTimeoutMillis} ms)`, at: 5_000 + DEFAULT_OPTIONS.readyTimeoutMillis + 5_000, lost: 3 },
    ];
    appears.forEach(({ when, at, lost }) =>
      it(`sends the KPI events of ${items} once a CIF library that appears ${when} raises CIFInitDone, and counts those it waited too long for`, async () => {
        const client = new RecordingCifClient();
        setTimeout(() => installFakeCIFramework(globalThis, client), at);
        const widget = open(source);
        widget.record(['CallAccepted', 'CallHold', 'CallResume']);
        await clock.tickAsync(at - 1);
        expect(client.calls).to.deep.equal([]);
        await clock.tickAsync(1);
        widget.record(['CallEnded']);
        await clock.tickAsync(60_000);

        const early = lost === 0 ? ['CallAccepted', 'CallHold', 'CallResume'] : [];
        expect(sentNames(client.calls)).to.deep.equal([...early, 'CallEnded']);
        const stats = widget.exporter.getStats();
        expectBalanced(stats);
        expect(stats).to.include({ kpiEventsSent: 4, kpiEventsDelivered: 4 - lost, kpiEventsPending: 0, callsFailed: lost });
        expect(stats.dropped.cif_not_loaded).to.equal(lost);
      }),
    );

    const HOUR = 3_600_000;
    // A sleep fires the deadline of a call at the host before its answer can be read: the host may have it.
    const steps: Array<{ how: string; step(): void; wall: number; timedOut: number }> = [
      { how: 'the system clock is set back an hour', step: () => clock.setSystemTime(Date.now() - HOUR), wall: -HOUR, timedOut: 0 },
      { how: 'the system clock is set forward an hour', step: () => clock.setSystemTime(Date.now() + HOUR), wall: HOUR, timedOut: 0 },
      { how: 'the laptop sleeps an hour (both clocks jump, late timers fire)', step: () => clock.jump(HOUR), wall: HOUR, timedOut: 1 },
    ];
    steps.forEach(({ how, step, wall, timedOut }) =>
      it(`hands the KPI events of ${items} waiting in the processor and at the host over once when ${how}, each stamped with the wall clock of its recording, ${timedOut ? 'counting the call at the host as timed out' : 'and delivers them'}`, async () => {
        const client = new RecordingCifClient({ answer: () => later(2_000, 'ok') });
        const widget = open(source, client);
        const start = Date.now();
        widget.record(['CallAccepted']);
        await clock.tickAsync(5_000);
        widget.record(['CallHold']);
        // Both processors have exported a call the host answers after the step.
        await clock.tickAsync(1_100);
        expect(widget.exporter.getStats().callsInFlight).to.equal(1);
        step();
        widget.record(['CallEnded']);
        await clock.tickAsync(60_000);

        const stamps = client.calls.map((call) => {
          const [event] = (call.data as CifAnalyticsData).events;
          return [event!.kpiEventName, event!.eventTimestamp];
        });
        // In time order within a batch, so a clock set back reorders them: compared as members.
        expect(stamps).to.have.deep.members([
          ['CallAccepted', new Date(start).toISOString()],
          ['CallHold', new Date(start + 5_000).toISOString()],
          ['CallEnded', new Date(start + 6_100 + wall).toISOString()],
        ]);
        const stats = widget.exporter.getStats();
        expectBalanced(stats);
        expect(stats).to.include({ kpiEventsDelivered: 3 - timedOut, kpiEventsPending: 0, callsMade: 3, callsTimedOut: timedOut });
        expect(stats.dropped).to.include({ timed_out: timedOut });
        expect(Object.values(stats.dropped).reduce((a, b) => a + b)).to.equal(timedOut);
      }),
    );
  });
});
