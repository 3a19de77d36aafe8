// The delivery engine's deadlines (src/delivery/engine.ts `clock`, `schedule`) where its timers run
// ahead of `performance.now()`: fake timers that leave `performance` real (Vitest before 3, by
// default; Jest with `doNotFake: ['performance']`), or a page's `performance.now` that stands
// still or steps back. Once a timer fires on time by the wall clock alone, deadlines follow the
// wall clock; none comes early. Through the real trace SDK.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, hangs, later } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { pageWidget, useFakeClock, type Closeables } from '../helpers/pipelines.js';
import { sdkSpans } from '../helpers/spans.js';

/** Two calls 5 s apart, each answered 12 s after it was made: within the default timeout of 15 s, so both are delivered. */
async function twoOverlappingCalls(clock: { tickAsync(millis: number): Promise<unknown> }, closeables: Closeables): Promise<void> {
  const host = new RecordingCifClient({ answer: () => later(12_000, 'ok') });
  const widget = pageWidget(closeables, { client: host });
  widget.record('CallAccepted');
  await clock.tickAsync(5_000);
  widget.record('CallEnded');
  await clock.tickAsync(12_000);
  const stats = widget.exporter.getStats();
  expect({ calls: host.calls.length, delivered: stats.kpiEventsDelivered, timedOut: stats.dropped.timed_out }).to.deep.equal({ calls: 2, delivered: 2, timedOut: 0 });
  expectBalanced(stats);
}

/** Records a KPI event whose retries, should the host reject it, have no jitter: the first is due 250 ms after. */
async function recordWithoutJitter(widget: { record(name: string): void }, name: string, clock: { tickAsync(millis: number): Promise<unknown> }): Promise<void> {
  const random = Math.random;
  Math.random = () => 0.5;
  try {
    widget.record(name);
    await clock.tickAsync(0);
  } finally {
    Math.random = random;
  }
}

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

    // The timer set for the first call fires at 15 s, on time by the (fake) wall clock alone: the second call,
    // made at 5 s while performance.now() stood near 0, is not taken for one made then.
    it('times out no call before timeoutMillis, whichever timer fires first', async () => {
      await twoOverlappingCalls(fake.clock, fake.closeables);
    });

    // performance.now() moves by the real time a test spends between its ticks, which Date does not show.
    it('times out no call before timeoutMillis by both clocks, performance.now() having moved while Date stood', async () => {
      const realNow = performance.now;
      let real = 0;
      performance.now = () => real;
      try {
        const host = new RecordingCifClient({ answer: (call) => (call.eventName === 'Hang' ? hangs() : later(14_000, 'ok')) });
        const widget = pageWidget(fake.closeables, { client: host });
        widget.record('Hang');
        await fake.clock.tickAsync(14_990);
        widget.record('CallAccepted');
        // The test awaits something real for 1.5 s: the Hang's timer fires at 15 s of Date, and 1.5 s of performance.now().
        real += 1_500;
        await fake.clock.tickAsync(14_001);
        expect(widget.exporter.getStats().kpiEventsDelivered, 'answered 14 s after it was made').to.equal(1);
        expectBalanced(widget.exporter.getStats());
      } finally {
        performance.now = realNow;
      }
    });

    // As docs/delivery.md says: on the wall clock, deadlines are late rather than early, by as much as the clock was set back.
    it('times out no call early where performance.now() stands still and the wall clock is then set back, and late by the set-back', async () => {
      const realNow = performance.now;
      performance.now = () => 0;
      try {
        let rejections = 21;
        const host = new RecordingCifClient({ answer: () => (rejections-- > 0 ? Promise.reject(new Error('Provider not active')) : hangs()) });
        const widget = pageWidget(fake.closeables, { client: host });
        // Timers that fire while performance.now() stands still: the engine goes on the wall clock.
        for (let i = 0; i < 7; i++) widget.record(`Warmup${i}`);
        await fake.clock.tickAsync(10_000);
        expect(widget.exporter.getStats().dropped.host_error).to.equal(7);
        fake.clock.setSystemTime(Date.now() - 3_600_000);
        widget.record('CallAccepted');
        await fake.clock.tickAsync(3_600_000);
        expect(widget.exporter.getStats().dropped.timed_out, 'timed out within the set-back').to.equal(0);
        await fake.clock.tickAsync(15_000);
        expect(widget.exporter.getStats().dropped.timed_out).to.equal(1);
      } finally {
        performance.now = realNow;
      }
    });

    it('gives no call up for CIF before readyTimeoutMillis, whichever wait ends first', async () => {
      const widget = pageWidget(fake.closeables, { client: new RecordingCifClient({ answer: () => 'ok' }), ready: new Promise<void>(() => {}) });
      widget.record('CallAccepted');
      await fake.clock.tickAsync(15_000);
      widget.record('CallEnded');
      // The first call's wait, taken before a timer showed the clock lagging, may end late; the second's is whole.
      await fake.clock.tickAsync(14_990);
      expect(widget.exporter.getStats().kpiEventsPending, 'pending 15 s after the first call').to.be.at.least(1);
      await fake.clock.tickAsync(15_010);
      const stats = widget.exporter.getStats();
      expect({ notLoaded: stats.dropped.cif_not_loaded, pending: stats.kpiEventsPending }).to.deep.equal({ notLoaded: 2, pending: 0 });
      expectBalanced(stats);
    });
  });

  describe('where performance.now reads in steps, as browsers coarsen it', () => {
    const realNow = performance.now;
    const fake = useFakeClock(() => (performance.now = realNow));

    it('gives setTimeout whole milliseconds, of which a browser would cut the fraction and fire early', async () => {
      const fakeNow = performance.now.bind(performance);
      let reads = 0;
      performance.now = () => fakeNow() + 0.25 * (reads++ % 4);
      const delays: unknown[] = [];
      const { setTimeout } = globalThis;
      globalThis.setTimeout = ((callback: () => void, millis?: number) => (delays.push(millis), setTimeout(callback, millis))) as typeof setTimeout;
      try {
        const widget = pageWidget(fake.closeables, { client: new RecordingCifClient({ answer: hangs }) });
        widget.record('CallAccepted');
        await fake.clock.tickAsync(20_000);
        expect(widget.exporter.getStats().dropped.timed_out).to.equal(1);
      } finally {
        globalThis.setTimeout = setTimeout;
      }
      expect(delays.filter((millis) => !Number.isInteger(millis)), 'delays with a fraction').to.deep.equal([]);
      expect(delays.length).to.be.above(0);
    });

    // A timer fires on time, and performance.now() shows it a few milliseconds early: the engine keeps to
    // performance.now(), which setting the system clock does not move.
    it('keeps its deadlines on performance.now, not the system clock, though a timer fires early by a step of it', async () => {
      const fakeNow = performance.now.bind(performance);
      performance.now = () => Math.floor(fakeNow() / 7) * 7;
      let rejected = false;
      const host = new RecordingCifClient({
        answer: (call) => (call.eventName !== 'Warmup' ? later(10_000, 'ok') : rejected ? 'ok' : ((rejected = true), Promise.reject(new Error('Provider not active')))),
      });
      const widget = pageWidget(fake.closeables, { client: host });
      // The retry is due 250 ms after the rejection, which performance.now() shows as 245 ms.
      await recordWithoutJitter(widget, 'Warmup', fake.clock);
      await fake.clock.tickAsync(2_000);
      expect(host.calls).to.have.length(2);
      widget.record('CallAccepted');
      await fake.clock.tickAsync(1_000);
      fake.clock.setSystemTime(Date.now() + 3_600_000);
      // A call made now sets the timer again: it finds the first call's timeout where performance.now() puts it.
      widget.record('CallEnded');
      await fake.clock.tickAsync(10_000);
      const stats = widget.exporter.getStats();
      expect({ delivered: stats.kpiEventsDelivered, timedOut: stats.dropped.timed_out }).to.deep.equal({ delivered: 3, timedOut: 0 });
      expectBalanced(stats);
    });
  });

  // Tor Browser and Firefox's resistFingerprinting read both clocks in steps of 100 ms, performance.now() from the
  // page's time origin and Date.now() from the epoch: they step at different moments.
  describe('where both clocks read in steps of 100 ms, out of phase', () => {
    const realNow = performance.now;
    const realDateNow = Date.now;
    // The page's time origin 50 ms past a step of the wall clock.
    const fake = useFakeClock(() => ((performance.now = realNow), (Date.now = realDateNow)), 1_800_000_000_050);

    /** Both clocks in steps of 100 ms; returns the fake Date.now() itself, to set the system clock by. */
    function steps(): () => number {
      const fakeNow = performance.now.bind(performance);
      const fakeDateNow = Date.now;
      performance.now = () => Math.floor(fakeNow() / 100) * 100;
      Date.now = () => Math.floor(fakeDateNow() / 100) * 100;
      return fakeDateNow;
    }

    it('keeps its deadlines on performance.now, not the system clock, over the short timers a retry leaves', async () => {
      const fakeDateNow = steps();
      const host = new RecordingCifClient({
        answer: (call, index) => (call.eventName === 'Hang' ? hangs() : index === 0 || call.eventName === 'Retry' ? Promise.reject(new Error('Provider not active')) : 'ok'),
      });
      const widget = pageWidget(fake.closeables, { client: host });
      const random = Math.random;
      // The first retry is due 220 ms after the rejection: its timer fires while performance.now() shows 200 ms.
      Math.random = () => 0.2;
      try {
        widget.record('Warmup');
        await fake.clock.tickAsync(1_000);
      } finally {
        Math.random = random;
      }
      expect(host.calls).to.have.length(2);
      widget.record('Hang');
      fake.clock.setSystemTime(fakeDateNow() + 3_600_000);
      widget.record('Retry');
      await fake.clock.tickAsync(1_000);
      const stats = widget.exporter.getStats();
      expect({ timedOut: stats.dropped.timed_out, inFlight: stats.callsInFlight }).to.deep.equal({ timedOut: 0, inFlight: 1 });
      expectBalanced(stats);
    });

    // Each retry's timer is set as the host rejects, 60 ms past a step of the wall clock, and fires 50 ms later: the
    // wall clock shows 100 ms and performance.now() none, which shows its step as the timer set for the rest fires.
    it('keeps its deadlines on performance.now after many short timers, each set apart, that it showed early', async () => {
      const fakeDateNow = steps();
      const rejected = new Set<string>();
      const host = new RecordingCifClient({
        answer: (call) =>
          call.eventName === 'Hang' ? hangs() : rejected.has(call.eventName) ? 'ok' : (rejected.add(call.eventName), Promise.reject(new Error('Provider not active'))),
      });
      const widget = pageWidget(fake.closeables, { client: host, retry: { initialBackoffMillis: 50 } });
      await fake.clock.tickAsync(10);
      for (let i = 0; i < 8; i++) {
        await recordWithoutJitter(widget, `Call${i}`, fake.clock);
        await fake.clock.tickAsync(1_000);
      }
      expect(widget.exporter.getStats().kpiEventsDelivered).to.equal(8);
      widget.record('Hang');
      fake.clock.setSystemTime(fakeDateNow() + 3_600_000);
      widget.record('After');
      await fake.clock.tickAsync(1_000);
      const stats = widget.exporter.getStats();
      expect({ timedOut: stats.dropped.timed_out, inFlight: stats.callsInFlight }).to.deep.equal({ timedOut: 0, inFlight: 1 });
      expectBalanced(stats);
    });
  });

  // A hundred firings in a row early by both clocks are a setTimeout that ignores its delay (`no_timer`): one clock
  // that shows each on time, or a wall clock that does, keeps the engine's timer.
  describe('over a hundred timers in a row, one clock showing each on time', () => {
    /** 110 calls, one at a time, each timed out at 10 ms and answered at 20 ms, which frees its slot: a timer each. */
    async function hundredTimeouts(clock: { tickAsync(millis: number): Promise<unknown> }, closeables: Closeables) {
      const widget = pageWidget(closeables, { client: new RecordingCifClient({ answer: () => later(20, 'ok') }), timeoutMillis: 10, maxConcurrentCalls: 1 });
      widget.exporter.export(sdkSpans(...Array.from({ length: 110 }, (_, i) => [`Event${i}`])), () => {});
      await clock.tickAsync(110 * 20 + 100);
      const stats = widget.exporter.getStats();
      expect({ timedOut: stats.dropped.timed_out, noTimer: stats.dropped.no_timer }).to.deep.equal({ timedOut: 110, noTimer: 0 });
      expectBalanced(stats);
    }

    describe('Date.now standing still (MockDate), performance.now moving', () => {
      const fake = useFakeClock(undefined, undefined, ['setTimeout', 'clearTimeout', 'performance']);
      it('times each call out, counting none of its timers early', async () => {
        const { now } = Date;
        const fixed = now();
        Date.now = () => fixed;
        try {
          await hundredTimeouts(fake.clock, fake.closeables);
        } finally {
          Date.now = now;
        }
      });
    });

    describe('performance.now running a fifth slow, Date on time', () => {
      const realNow = performance.now;
      const fake = useFakeClock(() => (performance.now = realNow));
      it('times each call out, counting none of its timers early', async () => {
        const fakeNow = performance.now.bind(performance);
        performance.now = () => fakeNow() * 0.8;
        await hundredTimeouts(fake.clock, fake.closeables);
      });
    });
  });

  // @sinonjs/fake-timers' runAllAsync gives up after 1,000 timers (its loopLimit): with both clocks real, every firing
  // is early by both, and the engine gives its calls up as no_timer well before that. The default timeout of 15 s is
  // not reached in real time meanwhile, however busy the machine.
  describe("under fake timers of setTimeout alone (toFake: ['setTimeout', 'clearTimeout'])", () => {
    const fake = useFakeClock(undefined, undefined, ['setTimeout', 'clearTimeout']);
    it('lets runAllAsync end, giving a hanging call up as no_timer', async () => {
      const widget = pageWidget(fake.closeables, { client: new RecordingCifClient({ answer: hangs }) });
      widget.record('CallAccepted');
      await fake.clock.runAllAsync();
      const stats = widget.exporter.getStats();
      expect({ noTimer: stats.dropped.no_timer, pending: stats.kpiEventsPending }).to.deep.equal({ noTimer: 1, pending: 0 });
      expectBalanced(stats);
    });
  });

  describe('where performance.now stands still or steps back, or neither clock gives a time', () => {
    const realNow = performance.now;
    const fake = useFakeClock(() => (performance.now = realNow));

    it('sets its timer every few milliseconds for half a second at most, not without end, while performance.now stands still short of a retry', async () => {
      const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
      const widget = pageWidget(fake.closeables, { client: host });
      // The retry is due 250 ms after the rejection.
      await recordWithoutJitter(widget, 'CallEnded', fake.clock);
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
      // Half a second of timers that the wall clock shows on time and performance.now() not, then as long again while the
      // wall clock catches up with the engine's time (what performance.now() showed of them): a hundred or so, not without end.
      expect(timers, 'timers set in 10 s').to.be.below(200);
      expect(host.calls).to.have.length(2);
      expect(widget.exporter.getStats().kpiEventsDelivered).to.equal(1);
    });

    it('times out no call early after the timer set for an earlier call fires while performance.now stands still', async () => {
      performance.now = () => 1_000;
      await twoOverlappingCalls(fake.clock, fake.closeables);
    });

    it('times out no call early where performance.now steps back', async () => {
      const host = new RecordingCifClient({ answer: () => later(14_997, 'ok') });
      const widget = pageWidget(fake.closeables, { client: host });
      widget.record('CallAccepted');
      await fake.clock.tickAsync(0);
      // Set back 5 ms, as a page's stand-in may be: the call's deadline, taken before, comes 5 ms late, not early.
      const fakeNow = performance.now.bind(performance);
      performance.now = () => fakeNow() - 5;
      await fake.clock.tickAsync(100);
      widget.record('CallEnded');
      await fake.clock.tickAsync(15_000);
      const stats = widget.exporter.getStats();
      expect({ calls: host.calls.length, delivered: stats.kpiEventsDelivered, timedOut: stats.dropped.timed_out }).to.deep.equal({ calls: 2, delivered: 2, timedOut: 0 });
      expectBalanced(stats);
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
