import FakeTimers from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import type * as inParts from '../../src/exporters/in-parts.js';
import { tasks } from '../../src/exporters/in-parts.js';
import { CifLogRecordExporter, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag, installActingDiag } from '../helpers/diag.js';
import { expectBalanced, kpiNames } from '../helpers/fake-client.js';
import { hidePage, usePageDocument } from '../helpers/page-document.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY, sdkSpans } from '../helpers/spans.js';

/** 100 spans as the trace SDK ends them, a KPI event each: K0 ... K99. */
const SPANS = sdkSpans(...Array.from({ length: 100 }, (_, i) => [`K${i}`]));
const ALL = SPANS.map((_, i) => `K${i}`);

/** Node's, before any test fakes it. */
const realImmediate = setImmediate;
const nextTask = () => new Promise<void>((resolve) => realImmediate(resolve));

describe('an export mapped in parts, a task each', () => {
  const document = usePageDocument();

  function exporter(options: CifSpanExporterOptions = {}) {
    const client = new RecordingCifClient();
    const cif = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, ...options }));
    const results: ExportResult[] = [];
    return { client, cif, results, export: () => cif.export(SPANS, (result) => results.push(result)) };
  }

  /** What the host got, and the SDK's results, once every task asked for has run. */
  async function tasksRun({ client, cif, results }: ReturnType<typeof exporter>): Promise<[string[], ExportResultCode[]]> {
    for (let i = 0; i < 10; i++) await nextTask();
    expectBalanced(cif.getStats());
    return [client.calls.flatMap(kpiNames).sort(), results.map((r) => r.code)];
  }

  it("maps in export()'s own task what the host takes at once, maxConcurrentCalls calls, then the rest a part a task, and calls back once", async () => {
    const widget = exporter();
    widget.export();
    expect([widget.cif.getStats().spansSeen, widget.cif.getStats().kpiEventsSent, widget.client.calls.length]).to.deep.equal([8, 8, 8]);
    await nextTask();
    // The next part is eight times the first.
    expect(widget.cif.getStats()).to.include({ spansSeen: 72, kpiEventsSent: 72 });
    expect(widget.results).to.deep.equal([]);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
    expect(widget.cif.getStats().kpiEventsDelivered).to.equal(100);
  });

  it('takes a part as maxConcurrentCalls calls of maxEventsPerCall KPI events each, and each next part as eight times that', async () => {
    const widget = exporter({ maxConcurrentCalls: 2, maxEventsPerCall: 3 });
    widget.export();
    expect(widget.cif.getStats()).to.include({ spansSeen: 6, kpiEventsSent: 6 });
    await nextTask();
    expect(widget.cif.getStats()).to.include({ spansSeen: 54 });
    expect((await tasksRun(widget))[0]).to.deep.equal([...ALL].sort());
    const one = exporter({ maxConcurrentCalls: 1 });
    one.export();
    const seen = [one.cif.getStats().spansSeen];
    for (let i = 0; i < 3; i++) {
      await nextTask();
      seen.push(one.cif.getStats().spansSeen);
    }
    expect(seen).to.deep.equal([1, 9, 17, 25]);
  });

  it('takes each next part as one group where an outbox writes each call that waits for the host', async () => {
    const store = new MemoryStore();
    const answers: Array<(answer: string) => void> = [];
    const client = new RecordingCifClient({ answer: () => new Promise<string>((resolve) => answers.push(resolve)) });
    const { locks } = createLockManager().client();
    const cif = shutDownAfterTest(withPageGlobals({ navigator: { locks } }, () => new CifSpanExporter({ client, outbox: { store, name: '/softphone' } })));
    cif.export(SPANS, () => {});
    const seen = [cif.getStats().spansSeen];
    for (let i = 0; i < 3; i++) {
      await nextTask();
      seen.push(cif.getStats().spansSeen);
    }
    expect(seen).to.deep.equal([8, 16, 24, 32]);
    // The calls past the host's eight wait for it, each written to the store.
    expect(cif.getStats().outbox.stored).to.equal(24);
    expect(store.items.size).to.equal(24);
    for (let answer; (answer = answers.shift()); await nextTask()) answer('ok');
    expect(cif.getStats()).to.include({ kpiEventsDelivered: 100, kpiEventsPending: 0 });
    expect(store.items.size).to.equal(0);
  });

  it('maps the whole batch in its own task where the page is hidden', async () => {
    const widget = exporter();
    hidePage(document());
    widget.export();
    expect(widget.cif.getStats()).to.include({ spansSeen: 100, kpiEventsSent: 100 });
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it("maps the whole batch at once when exported from the page's pagehide listener, the page still visible (Safari)", () => {
    const widget = exporter();
    withPageGlobals({ event: { type: 'pagehide' } }, widget.export);
    expect(widget.cif.getStats().kpiEventsSent).to.equal(100);
  });

  (
    [
      ['the page hides', () => hidePage(document())],
      ['pagehide is dispatched', () => document().dispatchEvent(new Event('pagehide'))],
    ] as const
  ).forEach(([when, hide]) =>
    it(`maps the rest of every batch at once when ${when}`, async () => {
      const [one, two] = [exporter(), exporter()];
      one.export();
      two.export();
      hide();
      expect([one, two].map((w) => w.cif.getStats().kpiEventsSent)).to.deep.equal([100, 100]);
      expect(await tasksRun(one)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
      expect(await tasksRun(two)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
    }),
  );

  it('keeps a listener on the document while batches wait, and none once every batch is mapped', async () => {
    // The listeners as the page holds them: one per type and function, however often added.
    const held = new Map<string, Set<unknown>>();
    const page = document();
    const [add, remove] = [page.addEventListener.bind(page), page.removeEventListener.bind(page)];
    page.addEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => (held.set(type, (held.get(type) ?? new Set()).add(listener)), add(type, listener));
    page.removeEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => (held.get(type)?.delete(listener), remove(type, listener));
    const listeners = () => [...held].filter(([, set]) => set.size > 0).map(([type, set]) => `${type} ${set.size}`).sort();
    // A batch of one part asks the page for nothing.
    const small = exporter();
    small.cif.export(SPANS.slice(0, 8), (result) => small.results.push(result));
    expect([held.size, small.cif.getStats().kpiEventsSent]).to.deep.equal([0, 8]);
    const [one, two] = [exporter(), exporter()];
    one.export();
    two.export();
    expect(listeners()).to.deep.equal(['pagehide 1', 'visibilitychange 1']);
    page.dispatchEvent(new Event('visibilitychange'));
    expect([one, two].map((w) => w.cif.getStats().kpiEventsSent)).to.deep.equal([100, 100]);
    expect(listeners()).to.deep.equal([]);
    await tasksRun(one);
  });

  it('maps the rest at once at forceFlush(), and waits for its calls', async () => {
    const widget = exporter();
    widget.export();
    await widget.cif.forceFlush();
    expect(widget.cif.getStats()).to.include({ kpiEventsSent: 100, kpiEventsDelivered: 100, kpiEventsPending: 0 });
  });

  it('delivers the rest of a batch exported before shutdown(), refusing none of it', async () => {
    const widget = exporter();
    widget.export();
    await widget.cif.shutdown();
    const stats = widget.cif.getStats();
    expect(stats).to.include({ kpiEventsDelivered: 100 });
    expect(stats.dropped.after_shutdown).to.equal(0);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  /** Runs `fn` with the page's ways to a task as `page` has them, as if the library had loaded in such a page. */
  function withTasks<T>(page: Partial<typeof tasks>, fn: () => T): T {
    const saved = { ...tasks };
    Object.assign(tasks, { setImmediate: undefined, scheduler: undefined, setTimeout: undefined }, page);
    try {
      return fn();
    } finally {
      Object.assign(tasks, saved);
    }
  }

  it('maps the rest at once where the page gives no task: setImmediate throws, or there is no way to a task at all', async () => {
    const refusing = exporter();
    const refuse = () => {
      throw new Error('no tasks here');
    };
    withTasks({ setImmediate: refuse }, refusing.export);
    const none = exporter();
    withTasks({}, none.export);
    expect([refusing, none].map((w) => w.cif.getStats().kpiEventsSent)).to.deep.equal([100, 100]);
    expect(await tasksRun(refusing)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
    expect(await tasksRun(none)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it('takes its tasks from setTimeout where the page has neither setImmediate nor scheduler.postTask (Safari)', async () => {
    const widget = exporter();
    const timers: Array<() => void> = [];
    const page = { setTimeout: (task: () => void) => timers.push(task) };
    withTasks(page, widget.export);
    expect([widget.cif.getStats().kpiEventsSent, timers.length]).to.deep.equal([8, 1]);
    while (timers.length > 0) withTasks(page, timers.shift()!);
    expect(widget.cif.getStats().kpiEventsSent).to.equal(100);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it("takes its tasks from the browser's scheduler.postTask where it has one and no setImmediate, and leaves no rejection of it unhandled", async () => {
    const widget = exporter();
    const posted: Array<() => void> = [];
    const page = { scheduler: { postTask: (task: () => void) => (posted.push(task), Promise.reject(new Error('aborted'))) } };
    const rejections = await unhandledRejectionsOf(async () => {
      withTasks(page, widget.export);
      expect([widget.cif.getStats().kpiEventsSent, posted.length]).to.deep.equal([8, 1]);
      while (posted.length > 0) withTasks(page, posted.shift()!);
      await nextTask();
    });
    expect(rejections).to.deep.equal([]);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it("maps every part under a test's fake timers installed after the library loaded, so that provider.forceFlush() of a BatchSpanProcessor resolves", async () => {
    // Their defaults fake setImmediate, setTimeout and queueMicrotask; the processor waits for export()'s callback alone.
    const clock = FakeTimers.install();
    try {
      const { client, cif } = exporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(cif)] });
      const tracer = provider.getTracer('softphone');
      for (let i = 0; i < 20; i++) {
        const span = tracer.startSpan('call', { attributes: IDENTITY });
        span.addEvent(`K${i}`);
        span.end();
      }
      let flushed = false;
      void provider.forceFlush().then(() => (flushed = true));
      for (let i = 0; i < 20 && !flushed; i++) await new Promise<void>((resolve) => realImmediate(resolve));
      expect({ flushed, calls: client.calls.length }).to.deep.equal({ flushed: true, calls: 20 });
    } finally {
      clock.uninstall();
    }
  });

  it('calls back once, after every part, when a call of one part flushes the exporter', async () => {
    let flushes = 0;
    const client = new RecordingCifClient({ onCall: () => void (flushes++ === 0 && cif.forceFlush()) });
    const cif = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const results: ExportResult[] = [];
    cif.export(SPANS, (result) => results.push(result));
    // The first call flushed: the rest was mapped within it.
    expect(cif.getStats().kpiEventsSent).to.equal(100);
    for (let i = 0; i < 10; i++) await nextTask();
    expect([client.calls.length, results.map((r) => r.code)]).to.deep.equal([100, [ExportResultCode.SUCCESS]]);
    expectBalanced(cif.getStats());
  });

  it('fails the export once with the failures of every part', async () => {
    const client = new RecordingCifClient({ answer: (call) => (kpiNames(call)[0] === 'K3' || kpiNames(call)[0] === 'K90' ? Promise.reject(new Error('host said no')) : 'ok') });
    const cif = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } }));
    const results: ExportResult[] = [];
    cif.export(SPANS, (result) => results.push(result));
    for (let i = 0; i < 10; i++) await nextTask();
    expect(results.map((r) => [r.code, r.error?.message])).to.deep.equal([[ExportResultCode.FAILED, '2 of 100 logAnalyticsEvent calls failed: host said no']]);
  });

  describe('a flush that reaches the exporter while a part is being mapped', () => {
    it('sends each KPI event once when an option callback flushes the exporter during a part', async () => {
      let flushed = false;
      const widget = exporter({
        // A callback that flushes the pipeline at a KPI event it cares about (K3, in the first part).
        eventName: (kpiEvent) => {
          if (kpiEvent.kpiEventName === 'K3' && !flushed) {
            flushed = true;
            void widget.cif.forceFlush();
          }
          return kpiEvent.kpiEventName;
        },
      });
      widget.export();
      expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
      expect(widget.cif.getStats()).to.include({ spansSeen: 100, kpiEventsSent: 100 });
    });

    it("sends each KPI event once when the page's diag logger flushes on a warning the mapping gives during a part", async () => {
      // The fourth span of the batch lacks cif.provider_session.id: the mapping warns (dropped.missing_identity) as it maps it.
      const [noIds] = sdkSpans(['NoIds']);
      (noIds as unknown as { attributes: Record<string, unknown> }).attributes = { 'cif.conversation.id': 'conv-1' };
      const widget = exporter();
      const remove = installActingDiag((level) => void (level === 'warn' && widget.cif.forceFlush()));
      try {
        widget.cif.export([...SPANS.slice(0, 3), noIds!, ...SPANS.slice(3)], (result) => widget.results.push(result));
        expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
      } finally {
        remove();
      }
      expect(widget.cif.getStats()).to.include({ spansSeen: 101, kpiEventsSent: 100 });
    });
  });

  it("lets go of a batch's spans once they are all mapped, while its calls still wait for the host", async () => {
    const answers: Array<(answer: string) => void> = [];
    const client = new RecordingCifClient({ answer: () => new Promise<string>((resolve) => answers.push(resolve)) });
    const cif = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    // As the SDK hands a batch over: it keeps none of it, and its callback holds none.
    const ref = ((batch) => {
      cif.export(batch, () => {});
      return new WeakRef(batch[batch.length - 1]!);
    })(sdkSpans(...Array.from({ length: 20 }, (_, i) => [`K${i}`])));
    for (let i = 0; i < 10; i++) await nextTask();
    expect(cif.getStats()).to.include({ spansSeen: 20, kpiEventsPending: 20 });
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    await nextTask();
    gc();
    const held = ref.deref() !== undefined;
    for (let answer; (answer = answers.shift()); await nextTask()) answer('ok');
    expect(held, 'a span of the batch still reachable').to.equal(false);
    expect(cif.getStats().kpiEventsDelivered).to.equal(20);
  });

  it('maps in parts where the page has no document, as in Node', async () => {
    const widget = exporter();
    withPageGlobals({ document: undefined }, widget.export);
    expect(widget.cif.getStats().kpiEventsSent).to.equal(8);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it('maps the whole batch at once where the page will not listen for its hiding: addEventListener throws', async () => {
    const widget = exporter();
    const page = document();
    page.addEventListener = () => {
      throw new Error('no listeners here');
    };
    widget.export();
    expect(widget.cif.getStats().kpiEventsSent).to.equal(100);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it('warns of a value cut in a batch exported after shutdown(), which it refuses', async () => {
    const lines = captureDiag();
    try {
      const widget = exporter();
      await widget.cif.shutdown();
      const [span] = sdkSpans(['CallHold']);
      (span as unknown as { attributes: Record<string, unknown> }).attributes = { ...IDENTITY, 'cif.kpi.reason': 'r'.repeat(101) };
      widget.cif.export([span!], (result) => widget.results.push(result));
      expect(widget.results.map((r) => r.code)).to.deep.equal([ExportResultCode.FAILED]);
      expect(widget.cif.getStats().dropped.after_shutdown).to.equal(1);
      expect(lines.filter((line) => line.includes('cut to its Dataverse column size'))).to.have.length(1);
    } finally {
      diag.disable();
    }
  });

  it('has no way to a task, and maps each batch whole, where reading the page globals threw as the library loaded', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'setImmediate')!;
    Object.defineProperty(globalThis, 'setImmediate', {
      configurable: true,
      get() {
        throw new Error('no setImmediate here');
      },
    });
    let loaded: typeof inParts;
    try {
      // A module of its own, loaded now: the one every exporter shares read the globals long ago.
      const fresh = '../../src/exporters/in-parts.js?throwing-globals';
      loaded = (await import(fresh)) as typeof inParts;
    } finally {
      Object.defineProperty(globalThis, 'setImmediate', saved);
    }
    expect(loaded.tasks).to.deep.equal({});
    expect(() => loaded.inNextTask(() => {})).to.throw(TypeError);
  });

  it('asks the page to listen once while batches wait, and to stop once', async () => {
    const fresh = '../../src/exporters/in-parts.js?listening';
    const { listen, mapAll } = (await import(fresh)) as typeof inParts;
    const asked: string[] = [];
    const page = document();
    page.addEventListener = (type: string, listener: unknown) => void asked.push(`add ${type} ${listener === mapAll}`);
    page.removeEventListener = (type: string, listener: unknown) => void asked.push(`remove ${type} ${listener === mapAll}`);
    expect([listen(false), listen(true), listen(true)]).to.deep.equal([true, true, true]);
    expect(asked.splice(0)).to.deep.equal(['add visibilitychange true', 'add pagehide true']);
    expect([listen(false), listen(false)]).to.deep.equal([true, true]);
    expect(asked).to.deep.equal(['remove visibilitychange true', 'remove pagehide true']);
  });

  it('maps the whole batch at once where the page will not say whether it is hidden: visibilityState throws', async () => {
    const widget = exporter();
    Object.defineProperty(document(), 'visibilityState', {
      get() {
        throw new Error('no state here');
      },
    });
    widget.export();
    expect(widget.cif.getStats().kpiEventsSent).to.equal(100);
    expect(await tasksRun(widget)).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });

  it('maps a batch of log records in parts too', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes(IDENTITY), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    const logger = provider.getLogger('widget');
    for (let i = 0; i < 100; i++) emitKpiEvent(logger, `K${i}`);
    const client = new RecordingCifClient();
    const cif = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
    const results: ExportResult[] = [];
    cif.export([...memory.getFinishedLogRecords()], (result) => results.push(result));
    expect(cif.getStats().kpiEventsSent).to.equal(8);
    for (let i = 0; i < 10; i++) await nextTask();
    expect([client.calls.flatMap(kpiNames).sort(), results.map((r) => r.code)]).to.deep.equal([[...ALL].sort(), [ExportResultCode.SUCCESS]]);
  });
});

describe('shutdown() and forceFlush() reached while a batch is being handed over: a callback, the diag logger or the host calls them', () => {
  usePageDocument();

  /** An exporter whose eventName callback runs `onK3` once, as it maps K3, in the first part of the batch. */
  function exporterActingAtK3(onK3: (cif: CifSpanExporter) => void, options: CifSpanExporterOptions = {}) {
    let acted = false;
    const cif: CifSpanExporter = shutDownAfterTest(
      new CifSpanExporter({
        outbox: false,
        ...options,
        eventName: (kpiEvent) => {
          if (kpiEvent.kpiEventName === 'K3' && !acted) {
            acted = true;
            onK3(cif);
          }
          return kpiEvent.kpiEventName;
        },
      }),
    );
    return cif;
  }

  /** Exports the batch, lets its parts and the host's answers run, and checks that every KPI event was delivered, none refused. */
  async function expectAllDelivered(cif: CifSpanExporter): Promise<void> {
    const results: ExportResult[] = [];
    cif.export(SPANS, (result) => results.push(result));
    for (let i = 0; i < 10; i++) await nextTask();
    const stats = cif.getStats();
    expectBalanced(stats);
    expect({ results: results.map((r) => r.error?.message ?? r.code), after_shutdown: stats.dropped.after_shutdown, delivered: stats.kpiEventsDelivered }).to.deep.equal({
      results: [ExportResultCode.SUCCESS],
      after_shutdown: 0,
      delivered: 100,
    });
  }

  it('delivers a batch exported before shutdown() when an option callback calls shutdown() while its first part is being mapped', async () => {
    // docs/delivery.md: shutdown() "maps at once the rest of every batch still mapped in parts, refuses new exports from the
    // moment it is called, waits up to timeoutMillis for the calls queued or in flight"; this batch was exported before.
    const client = new RecordingCifClient();
    const cif = exporterActingAtK3((exporter) => void exporter.shutdown(), { client });
    await expectAllDelivered(cif);
  });

  it("delivers every call of a part when the host's logAnalyticsEvent calls shutdown() as the first call of the batch reaches it", async () => {
    let shut = false;
    const client = new RecordingCifClient({ onCall: () => void (shut || ((shut = true), cif.shutdown())) });
    const cif: CifSpanExporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    await expectAllDelivered(cif);
  });

  it('resolves a forceFlush() called while a part is being mapped only once the calls of the batch it mapped have settled', async () => {
    // docs/delivery.md: forceFlush() "maps at once the rest of every batch still mapped in parts, then resolves once every
    // call queued or in flight has settled". The host holds every answer until the test gives them.
    const answers: Array<(answer: string) => void> = [];
    const client = new RecordingCifClient({ answer: () => new Promise<string>((resolve) => answers.push(resolve)) });
    let flushed = false;
    const cif = exporterActingAtK3((exporter) => void exporter.forceFlush().then(() => (flushed = true)), { client });
    cif.export(SPANS, () => {});
    try {
      for (let i = 0; i < 10; i++) await nextTask();
      // The flush mapped the whole batch; 8 calls are at the host, none answered.
      expect(cif.getStats()).to.include({ kpiEventsSent: 100, kpiEventsDelivered: 0, kpiEventsPending: 100 });
      expect(flushed, 'forceFlush() resolved while all 100 KPI events were pending').to.equal(false);
    } finally {
      // Every answer, so that the exporter shuts down at once after the test whatever it found.
      for (let answer; (answer = answers.shift()); await nextTask()) answer('ok');
    }
    expect(cif.getStats()).to.include({ kpiEventsDelivered: 100, kpiEventsPending: 0 });
    expect(flushed).to.equal(true);
  });
});
