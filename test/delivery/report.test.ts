import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { createBatches, summarize } from '../../src/delivery/report.js';

describe('batches', () => {
  let clock: InstalledClock;
  beforeEach(() => (clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] })));
  afterEach(() => clock.uninstall());

  it('resolves a batch with its last call, counting failures and at most three distinct errors', async () => {
    const [batch, done] = createBatches().open(5);
    const errors = ['a', 'b', 'a', 'c', 'd'].map((m) => new Error(m));
    for (const error of errors) batch(error);
    const report = await done;
    expect({ ...report, errors: report.errors.map((e) => e.message) }).to.deep.equal({ calls: 5, failed: 5, errors: ['a', 'b', 'c'] });
    expect(summarize([report])?.message).to.equal('5 of 5 logAnalyticsEvent calls failed: a; b; c');
  });

  it('summarizes the reports of one export, its parts, as one: their calls, failures and first three distinct errors', () => {
    const part = (calls: number, ...messages: string[]) => ({ calls, failed: messages.length, errors: messages.map((m) => new Error(m)) });
    expect(summarize([part(8), part(64)])).to.equal(undefined);
    const error = summarize([part(8, 'a'), part(64), part(64, 'a', 'b'), part(10, 'c', 'd')])!;
    expect([error.message, error.errors.length]).to.deep.equal(['5 of 146 logAnalyticsEvent calls failed: a; b; c', 3]);
  });

  it('resolves a batch of no calls at once, and flushes at once with nothing open', async () => {
    const batches = createBatches();
    expect(await batches.open(0)[1]).to.deep.equal({ calls: 0, failed: 0, errors: [] });
    await batches.flush();
    expect(clock.countTimers()).to.equal(0);
  });

  it('flushes once every batch open has settled, and stops its own timer', async () => {
    const batches = createBatches();
    const [batch] = batches.open(1);
    let flushed = false;
    void batches.flush(1000).then(() => (flushed = true));
    await clock.tickAsync(10);
    expect(flushed).to.equal(false);
    batch();
    await clock.tickAsync(0);
    expect([flushed, clock.countTimers()]).to.deep.equal([true, 0]);
  });

  it('stops waiting after the flush timeout, the batch still open', async () => {
    const batches = createBatches();
    batches.open(1);
    let flushed = false;
    void batches.flush(1000).then(() => (flushed = true));
    await clock.tickAsync(999);
    expect(flushed).to.equal(false);
    await clock.tickAsync(1);
    expect(flushed).to.equal(true);
  });
});
