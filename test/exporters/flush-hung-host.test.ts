/**
 * A host that stopped answering holds every slot with calls that timed out, each up to the host's
 * own limit (100 s): the calls queued behind them cannot go. `forceFlush()` waits for what can
 * settle and stops there, so that a logs SDK, which awaits it with no limit of its own before it
 * shuts its exporter down, is not held for 100 s per `maxConcurrentCalls` records.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { installActingDiag } from '../helpers/diag.js';
import { hangs } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';
import { IDENTITY } from '../helpers/spans.js';

describe('forceFlush() while a host that stopped answering holds every slot', () => {
  const time = useFakeClock();

  /** Resolves to when `promise` settled, after `Date.now()` at the call; ticks the fake clock by `step` until it does. */
  async function settledAfter(promise: Promise<unknown>, step = 1_000, limit = 300_000): Promise<number> {
    const start = Date.now();
    let done = false;
    void promise.then(() => (done = true));
    while (!done && Date.now() - start < limit) await time.clock.tickAsync(step);
    return Date.now() - start;
  }

  it('resolves once every slot is held by a timed-out call, leaving the calls queued behind them to go later', async () => {
    const client = new RecordingCifClient({ answer: hangs });
    const { exporter, record } = pageWidget(time.closeables, { client });
    for (let i = 0; i < 9; i++) record(`K${i}`);
    await time.clock.tickAsync(0);
    const took = await settledAfter(exporter.forceFlush());
    const stats = exporter.getStats();
    expect({ took, timedOut: stats.dropped.timed_out, queued: stats.callsQueued, abandoned: stats.callsAbandoned, calls: client.calls.length }).to.deep.equal({
      took: 15_000,
      timedOut: 8,
      queued: 1,
      abandoned: 8,
      calls: 8,
    });
    // The ninth goes when a slot frees, at the host's limit.
    await time.clock.tickAsync(85_000);
    expect(client.calls).to.have.length(9);
  });

  it('waits for a call that can still go: with a slot free, a flush lasts until the call in it settles', async () => {
    const client = new RecordingCifClient({ answer: hangs });
    const { exporter, record } = pageWidget(time.closeables, { client, maxConcurrentCalls: 2 });
    record('K0');
    await time.clock.tickAsync(0);
    expect(await settledAfter(exporter.forceFlush())).to.equal(15_000);
    expect(exporter.getStats()).to.include({ callsAbandoned: 1, callsQueued: 0, kpiEventsPending: 0 });
  });

  /** Watches a promise without awaiting it. */
  function watch(promise: Promise<unknown>): { settled: boolean } {
    const state = { settled: false };
    void promise.then(() => (state.settled = true));
    return state;
  }

  /**
   * Two slots, a host that never answers. K0 goes at 0, times out at 15 s and holds its slot to 100 s. K1 goes at
   * 85 s and times out at 100 s, as K0's slot frees; K2 waits behind them. At 100 s a slot is free.
   */
  async function twoSlotsOneExpiring() {
    const client = new RecordingCifClient({ answer: hangs });
    const { exporter, record } = pageWidget(time.closeables, { client, maxConcurrentCalls: 2 });
    record('K0');
    await time.clock.tickAsync(85_000);
    record('K1');
    record('K2');
    await time.clock.tickAsync(0);
    expect(exporter.getStats()).to.include({ callsInFlight: 1, callsAbandoned: 1, callsQueued: 1 });
    return { client, exporter };
  }

  it('does not resolve, when asked as a call times out, while a slot past the host limit frees in that same moment for a queued call', async () => {
    const { client, exporter } = await twoSlotsOneExpiring();
    let flush: Promise<void> | undefined;
    // A page's logger that flushes as it is told of a call given up (it sends its lines, then waits for them).
    const restore = installActingDiag((_level, line) => {
      if (!flush && line.includes("call 'K1' given up as timed_out")) flush = exporter.forceFlush();
    });
    try {
      await time.clock.tickAsync(15_000); // 100 s: K1 times out, K0's slot frees, K2 goes.
    } finally {
      restore();
    }
    expect(flush, 'the logger was told of K1').to.not.equal(undefined);
    const state = watch(flush!);
    await time.clock.tickAsync(0);
    // K2 went in the same task the flush was asked in: it is in flight, not held behind slots.
    expect(client.calls.map((c) => c.eventName)).to.deep.equal(['K0', 'K1', 'K2']);
    // The flush should wait for K2 (to 115 s, when it times out in turn), as it waits for any call in flight.
    expect({ resolvedWhileK2InFlight: state.settled && exporter.getStats().callsInFlight === 1 }).to.deep.equal({ resolvedWhileK2InFlight: false });
  });

  it('does not resolve while, by the clock, the host limit of every held slot has passed and a queued call can go (a page that slept)', async () => {
    const client = new RecordingCifClient({ answer: hangs });
    const { exporter, record } = pageWidget(time.closeables, { client, maxConcurrentCalls: 2 });
    record('K0');
    record('K1');
    record('K2');
    await time.clock.tickAsync(15_000); // Both time out: every slot held to 100 s, K2 queued.
    expect(exporter.getStats()).to.include({ callsInFlight: 0, callsAbandoned: 2, callsQueued: 1 });
    // The page slept: its monotonic clock moved 90 s on, its timers have not fired yet (they fire late after a sleep).
    const { now } = performance;
    performance.now = () => now.call(performance) + 90_000;
    try {
      const state = watch(exporter.forceFlush());
      await time.clock.tickAsync(0);
      // Both slots are past the host's 100 s limit: K2 can go the moment the engine looks, so the flush waits for it.
      expect([state.settled, exporter.getStats().callsQueued]).to.deep.equal([false, 1]);
    } finally {
      performance.now = now;
    }
  });

  it('lets loggerProvider.shutdown() of a BatchLogRecordProcessor at its defaults resolve within its export timeout and timeoutMillis', async () => {
    const exporter = new CifLogRecordExporter({ client: new RecordingCifClient({ answer: hangs }), outbox: false });
    const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter })] });
    time.closeables.push(exporter);
    const logger = provider.getLogger('softphone');
    for (let i = 0; i < 9; i++) logger.emit({ eventName: `CallHold${i}`, attributes: IDENTITY });
    // The processor's 30 s export timeout, then the exporter's shutdown, up to timeoutMillis (15 s).
    expect(await settledAfter(provider.shutdown())).to.be.at.most(45_000);
    expect(exporter.getStats()).to.include({ kpiEventsSent: 9, kpiEventsPending: 0 });
  });
});
