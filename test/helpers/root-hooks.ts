/**
 * Mocha root hooks, loaded by .mocharc.json `require`: after each test, shuts down what the test
 * gave `shutDownAfterTest`, then fails the test if a timer the library set in it still runs, or if
 * fake timers were asked to clear a real one. A timer left running fires into a later test, maybe
 * under that test's fake timers (which then only warn, once), and so makes later tests flaky under load.
 * It also fails the test in whose time a promise was rejected unhandled (Mocha does not), but where
 * the test collects them itself (`unhandledRejectionsOf`).
 */
import type { RootHookObject } from 'mocha';
import { shutDownAll } from './shut-down.js';
import { watching } from './unhandled.js';

/** A stack that passes through the library's `startTimer`. */
const LIBRARY_TIMER = /[\\/]src[\\/]delivery[\\/]timers\.ts:/;

const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
/** The library's timers set since the current test began and neither fired nor cleared, with where each was set. */
const running = new Map<unknown, string>();
let inTest = false;
/** What @sinonjs/fake-timers warned during the current test: a real timer handed to its `clearTimeout`. */
let mixed: string | undefined;

function setTimeout(callback: (...args: unknown[]) => void, millis?: number, ...args: unknown[]): unknown {
  const stack = inTest ? (new Error().stack ?? '') : '';
  if (!LIBRARY_TIMER.test(stack)) return real.setTimeout(callback, millis, ...args);
  const timer = real.setTimeout(
    (...given: unknown[]) => {
      running.delete(timer);
      callback(...given);
    },
    millis,
    ...args,
  );
  running.set(timer, stack.split('\n').slice(2).join('\n'));
  return timer;
}

function clearTimeout(timer?: Parameters<typeof globalThis.clearTimeout>[0]): void {
  running.delete(timer);
  real.clearTimeout(timer);
}

// Installed before any test file loads; fake timers replace these and put them back.
Object.defineProperties(setTimeout, Object.getOwnPropertyDescriptors(real.setTimeout));
globalThis.setTimeout = setTimeout as unknown as typeof globalThis.setTimeout;
globalThis.clearTimeout = clearTimeout;

/** The rejections no one handled since the current test began, but those a test's own watch collects. */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => {
  if (watching.count === 0) unhandled.push(reason);
});

const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith('FakeTimers: ') && args[0].includes('native timer')) mixed ??= args[0];
  warn(...args);
};

export const mochaHooks: RootHookObject = {
  beforeEach() {
    running.clear();
    unhandled.length = 0;
    mixed = undefined;
    inTest = true;
  },
  async afterEach() {
    await shutDownAll();
    inTest = false;
    const left = [...running];
    running.clear();
    left.forEach(([timer]) => real.clearTimeout(timer as Parameters<typeof globalThis.clearTimeout>[0]));
    if (left.length > 0) {
      throw new Error(
        `this test left ${left.length} delivery timer(s) running: shut down the exporters and engines it made ` +
          `(shutDownAfterTest in test/helpers/shut-down.ts). The first was set\n${left[0]![1]}`,
      );
    }
    if (mixed) throw new Error(`this test, or a timer an earlier test left, mixed real and fake timers: ${mixed}`);
    // Node reports an unhandled rejection after the microtasks of the turn it was made in.
    await new Promise((resolve) => real.setTimeout(resolve, 0));
    if (unhandled.length > 0) throw new Error(`this test left ${unhandled.length} promise(s) rejected unhandled, the first: ${String(unhandled[0])}`);
  },
};
