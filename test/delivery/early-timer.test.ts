// The delivery engine's one timer (src/delivery/engine.ts `schedule`, `onTimer`) against a page's
// setTimeout that fires before its time, through the real trace SDK.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag, installActingDiag } from '../helpers/diag.js';
import { expectBalanced, hangs } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('the delivery timer against a page setTimeout that fires early, or a page that clears it', () => {
  const fake = useFakeClock();

  /**
   * Runs `run` while the page's `setTimeout` is `shim`, given the one it replaced to call, then puts that one back:
   * a page's shim, which the engine finds at each timer it sets.
   */
  async function withPageSetTimeout(shim: (real: typeof setTimeout, callback: () => void, millis?: number) => unknown, run: () => Promise<void>): Promise<void> {
    const real = globalThis.setTimeout;
    globalThis.setTimeout = ((callback: () => void, millis?: number) => shim(real, callback, millis)) as unknown as typeof setTimeout;
    try {
      await run();
    } finally {
      globalThis.setTimeout = real;
    }
  }

  // docs/delivery.md: "The engine runs one timer, for its earliest deadline ... however many calls
  // are queued or in flight", and the page's setTimeout is hostile input: one that throws or calls
  // back before it returns is caught (`no_timer`). One that calls back right after it returns, in a
  // microtask (a shim that ignores the delay), finds nothing due; `onTimer` sets the timer again
  // for the same deadline, which fires at once again: a loop of microtasks that holds the page's
  // main thread until the deadline passes (the call's timeout, then its slot's 100 s), so the
  // host's answer, a message event, cannot even come. The engine gives up after a hundred; the
  // shim below stops after 5000 rounds, so that the test ends either way.
  it('gives the call up as no_timer once a setTimeout that calls back at once has fired early a hundred times in a row, rather than setting it without end', async () => {
    const messages = captureDiag();
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    let timers = 0;
    const shim = (real: typeof setTimeout, callback: () => void, millis?: number) => {
      if (++timers > 5000) return real(callback, millis);
      queueMicrotask(callback);
      return 0;
    };
    await withPageSetTimeout(shim, async () => {
      widget.record('CallEnded');
      // The microtasks of this task, and no clock moved.
      await Promise.resolve();
      await fake.clock.tickAsync(0);
    });
    expect(host.calls).to.have.length(1);
    expect(timers, 'setTimeout calls for one deadline').to.be.within(100, 102);
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(stats.dropped.no_timer).to.equal(1);
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal(['opentelemetry-exporter-cif KPI events dropped: setTimeout failed (early by both clocks 100 times in a row: it ignores the delay, or the clocks stand still), so calls cannot be timed: given up. Counted in getStats().dropped.no_timer; shown once.']);
  });

  // docs/delivery.md, the no_timer row: the next call tries setTimeout again. A diag logger may record a KPI event on
  // the warning line (Diagnostics), by when the page's shim is gone: that call is timed, and one early firing, as of a
  // clock that read in steps, counts from none, not from the hundred that gave the first call up.
  it('times a call made while the no_timer warning is told, once setTimeout works again, counting early firings from none', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    let early = Infinity;
    const stopLogger = installActingDiag((level, line) => {
      if (level === 'warn' && line.includes('dropped.no_timer')) {
        early = 1;
        widget.record('NoTimerWarned');
      }
    });
    const shim = (real: typeof setTimeout, callback: () => void, millis?: number) => {
      if (early-- <= 0) return real(callback, millis);
      queueMicrotask(callback);
      return 0;
    };
    try {
      await withPageSetTimeout(shim, async () => {
        widget.record('CallEnded');
        await fake.clock.tickAsync(20_000);
      });
    } finally {
      stopLogger();
    }
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallEnded', 'NoTimerWarned']);
    expect({ noTimer: stats.dropped.no_timer, timedOut: stats.dropped.timed_out, pending: stats.kpiEventsPending }).to.deep.equal({ noTimer: 1, timedOut: 1, pending: 0 });
  });

  // A page may clear timeouts it did not set (`while (id--) clearTimeout(id)`, or a widget's own bookkeeping of the
  // handles setTimeout gave): the engine's timer is gone, and later deadlines, which come after the cleared one, still get one.
  it('still times calls out after the page cleared its timer', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    const handles: Array<ReturnType<typeof setTimeout>> = [];
    const shim = (real: typeof setTimeout, callback: () => void, millis?: number) => {
      const handle = real(callback, millis);
      handles.push(handle);
      return handle;
    };
    await withPageSetTimeout(shim, async () => {
      widget.record('CallAccepted');
      await fake.clock.tickAsync(1_000);
      handles.splice(0).forEach(clearTimeout);
      await fake.clock.tickAsync(60_000);
      widget.record('CallEnded');
      // The first call's deadline, long past, is kept at once, not put off to the second one's.
      await fake.clock.tickAsync(0);
      expect(widget.exporter.getStats().dropped.timed_out).to.equal(1);
      await fake.clock.tickAsync(20_000);
    });
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted', 'CallEnded']);
    expect({ pending: stats.kpiEventsPending, timedOut: stats.dropped.timed_out }).to.deep.equal({ pending: 0, timedOut: 2 });
  });

  // A timer not run yet in the very millisecond it is due is no cleared one: a task of the page due then, queued first,
  // runs before it, and the call it admits must not put it off.
  it('keeps its timer due in the millisecond a task queued before it admits another call, and times the first call out then', async () => {
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    setTimeout(() => widget.record('CallEnded'), 15_000);
    widget.record('CallAccepted');
    await fake.clock.tickAsync(15_000);
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted', 'CallEnded']);
    expect(widget.exporter.getStats().dropped.timed_out).to.equal(1);
  });

  // A page's clock that stood still while the machine slept makes a timer look early once.
  it('keeps its deadlines with a setTimeout that fires early once, and times the call out as timed_out', async () => {
    const messages = captureDiag();
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    let timers = 0;
    const shim = (real: typeof setTimeout, callback: () => void, millis?: number) => {
      if (++timers > 1) return real(callback, millis);
      queueMicrotask(callback);
      return 0;
    };
    await withPageSetTimeout(shim, async () => {
      widget.record('CallEnded');
      await fake.clock.tickAsync(15_000);
    });
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(stats.dropped).to.include({ no_timer: 0, timed_out: 1 });
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal(['opentelemetry-exporter-cif KPI events dropped: logAnalyticsEvent did not answer within 15000 ms (timeoutMillis). Counted in getStats().dropped.timed_out; shown once.']);
  });
});
