// What docs/delivery.md says of delivery, as it is worded, each through the
// real OpenTelemetry trace and logs SDKs. The doc line each test checks is quoted in its comment.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifDelivery, CifSpanExporter, type CifAnalyticsClient } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced, hangs, installCifWithoutInitDone, removePageCif } from '../helpers/fake-client.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { shutDownDeliveryAfterTest } from '../helpers/shut-down-delivery.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { watchUnhandledRejections } from '../helpers/unhandled.js';
import { MemoryStore, createLockManager } from '../helpers/web-storage.js';

/** A tracer whose spans `exporter` gets as each ends; the provider goes to `closeables`. */
function tracerFor(exporter: CifSpanExporter, closeables: Array<{ shutdown(): Promise<unknown> }>) {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  closeables.push(provider);
  return provider.getTracer('softphone');
}

/** Spans of the real SDK, ended, with one KPI event each, as a processor hands them to an exporter. */
function endedSpans(closeables: Array<{ shutdown(): Promise<unknown> }>): ReadableSpan[] {
  const ended = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] });
  closeables.push(provider);
  const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
  span.addEvent('CallAccepted');
  span.end();
  return ended.getFinishedSpans();
}

describe('the delivery options of a shared CifDelivery', () => {
  // "The delivery options (`client`, `ready`, `readyTimeoutMillis`, `timeoutMillis`, `retry`,
  // `maxConcurrentCalls`, `maxQueueSize`, `dataFormat`, `outbox`) then belong to the `CifDelivery`;
  // giving one of them to an exporter beside `delivery` throws a `TypeError`."
  const given: Array<[string, unknown]> = [
    ['client', new RecordingCifClient()],
    ['ready', Promise.resolve()],
    ['readyTimeoutMillis', 1_000],
    ['timeoutMillis', 1_000],
    ['retry', { maxAttempts: 1 }],
    ['maxConcurrentCalls', 2],
    ['maxQueueSize', 10],
    ['dataFormat', 'json'],
    ['outbox', false],
  ];
  const exporters = [
    ['CifSpanExporter', (options: object) => new CifSpanExporter(options)],
    ['CifLogRecordExporter', (options: object) => new CifLogRecordExporter(options)],
  ] as const;
  for (const [exporter, make] of exporters) {
    it(`makes ${exporter} throw a TypeError naming each of the nine delivery options given beside a delivery`, () => {
      const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client: new RecordingCifClient(), outbox: false }));
      const thrown = given.map(([name, value]) => {
        try {
          make({ delivery, [name]: value });
          return `${name}: no error`;
        } catch (error) {
          return `${name}: ${(error as Error).name} ${/`(\w+)` belongs to the CifDelivery passed as `delivery`/.exec((error as Error).message)?.[1] ?? (error as Error).message}`;
        }
      });
      expect(thrown).to.deep.equal(given.map(([name]) => `${name}: TypeError ${name}`));
    });
  }
});

describe('CifSpanExporter without a window, as in Node', () => {
  // "Where the global scope cannot listen for events (Node) no event can come: the exporter warns once
  // at construction when it has neither `client` nor `ready` and finds no `Microsoft.CIFramework`. A
  // worker's global scope listens, so there calls wait for an event that never comes and fail as above."
  const WARNING = 'opentelemetry-exporter-cif No window, so no CIFInitDone: pass a `client` or `ready` option';
  let messages: string[];
  beforeEach(() => {
    messages = captureDiag();
  });
  afterEach(() => {
    removePageCif();
    diag.disable();
  });

  it('warns once, at construction, when it has neither client nor ready and the page has no Microsoft.CIFramework', async () => {
    expect((globalThis as { addEventListener?: unknown }).addEventListener).to.equal(undefined);
    const exporter = new CifSpanExporter({ outbox: false, readyTimeoutMillis: 0 });
    expect(messages).to.deep.equal([WARNING]);
    await exporter.shutdown();
    expect(messages.filter((m) => m === WARNING)).to.have.length(1);
  });

  it("does not warn in a worker, whose global scope listens, and fails its calls as cif_not_loaded once the wait for CIF runs out", async () => {
    const listening = { addEventListener: () => {}, removeEventListener: () => {} };
    const exporter = withPageGlobals(listening, () => new CifSpanExporter({ outbox: false, readyTimeoutMillis: 0 }));
    expect(messages).to.deep.equal([]);
    const span = new BasicTracerProvider().getTracer('softphone').startSpan('call', { attributes: { ...IDENTITY, 'cif.kpi.name': 'CallAccepted' } });
    span.end();
    const result = await new Promise<ExportResult>((resolve) => exporter.export([span as unknown as ReadableSpan], resolve));
    await exporter.shutdown();
    expect([result.error?.message, exporter.getStats().dropped.cif_not_loaded]).to.deep.equal([
      '1 of 1 logAnalyticsEvent calls failed: CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 0 ms',
      1,
    ]);
  });

  const quiet: Array<[string, () => CifSpanExporter]> = [
    ['a client', () => new CifSpanExporter({ outbox: false, client: new RecordingCifClient() })],
    ['a ready promise', () => new CifSpanExporter({ outbox: false, ready: Promise.resolve() })],
    [
      'Microsoft.CIFramework on the page',
      () => {
        installCifWithoutInitDone(new RecordingCifClient());
        return new CifSpanExporter({ outbox: false });
      },
    ],
  ];
  for (const [what, make] of quiet) {
    it(`does not warn of the missing window when it has ${what}`, async () => {
      const exporter = make();
      await exporter.shutdown();
      expect(messages.filter((m) => m.includes('No window'))).to.deep.equal([]);
    });
  }
});

describe('CifSpanExporter with a host that rejects a call of several KPI events', () => {
  const time = useFakeClock(() => diag.disable());

  it('counts every KPI event of the failed call under dropped.host_error, and the call once in callsFailed', async () => {
    // "Every KPI event of a failed call is counted (more than one with `maxEventsPerCall` above 1)."
    const host = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
    const exporter = new CifSpanExporter({ client: host, outbox: false, maxEventsPerCall: 3, retry: { maxAttempts: 1 }, eventName: () => 'KpiEvents' });
    time.closeables.push(exporter);
    const memory = new InMemorySpanExporter();
    const span = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    for (const name of ['CallAccepted', 'CallHold', 'CallEnded']) span.addEvent(name);
    span.end();
    const results: ExportResult[] = [];
    exporter.export(memory.getFinishedSpans(), (r) => results.push(r));
    await time.clock.tickAsync(0);
    expect(host.calls).to.have.length(1);
    expect(results.map((r) => [r.code, r.error?.message])).to.deep.equal([[ExportResultCode.FAILED, '1 of 1 logAnalyticsEvent calls failed: Provider not active']]);
    const stats = exporter.getStats();
    expect(stats).to.include({ kpiEventsSent: 3, callsMade: 1, callsFailed: 1 });
    expect(stats.dropped.host_error).to.equal(3);
    expectBalanced(stats);
  });
});

describe('two exporters sharing one CifDelivery', () => {
  const time = useFakeClock(() => diag.disable());

  it("shows in each exporter's getStats() its own mapping counters and the delivery's counters, which the two share", async () => {
    // "Each exporter's `getStats()` shows its own mapping counters and the delivery's counters
    // (`kpiEventsSent` to `callsAbandoned`, `kpiEventsKept`, `outbox`, and the delivery reasons of
    // `dropped`), which the two share."
    const host = new RecordingCifClient();
    const delivery = new CifDelivery({ client: host, outbox: false });
    const spanExporter = new CifSpanExporter({ delivery });
    const logExporter = new CifLogRecordExporter({ delivery });
    time.closeables.push(spanExporter, logExporter);
    const tracer = tracerFor(spanExporter, time.closeables);
    const lonely = tracer.startSpan('no ids', { attributes: { 'cif.kpi.reason': 'queue' } });
    lonely.addEvent('Lost');
    lonely.end();
    const call = tracer.startSpan('call', { attributes: IDENTITY });
    call.addEvent('CallAccepted');
    call.end();
    const loggers = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
    time.closeables.push(loggers);
    loggers.getLogger('softphone').emit({ eventName: 'ChatAccepted', attributes: { 'cif.conversation.id': 'conv-2', 'cif.provider_session.id': 'prov-2' } });
    await time.clock.tickAsync(0);
    const spans = spanExporter.getStats();
    const logs = logExporter.getStats();
    expect(host.calls.map((c) => c.eventName).sort()).to.deep.equal(['CallAccepted', 'ChatAccepted']);
    // Their own: what each mapping saw and dropped.
    expect([spans.spansSeen, spans.cifSpans, spans.dropped.missing_identity]).to.deep.equal([2, 2, 1]);
    expect([logs.logRecordsSeen, logs.cifLogRecords, logs.dropped.missing_identity]).to.deep.equal([1, 1, 0]);
    // Shared: the delivery's.
    const shared = (stats: typeof spans | typeof logs) => ({
      kpiEventsSent: stats.kpiEventsSent,
      kpiEventsDelivered: stats.kpiEventsDelivered,
      kpiEventsPending: stats.kpiEventsPending,
      kpiEventsKept: stats.kpiEventsKept,
      callsMade: stats.callsMade,
      outbox: stats.outbox,
      host_error: stats.dropped.host_error,
    });
    expect(shared(spans)).to.deep.equal(shared(logs));
    expect(shared(spans)).to.include({ kpiEventsSent: 2, kpiEventsDelivered: 2, callsMade: 2 });
  });

  it('resolves the shutdown() of one exporter after timeoutMillis while its call hangs at the host, and the other keeps sending', async () => {
    // "`shutdown()` of one exporter refuses that exporter's later exports and waits up to
    // `timeoutMillis` for the delivery to flush, as `forceFlush()` does ...; the other keeps sending."
    const host = new RecordingCifClient({ answer: (call) => (call.eventName === 'Hanging' ? hangs() : 'ok') });
    const delivery = new CifDelivery({ client: host, outbox: false, timeoutMillis: 30_000 });
    const spanExporter = new CifSpanExporter({ delivery });
    const logExporter = new CifLogRecordExporter({ delivery });
    time.closeables.push(spanExporter, logExporter);
    const tracer = tracerFor(spanExporter, time.closeables);
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent('Hanging');
    span.end();
    await time.clock.tickAsync(0);
    let closed = false;
    void spanExporter.shutdown().then(() => (closed = true));
    await time.clock.tickAsync(29_999);
    expect(closed).to.equal(false);
    await time.clock.tickAsync(1);
    expect(closed).to.equal(true);
    const loggers = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
    time.closeables.push(loggers);
    loggers.getLogger('softphone').emit({ eventName: 'ChatAccepted', attributes: { 'cif.conversation.id': 'conv-2', 'cif.provider_session.id': 'prov-2' } });
    await time.clock.tickAsync(0);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['Hanging', 'ChatAccepted']);
    expect(logExporter.getStats()).to.include({ kpiEventsDelivered: 1, callsTimedOut: 1 });
    expect(logExporter.getStats().dropped.after_shutdown).to.equal(0);
  });
});

describe("CifSpanExporter on a page whose performance.now stands still", () => {
  // "A `performance.now` the page replaced is the clock of every deadline: ... one that stands
  // still or steps back holds each deadline until it passes it. Once timers fired one after another
  // on time by the wall clock, for half a second of it, while `performance.now()` showed less than
  // half of that, deadlines follow the wall clock, from where the engine's time stood as they began:
  // those taken before come late, never early." And: "where the wall clock stands still too, each
  // firing of the timer looks early by both clocks, and after a hundred in a row the calls are given
  // up as `no_timer`."
  // "The wait of `shutdown()` is a `setTimeout` delay of its own, which ends even where the page's
  // `performance.now` stands still."
  let clock: InstalledClock;
  let reading: number;
  const now = performance.now;
  beforeEach(() => {
    // The page's timers run; its performance.now is the page's own, which the test moves.
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_800_000_000_000 });
    reading = 1_000;
    performance.now = () => reading;
  });
  afterEach(async () => {
    performance.now = now;
    await clock.runAllAsync();
    clock.uninstall();
    diag.disable();
  });

  /** Stops the wall clock as performance.now stands, then exports one KPI event whose call the host never answers. */
  function hangingCallWithClocksStill(): CifSpanExporter {
    const wall = Date.now();
    Date.now = () => wall;
    const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: hangs }), outbox: false, timeoutMillis: 1_000 });
    const span = tracerFor(exporter, []).startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    return exporter;
  }

  it("times a call out while performance.now stands still, on the wall clock once a timer fires on time by it alone, late by at most its timeout", async () => {
    const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: hangs }), outbox: false, timeoutMillis: 1_000 });
    const span = tracerFor(exporter, []).startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    await clock.tickAsync(1_999);
    expect(exporter.getStats()).to.include({ callsInFlight: 1, callsTimedOut: 0 });
    await clock.tickAsync(1);
    expect(exporter.getStats()).to.include({ callsInFlight: 0, callsTimedOut: 1 });
    expect(exporter.getStats().dropped.timed_out).to.equal(1);
  });

  it("holds a call's timeout while both clocks stand still, and times the call out once performance.now passes it", async () => {
    const exporter = hangingCallWithClocksStill();
    await clock.tickAsync(10_000);
    expect(exporter.getStats()).to.include({ callsInFlight: 1, callsTimedOut: 0 });
    reading = 2_000;
    await clock.tickAsync(1_000);
    expect(exporter.getStats()).to.include({ callsInFlight: 0, callsTimedOut: 1 });
    expect(exporter.getStats().dropped.timed_out).to.equal(1);
    reading = 200_000;
    await exporter.shutdown();
  });

  it('gives the call up as no_timer after a hundred firings of the timer while both clocks stand still, warning that the clocks may, and forceFlush() ends then', async () => {
    const messages = captureDiag();
    const exporter = hangingCallWithClocksStill();
    let flushed = false;
    void exporter.forceFlush().then(() => (flushed = true));
    // Each firing comes a timeout after the last, which neither clock shows.
    await clock.tickAsync(99_999);
    expect([exporter.getStats().callsInFlight, flushed]).to.deep.equal([1, false]);
    await clock.tickAsync(1_001);
    expect(exporter.getStats()).to.include({ callsInFlight: 0, callsTimedOut: 0 });
    expect(exporter.getStats().dropped.no_timer).to.equal(1);
    expect(flushed).to.equal(true);
    // The engine cannot tell a timer that ignores its delay from clocks that show none of it: the warning names both.
    expect(messages.filter((m) => m.includes('no_timer'))).to.deep.equal([
      'opentelemetry-exporter-cif KPI events dropped: setTimeout failed (early by both clocks 100 times in a row: it ignores the delay, or the clocks stand still), so calls cannot be timed: given up. Counted in getStats().dropped.no_timer; shown once.',
    ]);
  });

  it('ends the wait of shutdown() after timeoutMillis of setTimeout while both clocks stand still, giving up the hanging call', async () => {
    const exporter = hangingCallWithClocksStill();
    let closed = false;
    const closing = exporter.shutdown().then(() => (closed = true));
    await clock.tickAsync(999);
    expect(closed, 'shutdown() resolved before timeoutMillis').to.equal(false);
    await clock.tickAsync(1);
    await closing;
    // The call's own timeout is held by the clock that stands still: shutdown() gave it up.
    expect(exporter.getStats()).to.include({ callsInFlight: 0, callsTimedOut: 0 });
    expect(exporter.getStats().dropped.after_shutdown).to.equal(1);
  });
});

describe('CifSpanExporter with a host that changes the payload it was handed, then rejects the call', () => {
  // "A host is handed the payload itself (`dataFormat: 'object'`), as the CIF library copies it to the
  // host page: a host that changes it changes what a retry sends and what the outbox keeps, never a count."
  const fake = useFakeClock();

  const changes: Array<[what: string, change: (data: Record<string, unknown>) => void]> = [
    ['empties its events', (data) => void (data['events'] as unknown[]).splice(0)],
    ['replaces its events with their JSON', (data) => void (data['events'] = JSON.stringify(data['events']))],
    ['deletes its events', (data) => void delete data['events']],
    ['moves it to another conversation', (data) => void (data['conversationId'] = 'conv-of-another-call')],
  ];

  /** A host that records the JSON of each payload it gets, and changes the first one with `change` before it rejects it. */
  function changingHost(change: (data: Record<string, unknown>) => void): CifAnalyticsClient & { seen: unknown[] } {
    const seen: unknown[] = [];
    return {
      seen,
      logAnalyticsEvent(data) {
        seen.push(JSON.parse(JSON.stringify(data)));
        if (seen.length > 1) return Promise.resolve('ok');
        change(data as unknown as Record<string, unknown>);
        return Promise.reject(new Error('host busy'));
      },
    };
  }

  [true, false].forEach((withOutbox) =>
    changes.forEach(([what, change]) =>
      it(`retries with what the host left, counts the KPI event once${withOutbox ? ', and in the outbox when written for the retry,' : ''} and leaves nothing pending or unhandled, when the host ${what}`, async () => {
        const unhandled = watchUnhandledRejections();
        const host = changingHost(change);
        const store = new MemoryStore();
        const options = { client: host, retry: { initialBackoffMillis: 0 } };
        const exporter = withOutbox
          ? withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () => new CifSpanExporter({ ...options, outbox: { store, name: 'widget' } }))
          : new CifSpanExporter({ ...options, outbox: false });
        fake.closeables.push(exporter);
        // The page holds its outbox lock before the call.
        await fake.clock.tickAsync(0);
        const span = tracerFor(exporter, fake.closeables).startSpan('call', { attributes: IDENTITY });
        span.addEvent('CallAccepted');
        span.end();
        await fake.clock.runAllAsync();
        const left = JSON.parse(JSON.stringify(host.seen[0]));
        change(left);
        const stats = exporter.getStats();
        expectBalanced(stats);
        const { stored, notStored } = stats.outbox;
        expect({
          unhandled: (await unhandled.stop()).map(String),
          second: host.seen[1],
          delivered: stats.kpiEventsDelivered,
          pending: stats.kpiEventsPending,
          written: stored + notStored.full + notStored.store_error,
        }).to.deep.equal({ unhandled: [], second: left, delivered: 1, pending: 0, written: withOutbox ? 1 : 0 });
      }),
    ),
  );
});

describe('two exporters sharing one CifDelivery, shut down while their exports wait for a CIF that never comes', () => {
  // "`shutdown()` ... waits up to `timeoutMillis` for the calls queued or in flight, then fails what is left";
  // "It resolves even if the host never answers"; each export reports once.
  const time = useFakeClock();

  it('reports each export once, resolves both shutdowns, and balances the counters', async () => {
    const delivery = new CifDelivery({ ready: new Promise(() => {}), outbox: false, readyTimeoutMillis: 60_000, timeoutMillis: 5_000 });
    const spans = new CifSpanExporter({ delivery });
    const logs = new CifLogRecordExporter({ delivery });
    const spanResults: ExportResult[] = [];
    const logResults: ExportResult[] = [];
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const loggers = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logs })] });
    time.closeables.push(tracer, loggers);
    const span = tracer.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    loggers.getLogger('softphone').emit({ eventName: 'ChatAccepted', attributes: IDENTITY });
    // Through an exporter itself too, to see its result.
    spans.export(endedSpans(time.closeables), (r) => spanResults.push(r));
    await time.clock.tickAsync(0);
    let closed = 0;
    void spans.shutdown().then(() => closed++);
    void logs.shutdown().then(() => closed++);
    logs.export([], (r) => logResults.push(r));
    await time.clock.tickAsync(10_000);
    expect(closed).to.equal(2);
    const stats = logs.getStats();
    expectBalanced(stats);
    expect(stats.kpiEventsPending).to.equal(0);
    expect(stats.dropped.after_shutdown).to.equal(3);
    expect([spanResults.length, logResults.length]).to.deep.equal([1, 1]);
  });
});
