// Hostile review of getStats() read while calls move: docs/delivery.md says "`getStats()` read
// from the logger is as of each line", and the engine's gauges() says "each count changes before
// a line is told". Through the real trace SDK, with a diag logger that reads the stats.
import { expect } from 'chai';
import { RecordingCifClient } from '../../src/testing/index.js';
import { installActingDiag } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('getStats() read by a diag logger as calls move', () => {
  const fake = useFakeClock();

  // src/delivery/engine.ts `answered()`: a rejected call leaves its slot (`inFlight--`) and goes to
  // backoff, and the `retry <n> in <ms> ms` line is told before `gauges()` runs, so the logger
  // still sees the call at the host and none queued.
  it('shows a rejected call as queued, not in flight, at the line that schedules its retry', async () => {
    const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok') });
    const widget = pageWidget(fake.closeables, { client: host });
    const seen: Array<{ inFlight: number; queued: number }> = [];
    const stop = installActingDiag((_level, line) => {
      if (/retry 1 in/.test(line)) {
        const stats = widget.exporter.getStats();
        seen.push({ inFlight: stats.callsInFlight, queued: stats.callsQueued });
      }
    });
    try {
      widget.record('CallEnded');
      await fake.clock.tickAsync(0);
    } finally {
      stop();
    }
    expect(seen).to.deep.equal([{ inFlight: 0, queued: 1 }]);
    await fake.clock.tickAsync(1_000);
    expect(host.calls).to.have.length(2);
    expectBalanced(widget.exporter.getStats());
  });

  // The same in the branch of a page library that fails a call before CIFInitDone: the
  // `waiting for CIF again` line comes before gauges() as well.
  it('shows a call the page library failed before CIFInitDone as queued, not in flight, at the line that sends it back to wait', async () => {
    const host = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('not initialised')) : 'ok') });
    (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: host };
    try {
      const widget = pageWidget(fake.closeables, {});
      const seen: Array<{ inFlight: number; queued: number }> = [];
      const stop = installActingDiag((_level, line) => {
        if (/waiting for CIF again/.test(line)) {
          const stats = widget.exporter.getStats();
          seen.push({ inFlight: stats.callsInFlight, queued: stats.callsQueued });
        }
      });
      try {
        widget.record('CallEnded');
        await fake.clock.tickAsync(0);
      } finally {
        stop();
      }
      expect(host.calls).to.have.length(1);
      expect(seen).to.deep.equal([{ inFlight: 0, queued: 1 }]);
      expectBalanced(widget.exporter.getStats());
    } finally {
      delete (globalThis as Record<string, unknown>)['Microsoft'];
    }
  });
});
