import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { context, diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { createDelivery, HOST_TIMEOUT_MILLIS, type DeliveryEngine, type DeliveryReport } from '../../src/delivery/engine.js';
import type { DeliveryOptions } from '../../src/delivery/options.js';
import { CifHostError, CifNotLoadedError } from '../../src/errors.js';
import { installThrowingDiag } from '../helpers/diag.js';
import { DELIVERY_DEFAULTS as DEFAULT_OPTIONS } from '../../src/delivery/options.js';
import { pageCifClient } from '../../src/delivery/readiness.js';
import { createDeliveryStats, type CifDeliveryStats, type DeliveryDropReason } from '../../src/stats.js';
import { RecordingCifClient, installFakeCIFramework, type FakeCIFramework, type RecordedCifCall } from '../../src/testing/index.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';
import {
  expectBalanced,
  hangs,
  installCifWithoutInitDone,
  later,
  pageWindow,
  removePageCif,
  throws,
  timedClient,
  type Answer,
} from '../helpers/fake-client.js';

/** A call carrying `events` KPI events named `name`, `name#2`, ... */
function call(name: string, events = 1): CifCall {
  return {
    data: {
      conversationId: 'conv-1',
      providerSessionId: 'prov-1',
      events: Array.from({ length: events }, (_, i) => ({
        kpiEventName: i === 0 ? name : `${name}#${i + 1}`,
        eventTimestamp: '2026-11-25T10:15:30.123Z',
      })),
    },
    eventName: name,
    correlationId: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736',
  };
}

const calls = (...names: string[]) => names.map((name) => call(name));
/** The report of a batch of `calls` calls that all were delivered. */
const delivered = (calls: number): DeliveryReport => ({ calls, failed: 0, errors: [] });
const names = (client: { calls: RecordedCifCall[] }) => client.calls.map((c) => c.eventName);

/** Settles the promises that are ready without moving the clock. */
const settle = (clock: InstalledClock) => clock.tickAsync(0);

describe('CifDelivery', () => {
  let clock: InstalledClock;
  let stats: CifDeliveryStats;
  const engines: DeliveryEngine[] = [];
  // Fake CIF libraries put on the page, taken away after each test.
  const fakes: Array<FakeCIFramework<CifAnalyticsClient>> = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    stats = createDeliveryStats();
    unhandled.length = 0;
  });
  afterEach(async () => {
    // Only cleans up after a test that failed before its end checks: a failing hook would skip the suite.
    try {
      const closing = engines.splice(0).map((e) => e.shutdown());
      await clock.runAllAsync();
      await Promise.all(closing);
    } catch {
      // The test has failed already, and says why.
    } finally {
      clock.uninstall();
      fakes.splice(0).forEach((fake) => fake.uninstall());
      removePageCif();
    }
  });

  /** What holds at the end of every test, whatever it did: checked in the test, so a failure names it. */
  async function expectCleanEnd(): Promise<void> {
    expectBalanced(stats);
    const closing = engines.splice(0).map((e) => e.shutdown());
    await clock.runAllAsync();
    await Promise.all(closing);
    expect(clock.countTimers(), 'timers left behind').to.equal(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  }

  /** `it`, ending each test of this suite with `expectCleanEnd()`. */
  function it(title: string, fn: () => unknown): Mocha.Test {
    return globalThis.it(title, async () => {
      await fn();
      await expectCleanEnd();
    });
  }

  function engine(client: CifAnalyticsClient | undefined, options: Partial<DeliveryOptions> = {}): DeliveryEngine {
    const delivery = createDelivery(
      {
        getClient: client ? () => client : pageCifClient,
        client,
        dataFormat: 'object',
        readyTimeoutMillis: DEFAULT_OPTIONS.readyTimeoutMillis,
        timeoutMillis: DEFAULT_OPTIONS.timeoutMillis,
        retry: { ...DEFAULT_OPTIONS.retry },
        maxConcurrentCalls: DEFAULT_OPTIONS.maxConcurrentCalls,
        maxQueueSize: DEFAULT_OPTIONS.maxQueueSize,
        outbox: { store: false },
        random: () => 0.5,
        ...options,
      },
      stats,
    );
    engines.push(delivery);
    return delivery;
  }

  /** Watches a promise without awaiting it. */
  function watch<T>(promise: Promise<T>): { settled: boolean; value: T | undefined } {
    const state = { settled: false, value: undefined as T | undefined };
    void promise.then((value) => {
      state.settled = true;
      state.value = value;
    });
    return state;
  }

  describe('readiness', () => {
    it('makes calls synchronously with an explicit client, in the order given', () => {
      const client = new RecordingCifClient();
      void engine(client).deliver(calls('A', 'B', 'C'));
      expect(names(client)).to.deep.equal(['A', 'B', 'C']);
    });

    it('passes the payload, eventName and correlationId through unchanged', async () => {
      const client = timedClient();
      const c = call('CallAccepted', 2);
      expect(await engine(client).deliver([c])).to.deep.equal(delivered(1));
      expect(client.calls).to.deep.equal([
        { data: c.data, eventName: c.eventName, correlationId: c.correlationId, at: Date.now() },
      ]);
      expect(stats).to.include({ kpiEventsSent: 2, kpiEventsDelivered: 2, kpiEventsPending: 0, callsMade: 1 });
    });

    it('sends JSON text when dataFormat is json', async () => {
      const client = new RecordingCifClient();
      const c = call('A');
      await engine(client, { dataFormat: 'json' }).deliver([c]);
      expect(client.calls[0]!.data).to.equal(JSON.stringify(c.data));
    });

    it('calls the host with tracing suppressed in the active context', async () => {
      const seen: boolean[] = [];
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      try {
        const client = new RecordingCifClient({ onCall: () => seen.push(isTracingSuppressed(context.active())) });
        expect(await engine(client).deliver(calls('A', 'B'))).to.deep.equal(delivered(2));
      } finally {
        context.disable();
      }
      expect(seen).to.deep.equal([true, true]);
    });

    it('calls Microsoft.CIFramework at once when it is already on the page at the first call', () => {
      const client = new RecordingCifClient();
      fakes.push(installFakeCIFramework(globalThis, client));
      void engine(undefined).deliver(calls('A'));
      expect(names(client)).to.deep.equal(['A']);
    });

    it('holds calls until CIFInitDone fires, even once the library is on the page', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined);
        const result = watch(delivery.deliver(calls('A', 'B')));
        const client = new RecordingCifClient();
        await clock.tickAsync(1000);
        installCifWithoutInitDone(client);
        await clock.tickAsync(5000);
        expect(client.calls).to.have.length(0);
        expect(stats).to.include({ callsQueued: 2, callsInFlight: 0, kpiEventsPending: 2 });
        page.fire('CIFInitDone');
        expect(names(client)).to.deep.equal(['A', 'B']);
        await settle(clock);
        expect(result).to.deep.equal({ settled: true, value: delivered(2) });
        expect(page.listeners('CIFInitDone')).to.equal(0);
      } finally {
        page.restore();
      }
    });

    it('fails a call at once as cif_not_loaded when the page took its library away after CIFInitDone', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined);
        const client = new RecordingCifClient();
        installCifWithoutInitDone(client);
        page.fire('CIFInitDone');
        expect((await delivery.deliver(calls('A'))).failed).to.equal(0);
        removePageCif();
        const start = clock.now;
        const { failed, errors } = await delivery.deliver(calls('B'));
        expect([failed, errors.map((e) => e.message)]).to.deep.equal([1, ['CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page']]);
        // At once: no wait for the library to come back.
        expect([names(client), stats.dropped.cif_not_loaded, clock.now - start]).to.deep.equal([['A'], 1, 0]);
      } finally {
        page.restore();
      }
    });

    it('fails each waiting call readyTimeoutMillis after it was handed over, as cif_not_loaded', async () => {
      const delivery = engine(undefined, { readyTimeoutMillis: 20_000 });
      const first = watch(delivery.deliver([call('A', 2)]));
      await clock.tickAsync(5_000);
      const second = watch(delivery.deliver(calls('B')));
      await clock.tickAsync(14_999);
      expect(first.settled).to.equal(false);
      await clock.tickAsync(1);
      expect(first.value!.failed).to.equal(1);
      expect(first.value!.errors.map((e) => e.message)).to.deep.equal([
        'CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 20000 ms',
      ]);
      expect(second.settled).to.equal(false);
      expect(stats.dropped.cif_not_loaded).to.equal(2);
      await clock.tickAsync(5_000);
      expect(second.value!.errors[0]!.message).to.match(/^CIF library not loaded/);
      expect(stats).to.include({ callsFailed: 2, callsMade: 0, kpiEventsPending: 0, callsQueued: 0 });
      expect(stats.dropped.cif_not_loaded).to.equal(3);
    });

    it('delivers waiting calls when their wait runs out and the library is there without its event', async () => {
      const delivery = engine(undefined, { readyTimeoutMillis: 1_000 });
      const result = watch(delivery.deliver(calls('A')));
      const client = new RecordingCifClient();
      fakes.push(installFakeCIFramework(globalThis, client));
      await clock.tickAsync(999);
      expect(client.calls).to.have.length(0);
      await clock.tickAsync(1);
      expect(names(client)).to.deep.equal(['A']);
      expect(result.value).to.deep.equal(delivered(1));
      expect(stats.kpiEventsDelivered).to.equal(1);
    });

    it('waits for the ready promise even with an explicit client', async () => {
      let resolve!: () => void;
      const client = new RecordingCifClient();
      const delivery = engine(client, { ready: new Promise<void>((r) => (resolve = r)) });
      const result = watch(delivery.deliver(calls('A')));
      await clock.tickAsync(10_000);
      expect(client.calls).to.have.length(0);
      resolve();
      await settle(clock);
      expect(names(client)).to.deep.equal(['A']);
      expect(result.value).to.deep.equal(delivered(1));
    });

    it('fails waiting and later calls at once when the ready promise rejects, with its reason', async () => {
      let reject!: (reason: unknown) => void;
      const client = new RecordingCifClient();
      const delivery = engine(client, { ready: new Promise((_, r) => (reject = r)) });
      const waiting = watch(delivery.deliver(calls('A')));
      reject(new Map([['message', 'provider disabled']]));
      await settle(clock);
      const later = watch(delivery.deliver(calls('B')));
      await settle(clock);
      for (const result of [waiting, later]) {
        expect(result.value!.errors.map((e) => e.message)).to.deep.equal([
          'CIF library not loaded: the ready promise rejected: provider disabled',
        ]);
      }
      expect(client.calls).to.have.length(0);
      expect(stats.dropped.cif_not_loaded).to.equal(2);
    });

    it('stops waiting on its ready timer once CIFInitDone fires', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined);
        const result = watch(delivery.deliver(calls('A')));
        expect(clock.countTimers(), 'the ready timer').to.equal(1);
        fakes.push(installFakeCIFramework(globalThis, new RecordingCifClient()));
        await settle(clock);
        expect(result.value).to.deep.equal(delivered(1));
        expect(clock.countTimers(), 'timers once every call settled').to.equal(0);
      } finally {
        page.restore();
      }
    });

    it('stops waiting on its ready timer once the ready promise rejects', async () => {
      let reject!: (reason: unknown) => void;
      const delivery = engine(new RecordingCifClient(), { ready: new Promise((_, r) => (reject = r)) });
      const result = watch(delivery.deliver(calls('A')));
      expect(clock.countTimers(), 'the ready timer').to.equal(1);
      reject('no');
      await settle(clock);
      expect(result.settled).to.equal(true);
      expect(clock.countTimers(), 'timers once every call settled').to.equal(0);
    });

    it('keeps one ready timer however many calls wait for CIF', async () => {
      const delivery = engine(undefined);
      void delivery.deliver(calls('A'));
      await clock.tickAsync(1_000);
      void delivery.deliver(calls('B', 'C'));
      expect(clock.countTimers()).to.equal(1);
      expect(stats.callsQueued).to.equal(3);
    });

    it('fails with "CIF library not loaded" when the ready promise resolved but the page has no library', async () => {
      const delivery = engine(undefined, { ready: Promise.resolve() });
      const { failed, errors } = await delivery.deliver(calls('A'));
      expect(failed).to.equal(1);
      expect(errors.map((e) => e.name)).to.deep.equal(['CifNotLoadedError']);
      expect(errors[0]!.message).to.equal('CIF library not loaded: Microsoft.CIFramework.logAnalyticsEvent is not on this page');
      expect(stats.dropped.cif_not_loaded).to.equal(1);
    });
  });

  describe('timeouts', () => {
    it('fails a call the host does not answer within timeoutMillis, and does not retry it', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const result = watch(engine(client, { timeoutMillis: 15_000 }).deliver(calls('A')));
      await clock.tickAsync(14_999);
      expect(result.settled).to.equal(false);
      expect(stats.callsInFlight).to.equal(1);
      await clock.tickAsync(1);
      expect(result.value!.errors.map((e) => [e.name, e.message])).to.deep.equal([
        ['CifTimeoutError', 'logAnalyticsEvent did not answer within 15000 ms (timeoutMillis)'],
      ]);
      await clock.tickAsync(60_000);
      expect(client.calls).to.have.length(1);
      expect(stats).to.include({ callsTimedOut: 1, callsFailed: 1, callsRetried: 0, callsInFlight: 0 });
      expect(stats.dropped.timed_out).to.equal(1);
    });

    it('ignores an answer that comes after the timeout', async () => {
      const client = new RecordingCifClient({ answer: () => later(20_000, 'ok') });
      await Promise.all([engine(client, { timeoutMillis: 1_000 }).deliver(calls('A')), clock.tickAsync(1_000)]);
      await clock.tickAsync(30_000);
      expect(stats).to.include({ kpiEventsDelivered: 0, callsTimedOut: 1, callsFailed: 1 });
    });

    it('ignores a rejection that comes after the timeout, and does not retry the call', async () => {
      const client = new RecordingCifClient({ answer: () => later(20_000, () => Promise.reject('late no')) });
      await Promise.all([engine(client, { timeoutMillis: 1_000 }).deliver(calls('A')), clock.tickAsync(1_000)]);
      await clock.tickAsync(30_000);
      expect(client.calls).to.have.length(1);
      expect(stats).to.include({ kpiEventsDelivered: 0, callsTimedOut: 1, callsFailed: 1, callsRetried: 0 });
      expect(stats.dropped).to.include({ timed_out: 1, host_error: 0 });
    });

    it('ignores an answer after the timeout when timeoutMillis is as long as the host\'s own limit', async () => {
      const client = new RecordingCifClient({ answer: () => later(HOST_TIMEOUT_MILLIS + 20_000, 'ok') });
      const result = watch(engine(client, { timeoutMillis: HOST_TIMEOUT_MILLIS }).deliver(calls('A')));
      await clock.tickAsync(HOST_TIMEOUT_MILLIS);
      expect(result.value!.errors.map((e) => e.name)).to.deep.equal(['CifTimeoutError']);
      expect(stats).to.include({ callsTimedOut: 1, callsAbandoned: 0 });
      await clock.tickAsync(30_000);
      expect(stats).to.include({ kpiEventsDelivered: 0, callsFailed: 1 });
    });

    it("delivers a call the host answers past timeoutMillis but before the engine's timer fires, held back as a hidden tab's browser holds it", async () => {
      let answer!: (value: string) => void;
      const client = new RecordingCifClient({ answer: () => new Promise<string>((resolve) => (answer = resolve)) });
      // Every timer set from here on fires 1.5 s late, as a browser throttling a hidden page's timers.
      const onTime = globalThis.setTimeout;
      globalThis.setTimeout = ((task: () => void, millis = 0) => onTime(task, millis + 1_500)) as typeof setTimeout;
      try {
        const result = watch(engine(client, { timeoutMillis: 2_000 }).deliver(calls('A')));
        await clock.tickAsync(2_500);
        expect(stats).to.include({ callsInFlight: 1, callsTimedOut: 0 });
        answer('ok');
        await clock.tickAsync(2_000);
        expect(result.value).to.deep.equal(delivered(1));
        expect(stats).to.include({ kpiEventsDelivered: 1, callsTimedOut: 0, callsFailed: 0 });
      } finally {
        globalThis.setTimeout = onTime;
      }
    });

    it('delivers a call answered just within the timeout', async () => {
      const client = new RecordingCifClient({ answer: () => later(999, 'ok') });
      const result = watch(engine(client, { timeoutMillis: 1_000 }).deliver(calls('A')));
      await clock.tickAsync(999);
      expect(result.value).to.deep.equal(delivered(1));
      expect(stats).to.include({ kpiEventsDelivered: 1, callsTimedOut: 0 });
    });
  });

  describe('retries', () => {
    // What the host does, the message it comes to, and how long after the call it fails.
    const faults: Array<[string, () => Answer, string, number]> = [
      ['rejects with an Error', () => Promise.reject(new Error('Provider not active')), 'Provider not active', 0],
      ['rejects with a Map holding message', () => Promise.reject(new Map([['message', 'Not allowed']])), 'Not allowed', 0],
      ['rejects with a string', () => Promise.reject('host busy'), 'host busy', 0],
      ['rejects with undefined', () => Promise.reject(undefined), 'CIF host rejected the call: undefined', 0],
      ['throws synchronously', () => throws(new TypeError('sync failure')), 'sync failure', 0],
      ['throws a plain object', () => throws({ code: 42 }), 'CIF host rejected the call: {"code":42}', 0],
      ['rejects with an object without a prototype', () => Promise.reject(Object.create(null)), 'CIF host rejected the call: [object Object]', 0],
      ['fails after a delay', () => later(100, () => Promise.reject('late no')), 'late no', 100],
    ];

    faults.forEach(([what, fault, , failedAt]) =>
      it(`retries a call whose host ${what}, after 250 then 500 ms, and delivers it`, async () => {
        const client = timedClient((_, index) => (index < 2 ? fault() : 'ok'));
        const delivery = engine(client);
        const start = Date.now();
        const result = watch(delivery.deliver(calls('A')));
        await clock.runAllAsync();
        expect(client.calls.map((c) => c.at - start)).to.deep.equal([0, failedAt + 250, 2 * failedAt + 750]);
        expect(result.value).to.deep.equal(delivered(1));
        expect(stats).to.include({ callsMade: 3, callsRetried: 2, callsFailed: 0, kpiEventsDelivered: 1 });
      }),
    );

    faults.forEach(([what, fault, message]) =>
      it(`drops a call as host_error after maxAttempts when the host always ${what}`, async () => {
        const client = timedClient(fault);
        const result = watch(engine(client).deliver([call('A', 3)]));
        await clock.runAllAsync();
        expect(result.value!.failed).to.equal(1);
        expect(result.value!.errors.map((e) => e.message)).to.deep.equal([message]);
        expect(result.value!.errors[0]).to.be.instanceOf(Error);
        expect(client.calls).to.have.length(3);
        expect(stats).to.include({ callsMade: 3, callsRetried: 2, callsFailed: 1 });
        expect(stats.dropped.host_error).to.equal(3);
      }),
    );

    it('retries each call when its own backoff ends, when backoffs of different lengths overlap', async () => {
      // A fails at once and B after 100 ms: A's retry is due at 250 ms, B's at 350 ms.
      const client = timedClient((call) => {
        const first = client.calls.filter((c) => c.eventName === call.eventName).length === 1;
        if (!first) return 'ok';
        return call.eventName === 'A' ? Promise.reject('A busy') : later(100, () => Promise.reject('B busy'));
      });
      const start = Date.now();
      const result = watch(engine(client).deliver(calls('A', 'B')));
      await clock.runAllAsync();
      expect(client.calls.map((c) => [c.eventName, c.at - start])).to.deep.equal([
        ['A', 0],
        ['B', 0],
        ['A', 250],
        ['B', 350],
      ]);
      expect(result.value).to.deep.equal(delivered(2));
    });

    it('does not retry when maxAttempts is 1', async () => {
      const client = new RecordingCifClient({ answer: () => Promise.reject('no') });
      await engine(client, { retry: { maxAttempts: 1, initialBackoffMillis: 250, maxBackoffMillis: 5000 } }).deliver(
        calls('A'),
      );
      expect(client.calls).to.have.length(1);
      expect(stats).to.include({ callsRetried: 0, callsFailed: 1 });
    });

    it('doubles the backoff up to maxBackoffMillis', async () => {
      const client = timedClient(() => Promise.reject('no'));
      const start = Date.now();
      const done = engine(client, { retry: { maxAttempts: 5, initialBackoffMillis: 1_000, maxBackoffMillis: 3_000 } }).deliver(
        calls('A'),
      );
      await clock.runAllAsync();
      await done;
      expect(client.calls.map((c) => c.at - start)).to.deep.equal([0, 1_000, 3_000, 6_000, 9_000]);
    });

    it('applies jitter from its random source', async () => {
      const client = timedClient((_, index) => (index === 0 ? Promise.reject('no') : 'ok'));
      const start = Date.now();
      const done = engine(client, { random: () => 0 }).deliver(calls('A'));
      await clock.runAllAsync();
      await done;
      expect(client.calls.map((c) => c.at - start)).to.deep.equal([0, 200]);
    });

    it('retries calls whose backoffs ran out by the same timer oldest first, though the newer fell due first', async () => {
      // A fails at 0 and 250 (due again at 750); B fails at 300 (due at 550).
      const client = new RecordingCifClient({ answer: (c, index) => (index === 1 ? later(300, () => Promise.reject('no')) : c.eventName === 'A' && index < 3 ? Promise.reject('no') : 'ok') });
      const delivery = engine(client);
      const result = watch(delivery.deliver(calls('A', 'B')));
      await clock.tickAsync(300);
      expect(names(client)).to.deep.equal(['A', 'B', 'A']);
      // The page was suspended: when the timer for B fires, A's backoff is over too.
      clock.jump(1_000);
      await settle(clock);
      expect(names(client)).to.deep.equal(['A', 'B', 'A', 'A', 'B']);
      expect(result.value).to.deep.equal(delivered(2));
    });

    it('counts a call waiting out its backoff as queued, not in flight', async () => {
      const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject('no') : 'ok') });
      void engine(client).deliver(calls('A'));
      await settle(clock);
      expect(stats).to.include({ callsQueued: 1, callsInFlight: 0, kpiEventsPending: 1 });
      await clock.tickAsync(250);
      expect(stats).to.include({ callsQueued: 0, callsInFlight: 0, kpiEventsDelivered: 1 });
    });
  });

  describe('concurrency and the queue', () => {
    it('keeps at most maxConcurrentCalls in flight and starts the next as one settles', async () => {
      const client = new RecordingCifClient({ answer: (c) => later(c.eventName === 'A' ? 100 : 1_000, 'ok') });
      void engine(client, { maxConcurrentCalls: 2 }).deliver(calls('A', 'B', 'C', 'D'));
      expect(names(client)).to.deep.equal(['A', 'B']);
      expect(stats).to.include({ callsInFlight: 2, callsQueued: 2 });
      await clock.tickAsync(100);
      expect(names(client)).to.deep.equal(['A', 'B', 'C']);
      expect(stats).to.include({ callsInFlight: 2, callsQueued: 1 });
      await clock.runAllAsync();
      expect(names(client)).to.deep.equal(['A', 'B', 'C', 'D']);
      expect(stats).to.include({ callsInFlight: 0, callsQueued: 0, kpiEventsDelivered: 4 });
    });

    [
      { order: 'the oldest first', millis: { A: 100, B: 200, C: 300 } },
      { order: 'the newest first', millis: { A: 300, B: 200, C: 100 } },
      { order: 'the middle one first', millis: { A: 200, B: 100, C: 300 } },
    ].forEach(({ order, millis }) =>
      it(`frees the slot of whichever call answers, ${order}, and starts one call per answer`, async () => {
        const client = new RecordingCifClient({ answer: (c) => later(millis[c.eventName as 'A'] ?? 1_000, 'ok') });
        const done = engine(client, { maxConcurrentCalls: 3 }).deliver(calls('A', 'B', 'C', 'D', 'E', 'F'));
        const started: number[] = [];
        for (let t = 0; t < 3; t++) {
          await clock.tickAsync(100);
          started.push(client.calls.length);
          expect(stats).to.include({ callsInFlight: 3, callsAbandoned: 0 });
        }
        expect(started).to.deep.equal([4, 5, 6]);
        await clock.runAllAsync();
        expect(await done).to.deep.equal(delivered(6));
      }),
    );

    it('gives a call whose backoff is over the next free slot, before newer calls', async () => {
      const client = new RecordingCifClient({ answer: (c, index) => (index === 0 ? Promise.reject('no') : later(c.eventName === 'B' ? 300 : 1_000, 'ok')) });
      void engine(client, { maxConcurrentCalls: 1 }).deliver(calls('A', 'B', 'C'));
      await clock.runAllAsync();
      expect(names(client)).to.deep.equal(['A', 'B', 'A', 'C']);
    });

    it('drops a call as queue_full once maxQueueSize KPI events are pending, in flight included, and answers it at once', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { maxConcurrentCalls: 1, maxQueueSize: 3 });
      // Two KPI events a call: the second call finds 2 pending and gets in, the third finds 4.
      const results = Array.from({ length: 5 }, (_, i) => watch(delivery.deliver([call(`K${i}`, 2)])));
      await settle(clock);
      expect(names(client)).to.deep.equal(['K0']);
      expect(stats).to.include({ callsInFlight: 1, callsQueued: 1, kpiEventsPending: 4 });
      expect(stats.dropped.queue_full).to.equal(6);
      expect(results.map((r) => r.settled)).to.deep.equal([false, false, true, true, true]);
      expect(results[2]!.value!.errors.map((e) => [e.name, e.message])).to.deep.equal([
        ['CifQueueFullError', 'delivery queue full: 3 KPI events already pending (maxQueueSize)'],
      ]);
    });

    it('admits calls again once the queue has room', async () => {
      const client = new RecordingCifClient({ answer: () => later(100, 'ok') });
      const delivery = engine(client, { maxConcurrentCalls: 1, maxQueueSize: 2 });
      const first = delivery.deliver(calls('A', 'B', 'C'));
      await clock.tickAsync(100);
      const second = delivery.deliver(calls('D'));
      await clock.runAllAsync();
      const { failed, errors } = await first;
      expect(failed).to.equal(1);
      expect(errors.map((e) => e.name)).to.deep.equal(['CifQueueFullError']);
      expect(await second).to.deep.equal(delivered(1));
      expect(names(client)).to.deep.equal(['A', 'B', 'D']);
    });

    it('never holds more than maxQueueSize KPI events while the host stalls, however many arrive', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { maxConcurrentCalls: 4, maxQueueSize: 50, timeoutMillis: 60_000 });
      let mostPending = 0;
      for (let i = 0; i < 200; i++) {
        void delivery.deliver(Array.from({ length: 10 }, (_, j) => call(`K${i}.${j}`)));
        mostPending = Math.max(mostPending, stats.kpiEventsPending);
        await clock.tickAsync(100);
      }
      expect(mostPending).to.equal(50);
      expect(client.calls).to.have.length(4);
      expect(stats.dropped.queue_full).to.equal(2000 - 50);
      expect(stats).to.include({ callsInFlight: 4, callsQueued: 46, kpiEventsPending: 50 });
    });
  });

  describe('timers', () => {
    const CALLS = 200;
    const cases: Array<{ title: string; client: () => CifAnalyticsClient | undefined; options: Partial<DeliveryOptions>; after: number }> = [
      { title: 'while every call hangs at the host', client: () => new RecordingCifClient({ answer: hangs }), options: { maxConcurrentCalls: CALLS }, after: 1_000 },
      { title: 'while the calls wait out their backoffs', client: () => new RecordingCifClient({ answer: () => Promise.reject('no') }), options: { maxConcurrentCalls: CALLS }, after: 10 },
      { title: 'while the calls wait for CIF', client: () => undefined, options: {}, after: 1_000 },
      {
        title: 'while timed-out calls hold their slots and others wait for one',
        client: () => new RecordingCifClient({ answer: hangs }),
        options: { maxConcurrentCalls: 50, timeoutMillis: 1_000 },
        after: 1_000,
      },
    ];
    cases.forEach((c) =>
      it(`runs one engine timer for ${CALLS} calls ${c.title}`, async () => {
        const delivery = engine(c.client(), c.options);
        void delivery.deliver(Array.from({ length: CALLS }, (_, i) => call(`K${i}`)));
        await clock.tickAsync(c.after);
        expect(stats.kpiEventsPending).to.equal(CALLS - stats.callsFailed);
        expect(clock.countTimers()).to.equal(1);
      }),
    );

    it('describes what setTimeout threw as thrown by the page, not as a host rejection', async () => {
      const delivery = engine(new RecordingCifClient({ answer: hangs }), { timeoutMillis: 1_000 });
      const fake = globalThis.setTimeout;
      globalThis.setTimeout = (() => {
        throw { code: 'TIMERS_OFF' };
      }) as unknown as typeof setTimeout;
      let result;
      try {
        result = watch(delivery.deliver(calls('A')));
      } finally {
        globalThis.setTimeout = fake;
      }
      await clock.tickAsync(0);
      expect(result.value?.errors.map((e) => e.message)).to.deep.equal(['setTimeout failed ({"code":"TIMERS_OFF"}), so calls cannot be timed: given up']);
    });

    it('gives up the calls left as no_timer at once when setTimeout fails as its timer is set again after firing', async () => {
      const delivery = engine(new RecordingCifClient({ answer: hangs }), { timeoutMillis: 1_000 });
      void delivery.deliver(calls('A'));
      await clock.tickAsync(500);
      const result = watch(delivery.deliver(calls('B')));
      const fake = globalThis.setTimeout;
      globalThis.setTimeout = (() => {
        throw new Error('off');
      }) as unknown as typeof setTimeout;
      try {
        await clock.tickAsync(500);
      } finally {
        globalThis.setTimeout = fake;
      }
      expect(result.value?.errors.map((e) => [e.name, e.message])).to.deep.equal([['CifTimerError', 'setTimeout failed (off), so calls cannot be timed: given up']]);
      expect(stats.dropped).to.include({ timed_out: 1, no_timer: 1 });
      expect(stats).to.include({ callsInFlight: 0, callsAbandoned: 0, kpiEventsPending: 0 });
    });

    it('gives up as no_timer a call whose setTimeout called back before it returned, and times the next call as usual', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000 });
      const fake = globalThis.setTimeout;
      // The page's wrapper runs the callback at once, once, and returns a timer that does nothing.
      globalThis.setTimeout = ((callback: () => void) => {
        globalThis.setTimeout = fake;
        callback();
        return fake(() => {}, 0);
      }) as typeof setTimeout;
      let first: DeliveryReport;
      try {
        first = await delivery.deliver(calls('A'));
      } finally {
        globalThis.setTimeout = fake;
      }
      expect(first.errors.map((e) => [e.name, e.message])).to.deep.equal([
        ['CifTimerError', 'setTimeout failed (it called back before it returned), so calls cannot be timed: given up'],
      ]);
      const second = watch(delivery.deliver(calls('B')));
      await clock.tickAsync(1_000);
      expect([second.value?.failed, stats.dropped.no_timer, stats.dropped.timed_out, stats.kpiEventsPending]).to.deep.equal([1, 1, 1, 0]);
    });

    it('takes every deadline on the clock it was given, not the wall clock', async () => {
      const delivery = engine(new RecordingCifClient({ answer: hangs }), { timeoutMillis: 300, now: () => performance.now() + 1_000_000 });
      const result = watch(delivery.deliver(calls('A')));
      await clock.tickAsync(299);
      expect(result.settled).to.equal(false);
      await clock.tickAsync(1);
      expect([result.settled, stats.callsTimedOut]).to.deep.equal([true, 1]);
    });

    it('sets its timer again for later calls once setTimeout works again', async () => {
      const client = new RecordingCifClient({ answer: () => later(100, 'ok') });
      const delivery = engine(client, { timeoutMillis: 1_000 });
      const fake = globalThis.setTimeout;
      globalThis.setTimeout = (() => {
        throw new Error('blocked');
      }) as unknown as typeof setTimeout;
      let first: DeliveryReport;
      try {
        first = await delivery.deliver(calls('A'));
      } finally {
        globalThis.setTimeout = fake;
      }
      expect(first.errors.map((e) => [e.name, e.message])).to.deep.equal([['CifTimerError', 'setTimeout failed (blocked), so calls cannot be timed: given up']]);
      const second = watch(delivery.deliver(calls('B')));
      expect(clock.countTimers()).to.equal(2);
      await clock.tickAsync(100);
      expect([second.value, names(client)]).to.deep.equal([delivered(1), ['B']]);
    });

    it('runs no timer once every call has settled', async () => {
      const delivery = engine(new RecordingCifClient());
      await delivery.deliver(calls('A', 'B', 'C'));
      expect(clock.countTimers()).to.equal(0);
    });

    it("runs its timer while a timed-out call holds its slot, and none once the host's own limit frees it", async () => {
      const result = watch(engine(new RecordingCifClient({ answer: hangs }), { timeoutMillis: 1_000 }).deliver(calls('A')));
      await clock.tickAsync(1_000);
      expect(result.value!.failed).to.equal(1);
      expect(stats).to.include({ kpiEventsPending: 0, callsAbandoned: 1 });
      expect(clock.countTimers()).to.equal(1);
      await clock.tickAsync(HOST_TIMEOUT_MILLIS - 1_000);
      expect(stats.callsAbandoned).to.equal(0);
      expect(clock.countTimers()).to.equal(0);
    });
  });

  describe('memory', () => {
    it('keeps a batch reachable only through the calls still queued or in flight', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('this test needs node --expose-gc (see .mocharc.json)');
      const delivery = engine(new RecordingCifClient({ answer: hangs }), { maxConcurrentCalls: 1, maxQueueSize: 2 });
      // Handed over in a function of its own, so this test keeps no reference to the batch.
      const { array, refused, queued } = ((batch: CifCall[]) => {
        void delivery.deliver(batch);
        return { array: new WeakRef(batch), refused: new WeakRef(batch[3]!), queued: new WeakRef(batch[1]!) };
      })(calls('A', 'B', 'C', 'D'));
      await settle(clock);
      gc();
      await settle(clock);
      expect(stats).to.include({ callsInFlight: 1, callsQueued: 1 });
      expect(array.deref(), 'the array of calls handed to deliver()').to.equal(undefined);
      expect(refused.deref(), 'a call refused for a full queue').to.equal(undefined);
      expect(queued.deref(), 'a call still queued').to.not.equal(undefined);
    });

    it('lets go of the promise deliver() returned once its calls have settled', async () => {
      const gc = (globalThis as { gc?: () => void }).gc!;
      const delivery = engine(new RecordingCifClient());
      // Created in a function of its own, so this test keeps no reference to the promise.
      const promise = ((d: DeliveryEngine) => new WeakRef(d.deliver(calls('A', 'B'))))(delivery);
      await settle(clock);
      expect(stats.kpiEventsDelivered).to.equal(2);
      // Collected twice, a task apart, as the other tests here: one collection alone now and then found it still held.
      gc();
      await settle(clock);
      gc();
      await settle(clock);
      expect(promise.deref(), 'the promise of a settled batch').to.equal(undefined);
    });

    it('lets go of a call once it timed out, or shutdown gave up on it, though the host never answers', async () => {
      const gc = (globalThis as { gc?: () => void }).gc!;
      // Like the CIF library waiting for the host page's reply, it holds on to every unanswered call.
      const unanswered: Array<(answer: string) => void> = [];
      const host = new RecordingCifClient({ answer: () => new Promise((resolve) => unanswered.push(resolve)) });
      // As long as the host's own limit, so that A gives its slot to B when it times out.
      const delivery = engine(host, { timeoutMillis: HOST_TIMEOUT_MILLIS, maxConcurrentCalls: 1 });
      const [timedOut, cutOff] = ((batch: CifCall[]) => {
        void delivery.deliver(batch);
        return batch.map((call) => new WeakRef(call));
      })(calls('A', 'B'));
      // At 100 s, A times out, B starts, and shutdown stops waiting and cuts B off in flight.
      const closed = delivery.shutdown();
      await clock.tickAsync(HOST_TIMEOUT_MILLIS);
      await closed;
      expect(stats).to.include({ callsTimedOut: 1, callsMade: 2 });
      expect(stats.dropped.after_shutdown).to.equal(1);
      gc();
      await settle(clock);
      expect(timedOut!.deref(), 'the call that timed out').to.equal(undefined);
      expect(cutOff!.deref(), 'the call shutdown failed').to.equal(undefined);
      expect(unanswered).to.have.length(2);
    });
  });

  describe('results', () => {
    it('resolves once every call of the batch settled, with the errors of those that failed', async () => {
      const client = new RecordingCifClient({
        answer: (c) => (c.eventName === 'slow' ? later(5_000, 'ok') : c.eventName === 'bad' ? Promise.reject('no') : 'ok'),
      });
      const result = watch(engine(client).deliver(calls('fine', 'bad', 'slow')));
      await clock.tickAsync(4_999);
      expect(result.settled).to.equal(false);
      await clock.tickAsync(1);
      expect(result.value!.failed).to.equal(1);
      expect(result.value!.errors.map((e) => e.message)).to.deep.equal(['no']);
      expect(stats).to.include({ kpiEventsDelivered: 2, callsFailed: 1 });
    });

    it('reports failures as a count and at most three distinct errors, however many calls failed', async () => {
      const messages = ['one', 'two', 'three', 'four'];
      const client = new RecordingCifClient({ answer: (_, index) => Promise.reject(messages[index % 4]!) });
      const batch = Array.from({ length: 40 }, (_, i) => call(`K${i}`));
      const report = watch(engine(client, { retry: { maxAttempts: 1, initialBackoffMillis: 0, maxBackoffMillis: 0 } }).deliver(batch));
      await clock.runAllAsync();
      expect(report.value!.calls).to.equal(40);
      expect(report.value!.failed).to.equal(40);
      expect(report.value!.errors.map((e) => e.message)).to.deep.equal(['one', 'two', 'three']);
    });

    it('resolves at once for no calls', async () => {
      expect(await engine(new RecordingCifClient()).deliver([])).to.deep.equal(delivered(0));
    });
  });

  describe('flush and shutdown', () => {
    it('flushes once every call queued or in flight has settled, retries included', async () => {
      const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject('no') : later(1_000, 'ok')) });
      const delivery = engine(client, { maxConcurrentCalls: 1 });
      void delivery.deliver(calls('A', 'B'));
      const flushed = watch(delivery.flush());
      await clock.tickAsync(1_249);
      expect(flushed.settled).to.equal(false);
      await clock.tickAsync(1_000);
      expect(flushed.settled).to.equal(true);
      expect(stats.kpiEventsDelivered).to.equal(2);
    });

    it('flushes at once when nothing is pending, and twice in a row', async () => {
      const delivery = engine(new RecordingCifClient());
      const first = watch(delivery.flush());
      const second = watch(delivery.flush());
      expect(clock.countTimers(), 'a keep-alive timer started').to.equal(0);
      await settle(clock);
      expect([first.settled, second.settled]).to.deep.equal([true, true]);
      expect(clock.countTimers(), 'a keep-alive timer left behind').to.equal(0);
    });

    it('refuses calls after shutdown as after_shutdown, without calling the host', async () => {
      const client = new RecordingCifClient();
      const delivery = engine(client);
      await delivery.shutdown();
      expect(delivery.isClosed).to.equal(true);
      const { failed, errors } = await delivery.deliver([call('A', 2)]);
      expect(failed).to.equal(1);
      expect(errors.map((e) => [e.name, e.message])).to.deep.equal([['CifShutdownError', 'the CIF delivery is shut down']]);
      expect(client.calls).to.have.length(0);
      expect(stats.dropped.after_shutdown).to.equal(2);
    });

    it('lets calls in flight and in backoff finish during shutdown', async () => {
      const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject('no') : later(1_000, 'ok')) });
      const delivery = engine(client);
      const result = watch(delivery.deliver(calls('A', 'B')));
      const closed = watch(delivery.shutdown());
      await clock.tickAsync(1_250);
      expect(closed.settled).to.equal(true);
      expect(result.value).to.deep.equal(delivered(2));
      expect(stats.kpiEventsDelivered).to.equal(2);
      expect(clock.countTimers(), 'the shutdown deadline outlived it').to.equal(0);
    });

    it('resolves within timeoutMillis when the host never answers, failing what is left as after_shutdown', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { maxConcurrentCalls: 2, timeoutMillis: 3_000 });
      const result = watch(delivery.deliver(calls('A', 'B', 'C', 'D')));
      await clock.tickAsync(1_000);
      const closed = watch(delivery.shutdown());
      await clock.tickAsync(1_999);
      expect(closed.settled).to.equal(false);
      await clock.tickAsync(1);
      // A and B time out at 3 s; C and D start then, and shutdown cuts them off at 4 s.
      expect(stats.callsTimedOut).to.equal(2);
      await clock.tickAsync(1_000);
      expect(closed.settled).to.equal(true);
      expect(result.value!.failed).to.equal(4);
      expect(result.value!.errors.map((e) => e.name)).to.deep.equal(['CifTimeoutError', 'CifShutdownError']);
      expect(stats.dropped.after_shutdown).to.equal(2);
      expect(stats).to.include({ callsInFlight: 0, callsQueued: 0, kpiEventsPending: 0 });
      expect(clock.countTimers()).to.equal(0);
    });

    it('returns the same promise from a second shutdown', () => {
      const delivery = engine(new RecordingCifClient());
      expect(delivery.shutdown()).to.equal(delivery.shutdown());
    });

    it('fails calls still waiting for CIF at shutdown and stops listening for CIFInitDone', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined);
        const result = watch(delivery.deliver(calls('A')));
        expect(page.listeners('CIFInitDone')).to.equal(1);
        const closed = watch(delivery.shutdown());
        await clock.tickAsync(DEFAULT_OPTIONS.timeoutMillis);
        expect(closed.settled).to.equal(true);
        expect(result.value!.errors.map((e) => e.message)).to.deep.equal(['the CIF delivery shut down before this call settled']);
        expect(page.listeners('CIFInitDone')).to.equal(0);
        expect(clock.countTimers()).to.equal(0);
      } finally {
        page.restore();
      }
    });

    it('leaves no timer behind once every call has settled', async () => {
      const client = new RecordingCifClient({ answer: (_, index) => (index % 2 === 0 ? Promise.reject('no') : later(10, 'ok')) });
      const delivery = engine(client, { maxConcurrentCalls: 2 });
      void delivery.deliver(calls('A', 'B', 'C', 'D', 'E'));
      await clock.runAllAsync();
      await delivery.flush();
      expect(clock.countTimers()).to.equal(0);
    });
  });

  describe('before CIFInitDone', () => {
    let page: ReturnType<typeof pageWindow>;
    beforeEach(() => (page = pageWindow()));
    afterEach(() => page.restore());

    it('gives back the attempt of a call the library fails before CIFInitDone, and calls again when it comes', async () => {
      const fake = installFakeCIFramework(globalThis, new RecordingCifClient(), { startAfterMillis: 30_000 });
      try {
        const delivery = engine(undefined, { readyTimeoutMillis: 60_000 });
        const result = watch(delivery.deliver(calls('A')));
        await clock.tickAsync(29_999);
        // One attempt, rejected; no retries burnt while the library starts.
        expect(stats).to.include({ callsMade: 1, callsRetried: 0, callsQueued: 1, kpiEventsPending: 1 });
        expect(fake.client.calls).to.deep.equal([]);
        await clock.tickAsync(1);
        expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['A']);
        await settle(clock);
        expect(result.value).to.deep.equal(delivered(1));
        expect(stats).to.include({ callsMade: 2, callsRetried: 1, kpiEventsDelivered: 1 });
        expect(stats.dropped.host_error).to.equal(0);
      } finally {
        fake.uninstall();
      }
    });

    it('keeps the order of a batch whose calls the starting library failed, once CIFInitDone comes', async () => {
      const fake = installFakeCIFramework(globalThis, timedClient(), { startAfterMillis: 5_000 });
      try {
        const delivery = engine(undefined);
        const result = watch(delivery.deliver(calls('Event1', 'Event2', 'Event3', 'Event4')));
        await clock.tickAsync(5_000);
        expect(names(fake.client)).to.deep.equal(['Event1', 'Event2', 'Event3', 'Event4']);
        expect(result.value).to.deep.equal(delivered(4));
      } finally {
        fake.uninstall();
      }
    });

    it('keeps admission order when the starting library fails the calls in the reverse order', async () => {
      const delays: Record<string, number> = { A: 30, B: 20, C: 10, D: 0 };
      const client = timedClient((c, index) => (index < 4 ? later(delays[c.eventName]!, () => Promise.reject('not started')) : 'ok'));
      installCifWithoutInitDone(client);
      const delivery = engine(undefined, { maxConcurrentCalls: 4 });
      const result = watch(delivery.deliver(calls('A', 'B', 'C', 'D', 'E')));
      await clock.tickAsync(100);
      page.fire('CIFInitDone');
      await settle(clock);
      expect(names(client)).to.deep.equal(['A', 'B', 'C', 'D', 'A', 'B', 'C', 'D', 'E']);
      expect(result.value).to.deep.equal(delivered(5));
    });

    it('holds new calls back too once the library failed one before CIFInitDone', async () => {
      const fake = installFakeCIFramework(globalThis, new RecordingCifClient(), { startAfterMillis: 5_000 });
      try {
        const delivery = engine(undefined);
        void delivery.deliver(calls('A'));
        await settle(clock);
        void delivery.deliver(calls('B', 'C'));
        await clock.tickAsync(4_999);
        expect(stats.callsMade).to.equal(1);
        await clock.tickAsync(1);
        await delivery.flush();
        expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['A', 'B', 'C']);
        expect(stats).to.include({ callsMade: 4, kpiEventsDelivered: 3 });
      } finally {
        fake.uninstall();
      }
    });

    it('waits at most readyTimeoutMillis from the first attempt, then calls without CIFInitDone, spends attempts as usual, and gives the call up as CIF not loaded, not as a host error', async () => {
      const reason = new Error('not initialized');
      const client = timedClient(() => Promise.reject(reason));
      installCifWithoutInitDone(client);
      const delivery = engine(undefined, { readyTimeoutMillis: 10_000 });
      const result = watch(delivery.deliver(calls('A')));
      await clock.tickAsync(9_999);
      expect(client.calls).to.have.length(1);
      await clock.tickAsync(1);
      expect(client.calls).to.have.length(2);
      await clock.tickAsync(250 + 500);
      expect(client.calls.map((c) => c.at - client.calls[0]!.at)).to.deep.equal([0, 10_000, 10_250, 10_750]);
      expect(result.value!.errors.map((e) => e.message)).to.deep.equal(['CIF library not loaded: no CIFInitDone within 10000 ms, and it failed the call: not initialized']);
      expect(result.value!.errors[0]).to.be.instanceOf(CifNotLoadedError).and.to.have.property('cause', reason);
      expect(stats).to.include({ callsMade: 4, callsRetried: 3, callsFailed: 1 });
      expect(stats.dropped).to.include({ cif_not_loaded: 1, host_error: 0 });
    });

    it('retries a call past its wait on its backoff while a later call still waits for CIF', async () => {
      const client = timedClient(() => Promise.reject(new Error('not initialized')));
      installCifWithoutInitDone(client);
      const delivery = engine(undefined, { readyTimeoutMillis: 10_000 });
      const start = Date.now();
      void delivery.deliver(calls('A'));
      await clock.tickAsync(10_100);
      void delivery.deliver(calls('B'));
      await clock.tickAsync(1_000);
      expect(client.calls.map((c) => [c.eventName, c.at - start])).to.deep.equal([['A', 0], ['A', 10_000], ['A', 10_250], ['A', 10_750]]);
      expect(stats).to.include({ callsQueued: 1, kpiEventsPending: 1 });
      await clock.tickAsync(9_000);
      expect(client.calls.map((c) => [c.eventName, c.at - start]).slice(4)).to.deep.equal([['B', 20_100]]);
    });

    it('gives up on a call readyTimeoutMillis after it was handed over, while a call past its wait holds every slot', async () => {
      // A fails before CIFInitDone, goes without it once its wait runs out, and then hangs.
      const client = timedClient((_, index) => (index === 0 ? Promise.reject('not initialized') : hangs()));
      installCifWithoutInitDone(client);
      const delivery = engine(undefined, { readyTimeoutMillis: 10_000, timeoutMillis: 60_000, maxConcurrentCalls: 1 });
      watch(delivery.deliver(calls('A')));
      await clock.tickAsync(10_000);
      expect(names(client)).to.deep.equal(['A', 'A']);
      // B comes while CIF is still not ready and A holds the only slot; then the library goes away.
      const result = watch(delivery.deliver(calls('B')));
      removePageCif();
      await clock.tickAsync(10_000);
      expect(result.value?.errors.map((e) => e.name)).to.deep.equal(['CifNotLoadedError']);
      expect(stats.dropped.cif_not_loaded).to.equal(1);
      expect(names(client)).to.deep.equal(['A', 'A']);
    });

    it('waits for CIF up to the earliest deadline, that of a call sent back to wait after a later one', async () => {
      // B is called at 0 and fails at 3 s; C is called at 50 ms and fails at once.
      const client = timedClient((c, index) => (index === 0 ? later(3_000, () => Promise.reject('no')) : index === 1 ? Promise.reject('no') : 'ok'));
      installCifWithoutInitDone(client);
      const delivery = engine(undefined, { readyTimeoutMillis: 10_000, timeoutMillis: 5_000 });
      const start = Date.now();
      const result = watch(delivery.deliver(calls('B')));
      await clock.tickAsync(50);
      const other = watch(delivery.deliver(calls('C')));
      await clock.tickAsync(10_000);
      expect(client.calls.map((c) => [c.eventName, c.at - start])).to.deep.equal([
        ['B', 0],
        ['C', 50],
        ['B', 10_000],
        // B's answer confirms the library, so C goes at once.
        ['C', 10_000],
      ]);
      expect([result.value, other.value]).to.deep.equal([delivered(1), delivered(1)]);
    });

    it('retries a failure after CIFInitDone as usual, without waiting again', async () => {
      const client = timedClient(() => Promise.reject('Provider not active'));
      const delivery = engine(undefined);
      fakes.push(installFakeCIFramework(globalThis, client));
      const result = watch(delivery.deliver(calls('A')));
      await clock.tickAsync(250 + 500);
      expect(client.calls.map((c) => c.at - client.calls[0]!.at)).to.deep.equal([0, 250, 750]);
      expect(result.value!.failed).to.equal(1);
      expect(stats.dropped.host_error).to.equal(1);
    });

    it('takes a call the library answered as its start: later failures are retried as usual', async () => {
      const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? 'ok' : Promise.reject('Provider not active')) });
      installCifWithoutInitDone(client);
      const delivery = engine(undefined);
      await delivery.deliver(calls('A'));
      const result = watch(delivery.deliver(calls('B')));
      await clock.tickAsync(250 + 500);
      expect(client.calls).to.have.length(4);
      expect(result.value!.failed).to.equal(1);
      expect(page.listeners('CIFInitDone')).to.equal(0);
    });
  });

  describe('abandoned calls', () => {
    it('keeps the slot of a timed-out call until the host answers it, so later calls wait', async () => {
      const answers: Array<() => void> = [];
      const host = new RecordingCifClient({ answer: () => new Promise((resolve) => answers.push(() => resolve('late'))) });
      const delivery = engine(host, { timeoutMillis: 1_000, maxConcurrentCalls: 1 });
      const result = watch(delivery.deliver(calls('A', 'B')));
      await clock.tickAsync(1_000);
      expect(answers).to.have.length(1);
      expect(stats).to.include({ callsTimedOut: 1, callsAbandoned: 1, callsInFlight: 0, callsQueued: 1 });
      await clock.tickAsync(30_000);
      expect(answers).to.have.length(1);
      answers[0]!();
      await settle(clock);
      expect(answers).to.have.length(2);
      expect(stats).to.include({ callsAbandoned: 0, callsInFlight: 1 });
      answers[1]!();
      await settle(clock);
      expect(result.value!.failed).to.equal(1);
      expect(stats.kpiEventsDelivered).to.equal(1);
    });

    it('lets the slot go once the host\'s own 100 s limit has passed', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 2 });
      void delivery.deliver(calls('A', 'B', 'C', 'D'));
      await clock.tickAsync(1_000);
      expect(stats).to.include({ callsAbandoned: 2, callsMade: 2, callsQueued: 2 });
      await clock.tickAsync(HOST_TIMEOUT_MILLIS - 1_001);
      expect(stats.callsMade).to.equal(2);
      await clock.tickAsync(1);
      expect(names(client)).to.deep.equal(['A', 'B', 'C', 'D']);
      expect(stats).to.include({ callsAbandoned: 0, callsInFlight: 2 });
    });

    it('lets a slot go at the host limit counted from the call, though the timer fires late, as in a page that slept', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 1 });
      void delivery.deliver(calls('A'));
      // The page sleeps an hour: its timer fires once, when it wakes.
      clock.jump(3_600_000);
      await clock.tickAsync(0);
      expect(stats).to.include({ callsTimedOut: 1, callsAbandoned: 0 });
      void delivery.deliver(calls('B'));
      expect(names(client)).to.deep.equal(['A', 'B']);
    });

    it('lets each held slot go at its own host limit, though the slots were taken at different times', async () => {
      const client = timedClient((c) => (c.eventName === 'C' ? 'ok' : hangs()));
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 2 });
      const start = Date.now();
      void delivery.deliver(calls('A'));
      await clock.tickAsync(2_000);
      void delivery.deliver(calls('B'));
      await clock.tickAsync(2_000);
      void delivery.deliver(calls('C'));
      expect(stats).to.include({ callsAbandoned: 2, callsQueued: 1 });
      await clock.tickAsync(HOST_TIMEOUT_MILLIS);
      expect(client.calls.map((c) => c.at - start)).to.deep.equal([0, 2_000, HOST_TIMEOUT_MILLIS]);
    });

    it('says at DEBUG that a timed-out call holds its slot, and when the slot is free, counting it in callsAbandoned first', async () => {
      const answers: Array<() => void> = [];
      const client = new RecordingCifClient({
        answer: (c) => (c.eventName === 'A' ? new Promise((resolve) => answers.push(() => resolve('late'))) : hangs()),
      });
      const told: Array<[string, number]> = [];
      const keep = (...args: unknown[]) => told.push([args.slice(1).join(' '), stats.callsAbandoned]);
      diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
      try {
        const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 2 });
        void delivery.deliver(calls('A', 'B'));
        await clock.tickAsync(1_000);
        expect(stats.callsAbandoned).to.equal(2);
        answers[0]!();
        await settle(clock);
        await clock.tickAsync(HOST_TIMEOUT_MILLIS);
        expect(told.filter(([line]) => line.includes('slot'))).to.deep.equal([
          ['a timed-out call holds its slot until the host answers, at most 99000 ms: calls beyond maxConcurrentCalls wait', 1],
          ['a timed-out call holds its slot until the host answers, at most 99000 ms: calls beyond maxConcurrentCalls wait', 2],
          ['a timed-out call answered late; its slot is free', 1],
          ["a timed-out call's slot is free at the host's time limit", 0],
        ]);
      } finally {
        diag.disable();
      }
    });

    it('still lets a held slot go at the host limit after another held call answered and no call is left', async () => {
      const answers: Array<() => void> = [];
      const client = new RecordingCifClient({
        answer: () => (answers.length < 2 ? new Promise((resolve) => answers.push(() => resolve('late'))) : 'ok'),
      });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 2 });
      void delivery.deliver(calls('A', 'B'));
      await clock.tickAsync(5_000);
      answers[0]!();
      await settle(clock);
      expect(stats).to.include({ callsAbandoned: 1, callsQueued: 0 });
      expect(clock.countTimers(), 'the timer for the held slot').to.equal(1);
      await clock.tickAsync(HOST_TIMEOUT_MILLIS);
      expect(await delivery.deliver(calls('C', 'D'))).to.deep.equal(delivered(2));
      expect(names(client)).to.deep.equal(['A', 'B', 'C', 'D']);
    });

    it('frees no other slot when a timed-out call answers after the host limit already let its slot go', async () => {
      // A answers at 150 s, long after its slot was let go at 100 s and taken by B, which times out at 101 s.
      const client = new RecordingCifClient({ answer: (c) => (c.eventName === 'A' ? later(150_000, 'late') : hangs()) });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 1 });
      void delivery.deliver(calls('A', 'B', 'C'));
      await clock.tickAsync(150_000);
      // A call handed over now finds the one slot still held by B.
      void delivery.deliver(calls('D'));
      expect(names(client)).to.deep.equal(['A', 'B']);
      expect(stats).to.include({ callsAbandoned: 1, callsInFlight: 0, callsQueued: 2 });
      await clock.tickAsync(49_999);
      expect(names(client)).to.deep.equal(['A', 'B']);
      await clock.tickAsync(1);
      expect(names(client)).to.deep.equal(['A', 'B', 'C']);
    });

    it('never has more than maxConcurrentCalls calls at a silent host, abandoned ones included', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 3 });
      void delivery.deliver(calls(...Array.from({ length: 50 }, (_, i) => `K${i}`)));
      for (let second = 0; second < 300; second += 5) {
        await clock.tickAsync(5_000);
        expect(stats.callsInFlight + stats.callsAbandoned).to.be.at.most(3);
      }
      expect(stats.callsMade).to.equal(3 * 4);
    });

    it('resolves shutdown and clears the holds while abandoned calls fill every slot', async () => {
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 1 });
      const result = watch(delivery.deliver(calls('A', 'B')));
      await clock.tickAsync(1_000);
      const closed = watch(delivery.shutdown());
      await clock.tickAsync(1_000);
      expect(closed.settled).to.equal(true);
      expect(result.value!.failed).to.equal(2);
      expect(stats).to.include({ callsAbandoned: 0, callsQueued: 0 });
      expect(stats.dropped).to.include({ timed_out: 1, after_shutdown: 1 });
      expect(clock.countTimers()).to.equal(0);
    });

    it('lets go of an abandoned call though its slot is still held', async () => {
      const gc = (globalThis as { gc?: () => void }).gc!;
      const client = new RecordingCifClient({ answer: hangs });
      const delivery = engine(client, { timeoutMillis: 1_000, maxConcurrentCalls: 1 });
      const ref = ((batch: CifCall[]) => {
        void delivery.deliver(batch);
        return new WeakRef(batch[0]!);
      })(calls('A'));
      await clock.tickAsync(1_000);
      expect(stats.callsAbandoned).to.equal(1);
      client.calls.length = 0;
      gc();
      await settle(clock);
      expect(ref.deref()).to.equal(undefined);
    });
  });

  describe('hostile hosts', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    class Unreadable extends Error {
      override get message(): string {
        throw new Error('no message for you');
      }
    }
    const throwingGetter = Object.defineProperty({}, 'message', { get: () => { throw new Error('boom'); }, enumerable: true });
    class HostileMap extends Map<string, unknown> {
      override get(): never {
        throw new Error('no');
      }
    }
    // Counted per test, so that the case holds however often it runs in one process (as the mutation run does).
    let reads = 0;
    beforeEach(() => (reads = 0));
    const cases: Array<[string, unknown, RegExp]> = [
      ['a revoked proxy', revoked.proxy, /^CIF host rejected the call: a value that cannot be read$/],
      ['an Error subclass whose message getter throws', new Unreadable(), /^CIF host rejected the call: a value that cannot be read$/],
      [
        'a proxy of an Error whose message getter throws',
        new Proxy(new Error('hidden'), { get: (target, key) => { if (key === 'message') throw new Error('message trap'); return Reflect.get(target, key); } }),
        /^CIF host rejected the call: a value that cannot be read$/,
      ],
      [
        'a proxy of an Error whose every getter throws',
        new Proxy(new Error('hidden'), { get: () => { throw new Error('get trap'); } }),
        /^CIF host rejected the call: a value that cannot be read$/,
      ],
      [
        'a proxy of an Error whose message is a string once, then throws',
        new Proxy(new Error('hidden'), { get: (target, key) => { if (key === 'message' && reads++ > 0) throw new Error('second read'); return Reflect.get(target, key); } }),
        /^hidden$/,
      ],
      [
        'an Error whose name and stack getters throw',
        Object.defineProperty(
          Object.defineProperty(new Error('Provider not active'), 'stack', { get: () => { throw new Error('stack trap'); } }),
          'name',
          { get: () => { throw new Error('name trap'); } },
        ),
        /^Provider not active$/,
      ],
      ['an object whose message getter throws', throwingGetter, /^CIF host rejected the call: a value that cannot be read$/],
      ['a Map whose get throws', new HostileMap(), /^CIF host rejected the call: a value that cannot be read$/],
      ['an Error with an empty message', new TypeError(''), /^CIF host rejected the call: TypeError with no message$/],
    ];
    cases.forEach(([what, reason, message]) =>
      it(`fails a call rejected with ${what} as host_error with a readable Error, and carries on`, async () => {
        const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject(reason) : 'ok') });
        const delivery = engine(client, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
        const report = await delivery.deliver(calls('A', 'B'));
        expect(report.failed).to.equal(1);
        expect(report.errors[0]).to.be.instanceOf(CifHostError);
        expect(report.errors[0]!.message).to.match(message);
        expect((report.errors[0] as CifHostError).cause).to.equal(reason);
        expect(stats.dropped.host_error).to.equal(1);
        expect(stats.kpiEventsDelivered).to.equal(1);
      }),
    );

    it('fails a call whose answer is a thenable with a throwing then, and one whose method is a throwing getter', async () => {
      const thenable = Object.defineProperty({}, 'then', { get: () => { throw new Error('then trap'); } });
      const client = { logAnalyticsEvent: () => thenable as Promise<string> };
      const report = await engine(client, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } }).deliver(calls('A'));
      expect(report.errors.map((e) => e.message)).to.deep.equal(['then trap']);
      const getter = Object.defineProperty({}, 'logAnalyticsEvent', { get: () => { throw new Error('getter trap'); } });
      const delivery = engine(getter as CifAnalyticsClient, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
      expect((await delivery.deliver(calls('B'))).errors.map((e) => e.message)).to.deep.equal(['getter trap']);
    });

    const promises: Array<[string, () => Promise<string>, string[]]> = [
      [
        'a promise whose own then throws',
        () => Object.defineProperty(Promise.resolve('ok'), 'then', { value: () => { throw new Error('own then trap'); } }),
        ['own then trap'],
      ],
      [
        'a promise of a subclass whose then throws',
        () => {
          class Hostile<T> extends Promise<T> {
            override then(): never {
              throw new Error('subclass then trap');
            }
          }
          return new Hostile<string>((resolve) => resolve('ok'));
        },
        ['subclass then trap'],
      ],
      [
        'a promise whose own then answers twice, both ways',
        () =>
          Object.defineProperty(Promise.resolve('ok'), 'then', {
            value: (onOk: (v: string) => void, onFail: (e: unknown) => void) => {
              onOk('ok');
              onFail(new Error('too late'));
            },
          }),
        [],
      ],
    ];
    promises.forEach(([what, answer, messages]) =>
      it(`settles a call answered with ${what} once, without throwing from deliver()`, async () => {
        const client = { logAnalyticsEvent: answer };
        const delivery = engine(client, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
        let done: Promise<DeliveryReport> | undefined;
        expect(() => (done = delivery.deliver(calls('A', 'B')))).not.to.throw();
        const report = await done!;
        expect(report.errors.map((e) => e.message)).to.deep.equal(messages);
        expect(report.failed).to.equal(messages.length === 0 ? 0 : 2);
        expect(stats.kpiEventsDelivered + stats.dropped.host_error).to.equal(2);
      }),
    );

    const values: Array<[string, () => unknown]> = [
      ['undefined', () => undefined],
      ['null', () => null],
      ['a string', () => 'ok'],
      ['a plain object', () => ({ ok: true })],
      ['a promise whose own then is not a function', () => Object.defineProperty(Promise.resolve('ok'), 'then', { value: 42 })],
    ];
    values.forEach(([what, answer]) =>
      it(`delivers a call the host answered with ${what}, as a value rather than a promise`, async () => {
        const client = { logAnalyticsEvent: answer as () => Promise<string> };
        const delivery = engine(client, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
        expect(await delivery.deliver(calls('A'))).to.deep.equal(delivered(1));
        expect(stats).to.include({ kpiEventsDelivered: 1, callsFailed: 0 });
      }),
    );

    it('fails a call answered with a proxy of a promise, which then refuses, without throwing from deliver()', async () => {
      const client = { logAnalyticsEvent: () => new Proxy(Promise.resolve('ok'), {}) };
      const delivery = engine(client, { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
      let done: Promise<DeliveryReport> | undefined;
      expect(() => (done = delivery.deliver(calls('A')))).not.to.throw();
      const report = await done!;
      expect(report.failed).to.equal(1);
      expect(report.errors[0]).to.be.instanceOf(CifHostError);
      expect((report.errors[0] as CifHostError).cause).to.be.instanceOf(TypeError);
      expect(stats.dropped.host_error).to.equal(1);
    });

    const unreadableAnswers: Array<[string, () => unknown]> = [
      ['a revoked proxy', () => { const answer = Proxy.revocable({}, {}); answer.revoke(); return answer.proxy; }],
      ['a proxy of a promise', () => new Proxy(Promise.resolve('ok'), {})],
    ];
    unreadableAnswers.forEach(([what, answer]) =>
      it(`retries a call answered with ${what}, though the host took it, as it cannot tell`, async () => {
        const made: string[] = [];
        // Answered as it is, not through a promise of the client's that would adopt it.
        const client = { logAnalyticsEvent: (_: unknown, eventName: string) => (made.push(eventName), made.length === 1 ? answer() : Promise.resolve('ok')) };
        const result = watch(engine(client as CifAnalyticsClient).deliver(calls('A')));
        await clock.runAllAsync();
        expect(result.value).to.deep.equal(delivered(1));
        expect(made).to.deep.equal(['A', 'A']);
        expect(stats).to.include({ callsMade: 2, callsRetried: 1, kpiEventsDelivered: 1 });
      }),
    );

    it('reads a Microsoft global whose getter throws as no library, failing calls as cif_not_loaded in time', async () => {
      Object.defineProperty(globalThis, 'Microsoft', { get: () => { throw new Error('page trap'); }, configurable: true });
      const delivery = engine(undefined, { readyTimeoutMillis: 1_000 });
      const result = watch(delivery.deliver(calls('A')));
      await clock.tickAsync(1_000);
      expect(result.value!.errors[0]).to.be.instanceOf(CifNotLoadedError);
      expect(stats.dropped.cif_not_loaded).to.equal(1);
    });
  });

  describe('debug trail', () => {
    let lines: string[];
    beforeEach(() => {
      lines = [];
      // The component logger passes its namespace first.
      const keep = (...args: unknown[]) => lines.push(args.slice(1).join(' '));
      diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
      lines.length = 0;
    });
    afterEach(() => diag.disable());

    it('says one line per wait, retry and give-up at DEBUG', async () => {
      const page = pageWindow();
      try {
        const client = new RecordingCifClient({ answer: () => Promise.reject('Provider not active') });
        const delivery = engine(undefined, { readyTimeoutMillis: 1_000 });
        void delivery.deliver(calls('A', 'B'));
        void delivery.deliver(calls('C'));
        installCifWithoutInitDone(client);
        await clock.tickAsync(1_000);
        await clock.runAllAsync();
        // The calls made without CIFInitDone fail, so they wait once more, from their first attempt.
        expect(lines.filter((l) => l.includes('CIF'))).to.deep.equal([
          'waiting for CIF, at most 1000 ms',
          'calling without CIFInitDone after readyTimeoutMillis',
          "call 'A' failed before CIFInitDone (Provider not active); waiting for CIF again",
          'waiting for CIF, at most 1000 ms',
          "call 'B' failed before CIFInitDone (Provider not active); waiting for CIF again",
          "call 'C' failed before CIFInitDone (Provider not active); waiting for CIF again",
          'calling without CIFInitDone after readyTimeoutMillis',
          "call 'A' given up as cif_not_loaded: CIF library not loaded: no CIFInitDone within 1000 ms, and it failed the call: Provider not active",
          'KPI events dropped: CIF library not loaded: no CIFInitDone within 1000 ms, and it failed the call: Provider not active. Counted in getStats().dropped.cif_not_loaded; shown once.',
          "call 'B' given up as cif_not_loaded: CIF library not loaded: no CIFInitDone within 1000 ms, and it failed the call: Provider not active",
          "call 'C' given up as cif_not_loaded: CIF library not loaded: no CIFInitDone within 1000 ms, and it failed the call: Provider not active",
        ]);
        expect(lines).to.include.members(["call 'A' failed (Provider not active); retry 1 in 250 ms", "call 'A' failed (Provider not active); retry 2 in 500 ms"]);
        expect(lines.filter((l) => l.startsWith("call 'C'"))).to.have.length(4);
      } finally {
        page.restore();
      }
    });

    it('says so when a timed-out call answers late and frees its slot', async () => {
      const answers: Array<() => void> = [];
      const host = new RecordingCifClient({ answer: () => new Promise((resolve) => answers.push(() => resolve('late'))) });
      void engine(host, { timeoutMillis: 1_000 }).deliver(calls('A'));
      await clock.tickAsync(1_000);
      lines.length = 0;
      answers[0]!();
      await settle(clock);
      expect(lines).to.deep.equal(['a timed-out call answered late; its slot is free']);
    });

    it('says a waiting call failed for want of the library, without calling it', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined, { readyTimeoutMillis: 1_000 });
        void delivery.deliver(calls('A'));
        await clock.tickAsync(1_000);
        expect(lines).to.deep.equal([
          'waiting for CIF, at most 1000 ms',
          "call 'A' given up as cif_not_loaded: CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 1000 ms",
          'KPI events dropped: CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 1000 ms. Counted in getStats().dropped.cif_not_loaded; shown once.',
        ]);
      } finally {
        page.restore();
      }
    });

    it('waits for CIF again from a failed first attempt, while another call times out, and calls once that wait is over', async () => {
      const page = pageWindow();
      try {
        const client = timedClient((c, index) => (c.eventName === 'B' ? hangs() : index === 0 ? Promise.reject('no') : 'ok'));
        installCifWithoutInitDone(client);
        const delivery = engine(undefined, { readyTimeoutMillis: 10_000, timeoutMillis: 1_000 });
        const start = Date.now();
        void delivery.deliver(calls('A', 'B'));
        await clock.tickAsync(10_000);
        expect(client.calls.map((c) => [c.eventName, c.at - start])).to.deep.equal([['A', 0], ['B', 0], ['A', 10_000]]);
        expect(lines.filter((l) => l.includes('CIF'))).to.deep.equal([
          "call 'A' failed before CIFInitDone (no); waiting for CIF again",
          'waiting for CIF, at most 10000 ms',
          'calling without CIFInitDone after readyTimeoutMillis',
        ]);
      } finally {
        page.restore();
      }
    });

    it('stops its wait for CIF once CIFInitDone fires, though a call is still at the host', async () => {
      const page = pageWindow();
      try {
        const delivery = engine(undefined, { readyTimeoutMillis: 10_000, timeoutMillis: 20_000 });
        void delivery.deliver(calls('A'));
        await clock.tickAsync(1_000);
        fakes.push(installFakeCIFramework(globalThis, new RecordingCifClient({ answer: hangs })));
        await clock.tickAsync(20_000);
        expect(lines.filter((l) => l.includes('CIF'))).to.deep.equal(['waiting for CIF, at most 10000 ms', 'CIFInitDone received']);
        expect(stats.callsTimedOut).to.equal(1);
      } finally {
        page.restore();
      }
    });

    it('says nothing above DEBUG for calls that wait or retry, and warns once when calls fail for good', async () => {
      // The component logger passes its namespace first.
      const at = (level: string) => (...args: unknown[]) => lines.push(`${level} ${args.slice(1).join(' ')}`);
      diag.setLogger({ error: at('error'), warn: at('warn'), info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
      lines.length = 0;
      const client = new RecordingCifClient({ answer: () => Promise.reject('no') });
      const delivery = engine(client);
      void delivery.deliver(calls('A'));
      await clock.runAllAsync();
      expect(lines).to.have.length(1);
      void delivery.deliver(calls('B', 'C'));
      await clock.runAllAsync();
      expect(stats.dropped.host_error).to.equal(3);
      expect(lines).to.deep.equal([
        'warn KPI events dropped: no. Counted in getStats().dropped.host_error; shown once.',
      ]);
    });

    const drops: Array<[DeliveryDropReason, string, () => Promise<unknown>]> = [
      ['cif_not_loaded', 'CIF library not loaded: no CIFInitDone event and no Microsoft.CIFramework.logAnalyticsEvent within 100 ms', async () => {
        const delivery = engine(undefined, { readyTimeoutMillis: 100 });
        void delivery.deliver(calls('A'));
        void delivery.deliver(calls('B'));
        await clock.tickAsync(100);
      }],
      ['host_error', 'Provider not active', async () => {
        const delivery = engine(new RecordingCifClient({ answer: () => Promise.reject('Provider not active') }), { retry: { ...DEFAULT_OPTIONS.retry, maxAttempts: 1 } });
        await delivery.deliver(calls('A', 'B'));
      }],
      ['timed_out', 'logAnalyticsEvent did not answer within 100 ms', async () => {
        void engine(new RecordingCifClient({ answer: hangs }), { timeoutMillis: 100 }).deliver(calls('A', 'B'));
        await clock.tickAsync(100);
      }],
      ['queue_full', 'delivery queue full: 1 KPI events already pending', async () => {
        void engine(new RecordingCifClient({ answer: hangs }), { maxQueueSize: 1 }).deliver(calls('A', 'B', 'C'));
        await settle(clock);
      }],
      ['after_shutdown', 'the CIF delivery is shut down', async () => {
        const delivery = engine(new RecordingCifClient());
        await delivery.shutdown();
        await delivery.deliver(calls('A', 'B'));
      }],
      ['no_timer', 'setTimeout failed (off)', async () => {
        const real = globalThis.setTimeout;
        globalThis.setTimeout = (() => { throw new Error('off'); }) as unknown as typeof setTimeout;
        try {
          await engine(new RecordingCifClient()).deliver(calls('A', 'B'));
        } finally {
          globalThis.setTimeout = real;
        }
      }],
    ];
    drops.forEach(([reason, why, run]) =>
      it(`warns once per delivery, with the reason and its counter, when calls are dropped as ${reason}`, async () => {
        await run();
        expect(stats.dropped[reason]).to.be.at.least(2);
        const warnings = lines.filter((l) => l.startsWith('KPI events dropped'));
        expect(warnings).to.have.length(1);
        expect(warnings[0]).to.include(`KPI events dropped: ${why}`).and.include(`Counted in getStats().dropped.${reason}; shown once.`);
      }),
    );

    it('prints at DEBUG exactly the lines docs/delivery.md quotes', async () => {
      const debug: string[] = [];
      // The component logger passes its namespace first; the API's own lines are not the library's.
      const keep = (namespace: unknown, ...args: unknown[]) => namespace === 'opentelemetry-exporter-cif' && debug.push(args.join(' '));
      diag.setLogger({ error: () => {}, warn: () => {}, info: () => {}, debug: keep, verbose: () => {} }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
      const docs = readFileSync(new URL('../../docs/delivery.md', import.meta.url), 'utf8');
      const table = docs.slice(docs.indexOf('| line | when |'));
      const quoted = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
      const patterns = quoted.map((line) => new RegExp(`^${line.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`));
      const page = pageWindow();
      try {
        // A library that fails calls before CIFInitDone, then every call: waits, calls without the event, retries, gives up.
        installCifWithoutInitDone(new RecordingCifClient({ answer: () => Promise.reject('not started') }));
        void engine(undefined, { readyTimeoutMillis: 1_000 }).deliver(calls('A'));
        await clock.runAllAsync();
        removePageCif();
        // A library whose CIFInitDone comes while a call waits.
        void engine(undefined).deliver(calls('B'));
        fakes.push(installFakeCIFramework(globalThis, new RecordingCifClient()));
        await clock.runAllAsync();
        // Timed-out calls: one answered late, one let go at the host's limit.
        const answers: Array<() => void> = [];
        void engine(new RecordingCifClient({ answer: (_, index) => (index === 0 ? new Promise((resolve) => answers.push(() => resolve('late'))) : hangs()) }), { timeoutMillis: 1_000 }).deliver(calls('C', 'D'));
        await clock.tickAsync(1_000);
        answers[0]!();
        await clock.tickAsync(HOST_TIMEOUT_MILLIS);
      } finally {
        page.restore();
      }
      expect(quoted, 'lines quoted in docs/delivery.md').to.have.length.above(5);
      for (const [i, pattern] of patterns.entries()) {
        expect(debug.some((line) => pattern.test(line)), `printed: ${quoted[i]}`).to.equal(true);
      }
      for (const line of debug) {
        expect(patterns.some((pattern) => pattern.test(line)), `quoted in docs/delivery.md: ${line}`).to.equal(true);
      }
    });

    it('keeps delivering when the installed diag logger throws', async () => {
      const restore = installThrowingDiag();
      try {
        const client = new RecordingCifClient({ answer: (_, index) => (index === 0 ? Promise.reject('once') : 'ok') });
        const result = watch(engine(client).deliver(calls('A')));
        await clock.runAllAsync();
        expect(result.value).to.deep.equal(delivered(1));
      } finally {
        restore();
      }
    });
  });
});
