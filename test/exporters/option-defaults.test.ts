/**
 * The delivery defaults of the README's options table, as a CifSpanExporter given no delivery
 * option applies them behind the real trace SDK, on fake timers.
 */
import { expect } from 'chai';
import type { CifSpanExporterOptions } from '../../src/index.js';
import { RecordingCifClient, type RecordingCifClientOptions } from '../../src/testing/index.js';
import { hangs } from '../helpers/fake-client.js';
import { pageWidget, useFakeClock } from '../helpers/pipelines.js';

describe('the delivery defaults of the README options table, through CifSpanExporter', () => {
  const time = useFakeClock();

  /** A widget as the README wires it, with `answer` at the host; `record` ends spans of one KPI event each; `times` are when each call reached the host. */
  function widget(answer: RecordingCifClientOptions['answer'], options: CifSpanExporterOptions = {}) {
    const start = Date.now();
    const times: number[] = [];
    const client = new RecordingCifClient({ answer, onCall: () => void times.push(Date.now() - start) });
    const { exporter, record } = pageWidget(time.closeables, { client, ...options });
    return {
      exporter,
      times,
      record(count: number) {
        for (let i = 0; i < count; i++) record(`K${i}`);
      },
    };
  }

  it('holds 8 calls at the host at once and fails each one unanswered after 15 s, without retrying it', async () => {
    const { exporter, times, record } = widget(hangs);
    record(9);
    await time.clock.tickAsync(0);
    const atStart = [times.length, exporter.getStats().callsQueued];
    await time.clock.tickAsync(14_999);
    const before = exporter.getStats().dropped.timed_out;
    await time.clock.tickAsync(1);
    const after = exporter.getStats().dropped.timed_out;
    // A timed-out call holds its slot up to 100 s (docs/delivery.md): the ninth goes then, and also times out.
    await time.clock.tickAsync(100_000 - 15_000);
    await time.clock.tickAsync(15_000);
    expect({ atStart, before, after, times, timedOut: exporter.getStats().dropped.timed_out }).to.deep.equal({
      atStart: [8, 1],
      before: 0,
      after: 8,
      times: [0, 0, 0, 0, 0, 0, 0, 0, 100_000],
      timedOut: 9,
    });
  });

  const retries: Array<[what: string, options: CifSpanExporterOptions, times: number[]]> = [
    ['the default retry, 3 attempts 250 then 500 ms apart', {}, [0, 250, 750]],
    ['retry { maxAttempts: 8 }, its waits doubling from 250 ms up to 5000 ms', { retry: { maxAttempts: 8 } }, [0, 250, 750, 1_750, 3_750, 7_750, 12_750, 17_750]],
    ['retry { maxAttempts: 1 }, no retry', { retry: { maxAttempts: 1 } }, [0]],
  ];
  retries.forEach(([what, options, expected]) =>
    it(`tries a call the host rejects as ${what}, then drops it as host_error`, async () => {
      // No jitter: the middle of its ±20 % range.
      const random = Math.random;
      Math.random = () => 0.5;
      try {
        const { exporter, times, record } = widget(() => Promise.reject(new Error('Provider not active')), options);
        record(1);
        await time.clock.tickAsync(60_000);
        expect({ times, hostError: exporter.getStats().dropped.host_error }).to.deep.equal({ times: expected, hostError: 1 });
      } finally {
        Math.random = random;
      }
    }),
  );

  it('waits 20 s for a CIF library that never comes before it fails a call as cif_not_loaded', async () => {
    const { exporter, record } = widget('ok', { client: undefined });
    record(1);
    await time.clock.tickAsync(19_999);
    const before = exporter.getStats().dropped.cif_not_loaded;
    await time.clock.tickAsync(1);
    expect([before, exporter.getStats().dropped.cif_not_loaded]).to.deep.equal([0, 1]);
  });
});
