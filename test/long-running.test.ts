// A long-running page: thousands of calls, a host that does not answer, exporters made and shut
// down, tabs closed and reopened. Nothing from outside may make memory grow without bound, leave
// a listener, lock or timer behind, or leave a rejection unhandled. Each bound is a count or a
// WeakRef after gc(), never a time.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { CifDelivery, CifSpanExporter, setCifSession, type CifAnalyticsClient, type CifSpanExporterOptions } from '../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../src/logs.js';
import { installFakeCIFramework, RecordingCifClient } from '../src/testing/index.js';
import { withPageGlobals } from './helpers/page-globals.js';
import { useFakeClock } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';
import { createLockManager, MemoryStore, type LockClient } from './helpers/web-storage.js';

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (see .mocharc.json)');
  collect();
};

describe('a day on an agent desk', () => {
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

  describe('tabs of one widget over one outbox', () => {
    let store: MemoryStore;
    let manager: ReturnType<typeof createLockManager>;
    beforeEach(() => {
      store = new MemoryStore();
      manager = createLockManager();
    });

    /** A tab of the widget, its `navigator.locks` its own view of the shared manager, listening on `window` when given. */
    function tab(options: CifSpanExporterOptions, window?: EventTarget) {
      const locks: LockClient = manager.client();
      const globals: Record<string, unknown> = { navigator: { locks: locks.locks } };
      if (window) globals['addEventListener'] = window.addEventListener.bind(window);
      const exporter = withPageGlobals(globals, () => new CifSpanExporter({ outbox: { store, name: 'widget' }, ...options }));
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      page.closeables.push(provider);
      const tracer = provider.getTracer('softphone');
      return {
        exporter,
        locks,
        record(name: string) {
          const span = tracer.startSpan('call', { attributes: IDENTITY });
          span.addEvent(name);
          span.end();
        },
      };
    }

    it('lets go of the lock of each tab closed meanwhile once it sent every call it took from it, so a tab open all day holds one lock', async () => {
      const settle = () => page.clock.tickAsync(0);
      const window = new EventTarget();
      const host = new RecordingCifClient();
      const desk = tab({ client: host }, window);
      await settle();
      const TABS = 100;
      for (let i = 0; i < TABS; i++) {
        // Another tab of the widget, whose CIF never starts: it stores its call, which the desk hears of (a storage
        // event), and is closed; the desk takes the call and sends it.
        const other = tab({ client: new RecordingCifClient(), ready: new Promise(() => {}) });
        await settle();
        other.record(`Left${i}`);
        await settle();
        const [key] = [...store.items.keys()].filter((k) => k.startsWith('otel-cif/widget/'));
        window.dispatchEvent(Object.assign(new Event('storage'), { key }));
        await settle();
        other.locks.crash();
        await settle();
      }
      expect(desk.exporter.getStats()).to.deep.include({ kpiEventsDelivered: TABS, kpiEventsPending: 0 });
      expect(desk.exporter.getStats().outbox.replayed).to.equal(TABS);
      expect([...store.items.keys()].filter((k) => k.startsWith('otel-cif/widget/')), 'calls left in the store').to.deep.equal([]);
      expect(manager.held(), 'locks held, with nothing left to send').to.have.length(1);
    });

    it('holds the lock of a tab closed meanwhile while a call taken from it waits for a retry, and lets go of it once the call is delivered', async () => {
      const settle = () => page.clock.tickAsync(0);
      const window = new EventTarget();
      let attempts = 0;
      const host = new RecordingCifClient({ answer: () => (++attempts === 1 ? Promise.reject(new Error('host busy')) : 'ok') });
      const desk = tab({ client: host, retry: { initialBackoffMillis: 1_000, maxBackoffMillis: 1_000 } }, window);
      await settle();
      const other = tab({ client: new RecordingCifClient(), ready: new Promise(() => {}) });
      await settle();
      other.record('Left');
      await settle();
      const [key] = [...store.items.keys()].filter((k) => k.startsWith('otel-cif/widget/'));
      const lockOfOther = key!.slice(0, key!.lastIndexOf('/'));
      window.dispatchEvent(Object.assign(new Event('storage'), { key }));
      other.locks.crash();
      await settle();
      // Rejected once: back in the store under the closed tab's key, whose lock no other tab may take meanwhile.
      expect(desk.exporter.getStats()).to.deep.include({ callsMade: 1, kpiEventsPending: 1 });
      expect(store.items.has(key!)).to.equal(true);
      expect(manager.held()).to.include(lockOfOther);
      await page.clock.tickAsync(1_000);
      expect(desk.exporter.getStats()).to.deep.include({ callsMade: 2, kpiEventsDelivered: 1, kpiEventsPending: 0 });
      expect(manager.held()).to.not.include(lockOfOther);
      expect(manager.held()).to.have.length(1);
    });
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
