import { expect } from 'chai';
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { createDeadlineTimer, monotonicNow, startTimer } from '../../src/delivery/timers.js';
import { CifTimerError } from '../../src/errors.js';

describe('startTimer', () => {
  it('does not keep a Node process alive by default', () => {
    const timer = startTimer(() => {}, 1000);
    try {
      expect(timer.hasRef()).to.equal(false);
    } finally {
      clearTimeout(timer);
    }
  });

  it('keeps the process alive when asked to', () => {
    const timer = startTimer(() => {}, 1000, true);
    try {
      expect(timer.hasRef()).to.equal(true);
    } finally {
      clearTimeout(timer);
    }
  });

  it('runs the callback after the delay', async () => {
    let ran = false;
    startTimer(() => (ran = true), 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ran).to.equal(true);
  });

  it('starts the timer where setTimeout gives a number, as in browsers', () => {
    const nodeSetTimeout = globalThis.setTimeout;
    const started: unknown[] = [];
    const callback = () => {};
    globalThis.setTimeout = ((...args: unknown[]) => (started.push(...args), 42)) as never;
    try {
      expect(startTimer(callback, 5)).to.equal(42);
    } finally {
      globalThis.setTimeout = nodeSetTimeout;
    }
    expect(started).to.deep.equal([callback, 5]);
  });
});

describe('monotonicNow', () => {
  it('reads the wall clock when the page made performance.now throw', () => {
    const clock = FakeTimers.install({ toFake: ['Date'], now: 1_800_000_000_000 });
    const now = performance.now;
    performance.now = () => {
      throw new Error('replaced by the page');
    };
    try {
      expect(monotonicNow()).to.equal(1_800_000_000_000);
    } finally {
      performance.now = now;
      clock.uninstall();
    }
  });
});

describe('deadline timer', () => {
  let clock: InstalledClock;
  beforeEach(() => (clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })));
  afterEach(() => clock.uninstall());

  it('runs one timer, for the earliest deadline asked of it', () => {
    const fired: number[] = [];
    const timer = createDeadlineTimer(() => fired.push(clock.now), () => clock.now);
    for (const at of [500, 200, 800]) timer.schedule(at);
    expect(clock.countTimers()).to.equal(1);
    clock.tick(1000);
    expect(fired).to.deep.equal([200]);
  });

  it('fires at once for a deadline already passed, and not at all once stopped', () => {
    const fired: number[] = [];
    const timer = createDeadlineTimer(() => fired.push(clock.now), () => clock.now);
    clock.tick(100);
    timer.schedule(50);
    clock.tick(0);
    timer.schedule(300);
    timer.stop();
    clock.tick(1000);
    expect([fired, clock.countTimers()]).to.deep.equal([[100], 0]);
  });

  it('takes the delay from the clock it was given, not the wall clock', () => {
    const fired: number[] = [];
    const timer = createDeadlineTimer(() => fired.push(clock.now), () => clock.now + 1_000_000);
    timer.schedule(1_000_300);
    clock.tick(1000);
    expect(fired).to.deep.equal([300]);
  });

  it('says why it failed when the page setTimeout throws, and keeps trying later deadlines', () => {
    const timer = createDeadlineTimer(() => {}, () => 0);
    const setTimeout = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('blocked');
    }) as never;
    try {
      timer.schedule(100);
    } finally {
      globalThis.setTimeout = setTimeout;
    }
    expect(timer.failure).to.be.instanceOf(CifTimerError).with.property('message', 'setTimeout threw (blocked), so calls cannot be timed: given up');
    timer.failure = undefined;
    timer.schedule(100);
    expect([timer.failure, clock.countTimers()]).to.deep.equal([undefined, 1]);
    timer.stop();
  });
});
