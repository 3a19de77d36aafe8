import { expect } from 'chai';
import FakeTimers from '@sinonjs/fake-timers';
import { monotonicNow, startTimer } from '../../src/delivery/timers.js';

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

  it('runs the callback after the delay, not before', () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let ran = 0;
      startTimer(() => ran++, 10);
      clock.tick(9);
      expect(ran).to.equal(0);
      clock.tick(1);
      expect(ran).to.equal(1);
    } finally {
      clock.uninstall();
    }
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
  it('reads the wall clock on the scale of performance.now when the page made it throw', () => {
    const clock = FakeTimers.install({ toFake: ['Date'], now: 1_800_000_000_000 });
    const now = performance.now;
    performance.now = () => {
      throw new Error('replaced by the page');
    };
    try {
      expect(monotonicNow()).to.equal(1_800_000_000_000 - performance.timeOrigin);
    } finally {
      performance.now = now;
      clock.uninstall();
    }
  });

  [undefined, Number.NaN, 'soon', Infinity].forEach((reading) =>
    it(`reads the wall clock on the scale of performance.now when the page's performance.now gives ${String(reading)}`, () => {
      const clock = FakeTimers.install({ toFake: ['Date'], now: 1_800_000_000_000 });
      const now = performance.now;
      performance.now = () => reading as number;
      try {
        expect(monotonicNow()).to.equal(1_800_000_000_000 - performance.timeOrigin);
      } finally {
        performance.now = now;
        clock.uninstall();
      }
    }),
  );

  it('keeps the scale of a performance without timeOrigin when its now() then throws: the wall clock less the last reading', () => {
    const clock = FakeTimers.install({ toFake: ['Date'], now: 1_800_000_000_000 });
    const real = globalThis.performance;
    let reading: () => number = () => 500;
    Object.defineProperty(globalThis, 'performance', { value: { now: () => reading() }, configurable: true, writable: true });
    try {
      const before = monotonicNow();
      clock.tick(200);
      reading = () => {
        throw new Error('replaced by the page');
      };
      expect([before, monotonicNow()]).to.deep.equal([500, 700]);
    } finally {
      Object.defineProperty(globalThis, 'performance', { value: real, configurable: true, writable: true });
      clock.uninstall();
    }
  });

  it('stands at its last reading where neither clock gives a time, as in an SES compartment', () => {
    const real = globalThis.performance;
    const { now } = Date;
    const last = monotonicNow();
    Object.defineProperty(globalThis, 'performance', { value: undefined, configurable: true, writable: true });
    Date.now = () => {
      throw new TypeError('secure mode Calling %SharedDate.now() throws');
    };
    try {
      expect([monotonicNow(), monotonicNow()]).to.deep.equal([last, last]);
    } finally {
      Date.now = now;
      Object.defineProperty(globalThis, 'performance', { value: real, configurable: true, writable: true });
    }
  });
});
