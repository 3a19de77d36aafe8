// A widget that records a KPI event in its own `visibilitychange` handler (the agent leaves the
// softphone tab) while CIF is still starting, with the README's wiring: a browser batch processor
// at its defaults and the page's outbox. As docs/page-lifecycle.md says, a handler added before the
// provider needs nothing more, as the processor's own flush on hide comes after it; one added after
// it records into the queue just flushed. The page then goes (a reload); the next page, whose CIF
// is ready, sends what the outbox kept.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, kpiNames } from '../helpers/fake-client.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

/** Where the widget adds its handler; one added after the provider calls its forceFlush() there, but in the last case. */
type Added = 'before the provider' | 'after the provider' | 'after the provider, calling nothing';

describe("a KPI event recorded in the widget's own visibilitychange handler while CIF starts, the page then reloaded", () => {
  const document = usePageDocument();
  const fake = useFakeClock(undefined, Date.parse('2026-11-25T10:15:30.123Z'));

  /** A page of the widget as the README wires it, its outbox in `store`; with `onHidden`, its own handler is added before or after the provider is made. */
  function widget(store: MemoryStore, locks: ReturnType<ReturnType<typeof createLockManager>['client']>, client: RecordingCifClient, ready?: Promise<void>, handler?: Added) {
    const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifSpanExporter({ client, ...(ready && { ready }), outbox: { store, name: '/softphone' } }));
    const kpi = (name: string) => {
      const span = tracer.startSpan('agent action', { attributes: IDENTITY });
      recordKpiEvent(span, name);
      span.end();
    };
    const onHidden = () => {
      if (document().visibilityState !== 'hidden') return;
      kpi('AgentLeftTab');
      if (handler === 'after the provider') provider.forceFlush().catch(() => {});
    };
    if (handler === 'before the provider') document().addEventListener('visibilitychange', onHidden);
    const provider = new BasicTracerProvider({ spanProcessors: [new BrowserBatchSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('softphone');
    if (handler?.startsWith('after')) document().addEventListener('visibilitychange', onHidden);
    return { exporter, provider, kpi };
  }

  (['before the provider', 'after the provider'] as const).forEach((added) =>
    it(`keeps for the next page a KPI event recorded in a visibilitychange handler added ${added === 'after the provider' ? `${added}, which calls forceFlush()` : added}`, async () => {
      const store = new MemoryStore();
      const manager = createLockManager();
      const firstLocks = manager.client();
      const first = widget(store, firstLocks, new RecordingCifClient(), new Promise<void>(() => {}), added);
      await fake.clock.tickAsync(0);
      first.kpi('CallAccepted');
      hidePage(document());
      // The page goes at the end of this task, with whatever the outbox holds by then.
      await fake.clock.tickAsync(0);
      const left = first.exporter.getStats();
      expectBalanced(left);
      firstLocks.crash();

      const host = new RecordingCifClient();
      const next = widget(store, manager.client(), host);
      fake.closeables.push(next.provider, next.exporter);
      await fake.clock.tickAsync(10_000);
      expect(host.calls.flatMap(kpiNames).sort(), `seen by the first page's exporter: ${left.spansSeen} spans`).to.deep.equal(['AgentLeftTab', 'CallAccepted']);
    }),
  );

  // The logs SDK 0.2xx returns from a forceFlush() called while its own flush runs, without flushing.
  ([['before the provider', ['AgentLeftTab', 'CallAccepted']], ['after the provider', ['CallAccepted']]] as const).forEach(([added, sent]) =>
    it(`keeps for the next page ${sent.length === 2 ? 'a log-based KPI event emitted in a visibilitychange handler added before the provider' : 'none of the log-based KPI event emitted in a handler added after the provider, which calls forceFlush()'}`, async () => {
      const store = new MemoryStore();
      const manager = createLockManager();
      const logWidget = (locks: ReturnType<typeof manager.client>, client: RecordingCifClient, ready?: Promise<void>, handler?: typeof added) => {
        const exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () => new CifLogRecordExporter({ client, ...(ready && { ready }), outbox: { store, name: '/softphone' } }));
        const emit = (name: string) => emitKpiEvent(logger, name);
        const onHidden = () => {
          if (document().visibilityState !== 'hidden') return;
          emit('AgentLeftTab');
          if (handler === 'after the provider') provider.forceFlush().catch(() => {});
        };
        if (handler === 'before the provider') document().addEventListener('visibilitychange', onHidden);
        const provider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new BrowserBatchLogRecordProcessor({ exporter })] });
        const logger = provider.getLogger('softphone');
        if (handler === 'after the provider') document().addEventListener('visibilitychange', onHidden);
        return { exporter, provider, emit };
      };
      const firstLocks = manager.client();
      const first = logWidget(firstLocks, new RecordingCifClient(), new Promise<void>(() => {}), added);
      await fake.clock.tickAsync(0);
      first.emit('CallAccepted');
      hidePage(document());
      // The logs SDK exports a moment after the event; the page goes soon after.
      await fake.clock.tickAsync(50);
      const left = first.exporter.getStats();
      expectBalanced(left);
      firstLocks.crash();

      const host = new RecordingCifClient();
      const next = logWidget(manager.client(), host);
      fake.closeables.push(next.provider, next.exporter);
      await fake.clock.tickAsync(10_000);
      expect(host.calls.flatMap(kpiNames).sort(), `seen by the first page's exporter: ${left.logRecordsSeen} records`).to.deep.equal(sent);
      expect(left.logRecordsSeen).to.equal(sent.length);
    }),
  );

  it("leaves a KPI event recorded in a handler added after the provider, which calls nothing, in the processor's queue as the page goes", async () => {
    const store = new MemoryStore();
    const first = widget(store, createLockManager().client(), new RecordingCifClient(), new Promise<void>(() => {}), 'after the provider, calling nothing');
    fake.closeables.push(first.provider, first.exporter);
    await fake.clock.tickAsync(0);
    first.kpi('CallAccepted');
    hidePage(document());
    await fake.clock.tickAsync(0);
    // The processor flushed as the page hid, before the handler ran: the exporter had one span, and the outbox one call.
    expect(first.exporter.getStats()).to.include({ spansSeen: 1, kpiEventsKept: 0 });
    expect(first.exporter.getStats().outbox.stored).to.equal(1);
  });
});
