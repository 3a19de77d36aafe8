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
