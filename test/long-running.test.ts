// A long-running page: thousands of calls, a host that does not answer, exporters made and shut
// down, tabs closed and reopened. Nothing from outside may make memory grow without bound, leave
// a listener, lock or timer behind, or leave a rejection unhandled. Each bound is a count or a
// WeakRef after gc(), never a time.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { CifDelivery, CifSpanExporter, setCifSession, type CifAnalyticsClient } from '../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../src/logs.js';
import { installFakeCIFramework } from '../src/testing/index.js';
import { withPageGlobals } from './helpers/page-globals.js';
import { useFakeClock } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';
import { createLockManager, MemoryStore } from './helpers/web-storage.js';

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (see .mocharc.json)');
  collect();
};

describe('a day on an agent desk', function () {
  // Thousands of calls a test: seconds on an idle machine, several times that on a busy one.
  this.timeout(60_000);
  const page = useFakeClock();

  it('lets go of the payload of every call the host never answers once it timed out and its slot is free', async () => {
    const { clock } = page;
    const payloads: Array<WeakRef<object>> = [];
    // As the CIF library does while the host page never replies: it keeps each call's resolver, not its data.
    const unanswered: Array<(answer: string) => void> = [];
    const client: CifAnalyticsClient = {
      logAnalyticsEvent(data) {
        payloads.push(new WeakRef(data as object));
        return new Promise((resolve) => unanswered.push(resolve));
      },
    };
    const exporter = new CifSpanExporter({ client, outbox: false, timeoutMillis: 1_000, maxConcurrentCalls: 500 });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    page.closeables.push(provider);
    const tracer = provider.getTracer('softphone');
    for (let i = 0; i < 500; i++) {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent(`CallAccepted${i}`, { 'cif.kpi.additional_data': 'x'.repeat(1_000) });
      span.end();
    }
    await clock.tickAsync(0);
    expect(exporter.getStats()).to.include({ callsMade: 500, callsInFlight: 500 });
    // Past its timeout, and past the host's own limit, which frees the slots.
    await clock.tickAsync(100_000);
    expect(exporter.getStats()).to.include({ callsTimedOut: 500, callsInFlight: 0, callsAbandoned: 0 });
    await provider.shutdown();
    await clock.tickAsync(0);
    gc();
    await clock.tickAsync(0);
    gc();
    expect(unanswered).to.have.length(500);
    expect(payloads.filter((ref) => ref.deref() !== undefined).length, 'payloads still held').to.equal(0);
  });

  it('leaves no listener, lock or timer, and holds no exporter, after a thousand exporters were created, used and shut down on one page', async () => {
    const window = countingWindow();
    const manager = createLockManager();
    const store = new MemoryStore();
    const fake = installFakeCIFramework(globalThis);
    try {
      const made = await (async () => {
        const refs: Array<WeakRef<object>> = [];
        for (let i = 0; i < 1_000; i++) {
          // Every other one shares a CifDelivery with a log record exporter; each uses the page's CIF library and the outbox.
          const delivery = i % 2 ? new CifDelivery({ outbox: { store, name: 'widget' } }) : undefined;
          const exporter = withPageGlobals({ navigator: { locks: manager.client().locks } }, () =>
            new CifSpanExporter(delivery ? { delivery } : { outbox: { store, name: 'widget' } }),
          );
          const tracers = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
          const span = tracers.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
          span.addEvent(`Span${i}`);
          span.end();
          const logExporter = delivery && new CifLogRecordExporter({ delivery });
          const loggers = logExporter && new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new BatchLogRecordProcessor({ exporter: logExporter })] });
          const session = setCifSession(ROOT_CONTEXT, { conversationId: `conv-${i}`, providerSessionId: `prov-${i}` });
          if (loggers) emitKpiEvent(loggers.getLogger('softphone'), `Log${i}`, undefined, { context: session });
          await Promise.all([tracers.shutdown(), loggers?.shutdown()]);
          refs.push(new WeakRef(exporter));
          if (logExporter) refs.push(new WeakRef(logExporter), new WeakRef(delivery!));
        }
        return refs;
      })();
      await page.clock.tickAsync(0);
      expect(fake.client.calls).to.have.length(1_500);
      expect(window.counts(), 'window listeners left').to.deep.equal({});
      expect(manager.held(), 'locks held').to.deep.equal([]);
      expect(manager.waiting(), 'locks asked for').to.deep.equal([]);
      expect(page.clock.countTimers(), 'timers pending').to.equal(0);
      expect([...store.items.keys()].filter((k) => k.startsWith('otel-cif/')), 'calls stored').to.deep.equal([]);
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        await page.clock.tickAsync(0);
        gc();
      }
      expect(made.flatMap((ref, i) => (ref.deref() === undefined ? [] : [i])), 'exporters and deliveries still reachable').to.deep.equal([]);
    } finally {
      fake.uninstall();
      window.restore();
    }
  });

  // The README's log block awaits loggerProvider.forceFlush() after each KPI event, and the logs SDK flushes its
  // exporter while an export is under way: each flush waits on the calls open, and none may keep what it waited for.
  it("lets go of the host's rejections once each forceFlush() made while their calls were open has resolved", async () => {
    const { clock } = page;
    const reasons: Array<WeakRef<object>> = [];
    const client: CifAnalyticsClient = {
      logAnalyticsEvent() {
        const reason = { message: 'Provider not active', detail: 'x'.repeat(1_000) };
        reasons.push(new WeakRef(reason));
        return Promise.reject(reason);
      },
    };
    const exporter = new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    page.closeables.push(provider);
    const tracer = provider.getTracer('softphone');
    for (let i = 0; i < 50; i++) {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted');
      span.end();
      const flushed = exporter.forceFlush();
      await clock.tickAsync(0);
      await flushed;
    }
    expect(exporter.getStats().dropped.host_error).to.equal(50);
    for (let i = 0; i < 3; i++) {
      await clock.tickAsync(0);
      gc();
    }
    expect(reasons.filter((ref) => ref.deref() !== undefined).length, 'rejections still held').to.equal(0);
  });

  // The CIF library keeps the resolver of a call the host page never answers (the provider is not active, the widget
  // is outside the host's frame): the answer's callbacks may not keep the exporter, nor what made it.
  it('holds no exporter shut down while the host never answered its calls, a widget re-initialised again and again', async () => {
    const unanswered: Array<(answer: string) => void> = [];
    const client: CifAnalyticsClient = { logAnalyticsEvent: () => new Promise((resolve) => unanswered.push(resolve)) };
    const made = await (async () => {
      const refs: Array<WeakRef<object>> = [];
      for (let i = 0; i < 100; i++) {
        const exporter = new CifSpanExporter({ client, outbox: false, timeoutMillis: 10 });
        const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
        const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY }, ROOT_CONTEXT);
        span.addEvent('CallAccepted');
        span.end();
        // The batch processor's flush rejects with the export's failure, as the call timed out.
        const closed = Promise.all([provider.forceFlush().catch(() => {}).then(() => provider.shutdown()), exporter.shutdown()]);
        await page.clock.tickAsync(1_000);
        await closed;
        refs.push(new WeakRef(exporter));
      }
      return refs;
    })();
    expect(unanswered).to.have.length(100);
    for (let i = 0; i < 3; i++) {
      await page.clock.tickAsync(0);
      gc();
    }
    expect(made.filter((ref) => ref.deref() !== undefined).length, 'shut-down exporters still reachable').to.equal(0);
  });

  /**
   * `globalThis` as a window: listeners by type, a listener's `signal` honoured, and `dispatchEvent`
   * calling each one. Returns the listeners left per type, and how to undo it.
   */
  function countingWindow() {
    const listeners = new Map<string, Set<EventListener>>();
    const of = (type: string) => listeners.get(type) ?? listeners.set(type, new Set()).get(type)!;
    const g = globalThis as Record<string, unknown>;
    g['addEventListener'] = (type: string, listener: EventListener, options?: AddEventListenerOptions) => {
      if (options?.signal?.aborted) return;
      of(type).add(listener);
      options?.signal?.addEventListener('abort', () => of(type).delete(listener), { once: true });
    };
    g['removeEventListener'] = (type: string, listener: EventListener) => void of(type).delete(listener);
    g['dispatchEvent'] = (event: Event) => {
      for (const listener of [...of(event.type)]) listener(event);
      return true;
    };
    return {
      counts: () => Object.fromEntries([...listeners].filter(([, set]) => set.size > 0).map(([type, set]) => [type, set.size])),
      restore() {
        delete g['addEventListener'];
        delete g['removeEventListener'];
        delete g['dispatchEvent'];
      },
    };
  }
});
