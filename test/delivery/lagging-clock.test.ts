// The delivery engine's deadlines (src/delivery/engine.ts `clock`, `schedule`) where its timers run
// ahead of `performance.now()`: fake timers that leave `performance` real (Vitest before 3, by
// default; Jest with `doNotFake: ['performance']`), or a page's `performance.now` that stands
// still. A timer that fires with no clock showing it early meets the deadline it was set for.
// Through the real trace SDK.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, hangs } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';
import { sdkSpans } from '../helpers/spans.js';

describe('the delivery timer where the monotonic clock lags the timers', () => {
  describe('under fake timers that leave performance real, as Vitest before 3 installs them by default', () => {
    const fake = useFakeClock(undefined, undefined, ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date']);

    it('retries a rejected call and times a hanging one out in fake time', async () => {
      let rejected = false;
      const host = new RecordingCifClient({
        answer: (call) => (call.eventName === 'Hang' ? hangs() : rejected ? 'ok' : ((rejected = true), Promise.reject(new Error('Provider not active')))),
      });
      const widget = pageWidget(fake.closeables, { client: host });
      widget.record('Hang');
      widget.record('Retry');
      await fake.clock.tickAsync(60_000);
      const stats = widget.exporter.getStats();
      expect({ calls: host.calls.length, timedOut: stats.dropped.timed_out, delivered: stats.kpiEventsDelivered }).to.deep.equal({ calls: 3, timedOut: 1, delivered: 1 });
      expectBalanced(stats);
      // Nothing sets timers without end: running them all ends.
      await fake.clock.runAllAsync();
    });
  });

  describe('where performance.now stands still, or neither clock gives a time', () => {
    const realNow = performance.now;
    const fake = useFakeClock(() => (performance.now = realNow));

    it('sets its timer once per deadline, not every few milliseconds, while performance.now stands still short of a retry', async () => {
      const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
      const widget = pageWidget(fake.closeables, { client: host });
      const random = Math.random;
      // No jitter: the retry is due 250 ms after the rejection.
      Math.random = () => 0.5;
      try {
        widget.record('CallEnded');
        await fake.clock.tickAsync(0);
      } finally {
        Math.random = random;
      }
      await fake.clock.tickAsync(245);
      expect(host.calls).to.have.length(1);
      const stood = performance.now();
      performance.now = () => stood;
      let timers = 0;
      const realSetTimeout = globalThis.setTimeout;
      globalThis.setTimeout = ((callback: () => void, millis?: number) => (timers++, realSetTimeout(callback, millis))) as typeof setTimeout;
      try {
        await fake.clock.tickAsync(10_000);
      } finally {
        globalThis.setTimeout = realSetTimeout;
      }
      expect(timers, 'timers set in 10 s').to.be.below(5);
      expect(host.calls).to.have.length(2);
      expect(widget.exporter.getStats().kpiEventsDelivered).to.equal(1);
    });

    // An SES compartment has no `performance` unless endowed, and its `Date.now` throws: no clock can tell a timer early.
    it('times a hanging call out as its timer fires where neither clock gives a time (an SES compartment)', async () => {
      const widget = pageWidget(fake.closeables, { client: new RecordingCifClient({ answer: hangs }), timeoutMillis: 1_000 });
      // Ended before the clocks go: the SDK reads them.
      const spans = sdkSpans(['CallAccepted']);
      const { now } = Date;
      await withPageGlobals({ performance: undefined }, async () => {
        Date.now = () => {
          throw new TypeError('secure mode Calling %SharedDate.now() throws');
        };
        try {
          widget.exporter.export(spans, () => {});
          await fake.clock.tickAsync(999);
          expect(widget.exporter.getStats()).to.include({ callsInFlight: 1, callsTimedOut: 0 });
          await fake.clock.tickAsync(1);
          expect(widget.exporter.getStats()).to.include({ callsInFlight: 0, callsTimedOut: 1 });
        } finally {
          Date.now = now;
        }
      });
      expectBalanced(widget.exporter.getStats());
    });
  });
});
