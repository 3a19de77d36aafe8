// The early-timer rule (src/delivery/engine.ts `schedule`) where the page's clocks read in steps
// (Tor Browser and Mullvad Browser round both to 100 ms): a timer that fires on time finds both
// clocks short of its deadline, and is set again for the rest. Through the real trace SDK, under
// the fake clock the other delivery tests use.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('the delivery timer where the page rounds both clocks', () => {
  const fake = useFakeClock();

  /**
   * Rounds `performance.now()` and `Date.now()` down to `millis`, as browsers that resist
   * fingerprinting do (Tor Browser and Mullvad Browser: 100 ms), over the fake clock; the timers
   * themselves keep their time. Returns how to put the clocks back.
   */
  function roundClocks(millis: number): () => void {
    const perfNow = performance.now;
    const dateNow = Date.now;
    performance.now = () => Math.floor(perfNow.call(performance) / millis) * millis;
    Date.now = () => Math.floor(dateNow.call(Date) / millis) * millis;
    return () => {
      performance.now = perfNow;
      Date.now = dateNow;
    };
  }

  // docs/delivery.md: no_timer is for a setTimeout that "calls back early by both clocks a hundred times in a row".
  // Here setTimeout keeps its time; only the clocks read in steps of 100 ms. A retry due 220 ms
  // after a rejection: its timer fires at 220 ms, when both clocks still read 200, so it looks
  // early; set again for the 20 ms left, it fires at 240 and 260, both clocks still at 200: three
  // early firings in a row, and the call is given up, though its retry was due 80 ms later.
  it('retries a rejected call on time where both clocks read in steps of 100 ms, not giving it up as no_timer', async () => {
    const messages = captureDiag();
    const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
    const widget = pageWidget(fake.closeables, { client: host });
    const random = Math.random;
    // The jitter of the first backoff: 250 ms x (0.8 + 0.4 x 0.2) = 220 ms.
    Math.random = () => 0.2;
    const restoreClocks = roundClocks(100);
    try {
      widget.record('CallEnded');
      await fake.clock.tickAsync(1_000);
    } finally {
      restoreClocks();
      Math.random = random;
    }
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect({ calls: host.calls.length, delivered: stats.kpiEventsDelivered, no_timer: stats.dropped.no_timer }).to.deep.equal({ calls: 2, delivered: 1, no_timer: 0 });
    expect(messages.filter((m) => m.startsWith('opentelemetry-exporter-cif'))).to.deep.equal([]);
  });

  // The same with a call's own timeout: 15 020 ms (any timeoutMillis not a multiple of the step).
  it('times a hanging call out as timed_out where both clocks read in steps of 100 ms, not as no_timer', async () => {
    const host = new RecordingCifClient({ answer: () => new Promise(() => {}) });
    const widget = pageWidget(fake.closeables, { client: host, timeoutMillis: 15_020 });
    const restoreClocks = roundClocks(100);
    try {
      widget.record('CallEnded');
      await fake.clock.tickAsync(15_200);
    } finally {
      restoreClocks();
    }
    const stats = widget.exporter.getStats();
    expectBalanced(stats);
    expect(stats.dropped).to.include({ no_timer: 0, timed_out: 1 });
  });
});
