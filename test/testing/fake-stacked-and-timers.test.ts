// installFakeCIFramework as a user's own tests use it: fakes stacked on one target, fake timers
// installed after it, a setTimeout that throws, a CIFInitDone listener that uninstalls, a
// Microsoft that takes no new member, and removeHandler given any name.
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import type { CifAnalyticsClient } from '../../src/index.js';
import { installFakeCIFramework, type FakeCifSessionApis } from '../../src/testing/index.js';

type Host = EventTarget & { Microsoft?: { CIFramework?: CifAnalyticsClient & FakeCifSessionApis } };

/** What a promise settled with: `['resolved', value]` or `['rejected', message]`. */
const settled = (promise: Promise<unknown>): Promise<[string, unknown]> =>
  promise.then(
    (value) => ['resolved', value],
    (error: unknown) => ['rejected', (error as Error).message],
  );

/** Timers the process holds open right now. */
const openTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('installFakeCIFramework over another fake on the same target', () => {
  // docs/browser.md: without startAfterMillis the session APIs answer from the start (only "with a
  // third argument { startAfterMillis }, logAnalyticsEvent and the session APIs reject until it
  // dispatches" CIFInitDone); and a fake uninstalled under a newer one "stays until that one is
  // uninstalled". The newer fake takes the older one's session APIs, which answer by the older
  // one's start.
  it('answers the session APIs once it has started itself, while the fake under it is still starting', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const target: Host = new EventTarget();
    const older = installFakeCIFramework(target, undefined, { startAfterMillis: 1000 });
    const newer = installFakeCIFramework(target);
    try {
      await newer.started;
      const cif = target.Microsoft!.CIFramework!;
      expect([await settled(cif.logAnalyticsEvent({ events: [] } as never, 'A')), await settled(cif.getFocusedSession())]).to.deep.equal([
        ['resolved', 'ok'],
        ['resolved', 'session-1'],
      ]);
    } finally {
      newer.uninstall();
      older.uninstall();
      clock.uninstall();
    }
  });

  it('answers the session APIs for good once the fake under it was uninstalled before it started', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const target: Host = new EventTarget();
    const older = installFakeCIFramework(target, undefined, { startAfterMillis: 1000 });
    const newer = installFakeCIFramework(target);
    try {
      older.uninstall();
      await clock.tickAsync(2000);
      const cif = target.Microsoft!.CIFramework!;
      expect(await settled(cif.getFocusedSession())).to.deep.equal(['resolved', 'session-1']);
    } finally {
      newer.uninstall();
      clock.uninstall();
    }
  });
});

describe('installFakeCIFramework with startAfterMillis and the timers of a test', () => {
  it('leaves no timer holding Node open once uninstalled, when fake timers were installed after it', () => {
    // A test's beforeEach installs the fake, then fake timers; its afterEach uninstalls the fake,
    // then the clock. The fake set a real timer (which keeps Node running until it starts) and
    // clears it with the fake clock's clearTimeout, which cannot clear it: it stays for
    // startAfterMillis (at most 24.8 days), and mocha without --exit waits for it.
    const before = openTimers();
    const target: Host = new EventTarget();
    // The fake's timer, to clear here whatever the outcome, and fake-timers' warning of a real
    // timer given to its clearTimeout, kept from the console.
    const pageSetTimeout = globalThis.setTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    globalThis.setTimeout = ((callback: () => void, millis: number) => (timer = pageSetTimeout(callback, millis))) as typeof setTimeout;
    let fake: ReturnType<typeof installFakeCIFramework>;
    try {
      fake = installFakeCIFramework(target, undefined, { startAfterMillis: 1000 });
    } finally {
      globalThis.setTimeout = pageSetTimeout;
    }
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const warn = console.warn;
    console.warn = () => {};
    try {
      fake.uninstall();
    } finally {
      console.warn = warn;
      clock.uninstall();
    }
    const open = openTimers();
    clearTimeout(timer);
    expect(open).to.equal(before);
  });

  it('leaves nothing installed when the setTimeout it starts with throws', () => {
    // Without startAfterMillis, what start() throws is thrown "with nothing left installed"; with
    // it, a setTimeout that throws (a broken stub of a test) leaves the fake on the target, and the
    // caller, who got no uninstall, cannot take it away.
    const target: Host = new EventTarget();
    const pageSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = (() => {
      throw new Error('setTimeout is stubbed');
    }) as unknown as typeof setTimeout;
    let thrown: unknown;
    try {
      installFakeCIFramework(target, undefined, { startAfterMillis: 10 });
    } catch (error) {
      thrown = error;
    } finally {
      globalThis.setTimeout = pageSetTimeout;
    }
    expect([(thrown as Error | undefined)?.message, 'Microsoft' in target]).to.deep.equal(['setTimeout is stubbed', false]);
  });

  it('resolves started when a CIFInitDone listener uninstalls it, as it had started', async () => {
    // `started` "resolves once it started, and rejects if uninstalled before". It starts, dispatches
    // CIFInitDone, and a listener of the test uninstalls it; started then rejects as never started.
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 5 });
    let heard = 0;
    target.addEventListener('CIFInitDone', () => {
      heard++;
      fake.uninstall();
    });
    try {
      await clock.tickAsync(5);
    } finally {
      clock.uninstall();
    }
    expect([heard, await settled(fake.started)]).to.deep.equal([1, ['resolved', undefined]]);
  });
});

describe('installFakeCIFramework where Microsoft takes no new member', () => {
  // Every other mistake of the target throws a TypeError that names installFakeCIFramework and
  // what is wrong ("target must be an object", "target.Microsoft must be an object"); so do these,
  // naming what could not be set.
  const targets: Array<[what: string, make: () => object, message: RegExp]> = [
    [
      'a frozen Microsoft, as a test double made with Object.freeze',
      () => ({ Microsoft: Object.freeze({ CIFramework: { logAnalyticsEvent: () => Promise.resolve('double') } }) }),
      /^installFakeCIFramework: cannot set target\.Microsoft\.CIFramework \(/,
    ],
    ['a frozen target with no Microsoft', () => Object.freeze(new EventTarget()), /^installFakeCIFramework: cannot set target\.Microsoft \(/],
    [
      'a Microsoft getter that answers a new object at each read, which keeps nothing set on it',
      () => ({
        get Microsoft() {
          return {};
        },
      }),
      /^installFakeCIFramework: cannot set target\.Microsoft\.CIFramework \(it kept its value\)\.$/,
    ],
  ];
  targets.forEach(([what, make, message]) =>
    it(`throws a TypeError that names installFakeCIFramework for ${what}, leaving the target as it was`, () => {
      const target = make();
      const before = JSON.stringify(target);
      let thrown: unknown;
      try {
        installFakeCIFramework(target);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.an.instanceOf(TypeError).with.property('message').that.matches(message);
      expect((thrown as Error).cause, 'the cause, what the write threw').to.be.an.instanceOf(Error);
      expect(JSON.stringify(target)).to.equal(before);
    }),
  );
});

describe('removeHandler of installFakeCIFramework', () => {
  it('answers with a promise for an event name that cannot be read as text, as it answers every other', async () => {
    // FakeHandlers: removeHandler "resolves with whether it removed the handler"; its type is
    // Promise<boolean>, and the host's answers are promises. fireEvent answers such a name with
    // no handler; removeHandler throws instead.
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    const cif = target.Microsoft!.CIFramework as unknown as { removeHandler(name: unknown, handler: () => void): Promise<boolean> };
    try {
      let answer: unknown;
      expect(() => (answer = cif.removeHandler(Object.create(null), () => {}))).to.not.throw();
      expect(answer).to.be.instanceOf(Promise);
      await settled(answer as Promise<boolean>);
    } finally {
      fake.uninstall();
    }
  });
});

describe('installFakeCIFramework with startAfterMillis and page timers that fail', () => {
  it('uninstalls without a throw where the page clearTimeout throws and setTimeout answers a number, as in a browser', () => {
    const { setTimeout: pageSetTimeout, clearTimeout: pageClearTimeout } = globalThis;
    globalThis.setTimeout = (() => 7) as unknown as typeof setTimeout;
    globalThis.clearTimeout = (() => {
      throw new Error('clearTimeout bug');
    }) as typeof clearTimeout;
    let fakes: Array<ReturnType<typeof installFakeCIFramework>>;
    try {
      // One with a start timer, and one started at once, which has none.
      fakes = [installFakeCIFramework(new EventTarget(), undefined, { startAfterMillis: 1_000 }), installFakeCIFramework(new EventTarget())];
    } finally {
      globalThis.setTimeout = pageSetTimeout;
      globalThis.clearTimeout = pageClearTimeout;
    }
    for (const fake of fakes) expect(() => fake.uninstall()).not.to.throw();
  });
});
