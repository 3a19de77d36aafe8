// Hostile review of getStats() read while calls move: docs/delivery.md says "`getStats()` read
// from the logger is as of each line", and the engine's gauges() says "each count changes before
// a line is told". Through the real trace SDK, with a diag logger that reads the stats.
import { expect } from 'chai';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { installActingDiag } from '../helpers/diag.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';
import { sdkSpans } from '../helpers/spans.js';
import { MemoryStore, createLockManager } from '../helpers/web-storage.js';

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

  // docs/delivery.md: `callsQueued`, `callsInFlight` are "calls waiting ... , calls at the host ..., right now": so too
  // for a host (or a test's client) that reads them as it is called.
  it('shows the call the host is being handed as in flight, not queued, to the host itself', async () => {
    const seen: number[][] = [];
    const host = new RecordingCifClient({
      answer: () => {
        const stats = widget.exporter.getStats();
        seen.push([stats.callsMade, stats.callsQueued, stats.callsInFlight]);
        return 'ok';
      },
    });
    const widget = pageWidget(fake.closeables, { client: host });
    widget.record('CallAccepted');
    widget.record('CallEnded');
    await fake.clock.tickAsync(0);
    expect(seen).to.deep.equal([
      [1, 0, 1],
      [2, 0, 2],
    ]);
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

  // src/delivery/engine.ts `settle()`: a call given up asks the outbox whether it still holds it, and a store that
  // fails that read is told at once (`store or lock failed`); asked after the call left kpiEventsPending and before
  // it joined kpiEventsKept, the logger saw a KPI event in no counter.
  it('balances at the line of a store that fails as a call given up is looked for in the outbox', async () => {
    const store = new MemoryStore();
    const exporter = withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () =>
      new CifSpanExporter({ client: new RecordingCifClient(), ready: new Promise<void>(() => {}), outbox: { store, name: '/softphone' } }),
    );
    fake.closeables.push(exporter);
    await fake.clock.tickAsync(0);
    exporter.export(sdkSpans(['CallAccepted']), () => {});
    await fake.clock.tickAsync(0);
    expect(exporter.getStats().outbox.stored).to.equal(1);
    store.getItem = () => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    };
    const seen: string[] = [];
    const stop = installActingDiag((_level, line) => {
      try {
        expectBalanced(exporter.getStats());
      } catch {
        seen.push(line);
      }
    });
    try {
      // readyTimeoutMillis passes: the call is given up, and kept for a later page.
      await fake.clock.tickAsync(20_000);
    } finally {
      stop();
    }
    expect(seen).to.deep.equal([]);
    expect(exporter.getStats()).to.include({ kpiEventsKept: 1 });
    expect(exporter.getStats().outbox.storeErrors).to.be.at.least(1);
  });
});
