// The delivery engine's one timer (src/delivery/engine.ts `schedule`, `onTimer`) against a page's
// setTimeout that fires before its time, through the real trace SDK.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced, hangs } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('the delivery timer against a page setTimeout that fires early', () => {
  const fake = useFakeClock();

  // docs/delivery.md: "The engine runs one timer, for its earliest deadline ... however many calls
  // are queued or in flight", and the page's setTimeout is hostile input: one that throws or calls
  // back before it returns is caught (`no_timer`). One that calls back right after it returns, in a
  // microtask (a shim that ignores the delay), finds nothing due; `onTimer` sets the timer again
  // for the same deadline, which fires at once again: a loop of microtasks that holds the page's
  // main thread until the deadline passes (the call's timeout, then its slot's 100 s), so the
  // host's answer, a message event, cannot even come. The engine gives up after a thousand; the
  // shim below stops after 5000 rounds, so that the test ends either way.
  it('gives the call up as no_timer once a setTimeout that calls back at once has fired early a thousand times in a row, rather than setting it without end', async () => {
    const messages = captureDiag();
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    const pageSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((callback: () => void, millis?: number) => {
      timers++;
      if (timers > 5000) return pageSetTimeout(callback, millis);
      queueMicrotask(callback);
      return 0;
    }) as unknown as typeof setTimeout;
    try {
      widget.record('CallEnded');
      // The microtasks of this task, and no clock moved.
      await Promise.resolve();
      await fake.clock.tickAsync(0);
    } finally {
      globalThis.setTimeout = pageSetTimeout;
    }
    expect(host.calls).to.have.length(1);
    expect(timers, 'setTimeout calls for one deadline').to.be.within(1000, 1002);
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(stats.dropped.no_timer).to.equal(1);
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal(['opentelemetry-exporter-cif KPI events dropped: setTimeout failed (it called back early), so calls cannot be timed: given up. Counted in getStats().dropped.no_timer; shown once.']);
  });

  // A page's clock that stood still while the machine slept makes a timer look early once.
  it('keeps its deadlines with a setTimeout that fires early once, and times the call out as timed_out', async () => {
    const messages = captureDiag();
    const host = new RecordingCifClient({ answer: hangs });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_000 });
    const pageSetTimeout = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((callback: () => void, millis?: number) => {
      if (++timers === 1) {
        queueMicrotask(callback);
        return 0;
      }
      return pageSetTimeout(callback, millis);
    }) as unknown as typeof setTimeout;
    try {
      widget.record('CallEnded');
      await fake.clock.tickAsync(15_000);
    } finally {
      globalThis.setTimeout = pageSetTimeout;
    }
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(stats.dropped).to.include({ no_timer: 0, timed_out: 1 });
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal(['opentelemetry-exporter-cif KPI events dropped: logAnalyticsEvent did not answer within 15000 ms (timeoutMillis). Counted in getStats().dropped.timed_out; shown once.']);
  });
});
