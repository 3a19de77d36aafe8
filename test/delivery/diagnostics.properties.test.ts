// Every KPI event followed at DiagLogLevel.DEBUG through the real SDKs: each ends delivered or
// counted in getStats(), and a diag line says why, in the words and counters the docs use.
import { diag } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import fc from 'fast-check';
import { CifSpanExporter } from '../../src/index.js';
import { DELIVERY_DROP_REASONS } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { expectBalanced, hangs, seededRandom } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

describe('what diag says of each delivery drop, against the counters, with a host that answers, rejects oddly, hangs or answers late', function () {
  this.timeout(120_000);

  it('warns once per delivery reason that moved, and tells one given-up line per call it dropped, whatever the host, readiness, flushes and shutdowns do', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), withIds: fc.boolean() }),
      fc.record({ kind: fc.constant('tick' as const), millis: fc.constantFrom(0, 1, 150, 999, 1_000, 3_000, 25_000, 100_000) }),
      fc.record({ kind: fc.constant('flush' as const) }),
      fc.record({ kind: fc.constant('shutdown' as const) }),
      fc.record({ kind: fc.constant('ready' as const), resolves: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.integer(),
        fc.constantFrom(1, 2),
        fc.constantFrom(1, 5),
        fc.boolean(),
        fc.boolean(),
        async (steps, seed, maxConcurrentCalls, maxQueueSize, withOutbox, withReady) => {
          const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
          const random = seededRandom(seed);
          const told = captureLevels();
          try {
            let resolveReady!: () => void;
            let rejectReady!: (reason: unknown) => void;
            const ready = new Promise<void>((resolve, reject) => {
              resolveReady = resolve;
              rejectReady = reject;
            });
            ready.catch(() => {});
            const client = new RecordingCifClient({
              answer: () => {
                const r = random();
                if (r < 0.4) return 'ok';
                // Odd reasons: undefined, a string, an object whose getter throws.
                if (r < 0.6) return Promise.reject(r < 0.47 ? undefined : r < 0.54 ? 'Provider not active' : { get code(): never { throw new Error('x'); } });
                if (r < 0.8) return hangs();
                return new Promise<string>((resolve) => setTimeout(() => resolve('late'), 20_000));
              },
            });
            const options = { client, maxConcurrentCalls, maxQueueSize, timeoutMillis: 1_000, readyTimeoutMillis: 5_000, ...(withReady && { ready }) };
            const exporter = withOutbox
              ? withPageGlobals({ localStorage: new MemoryStore(), navigator: { locks: createLockManager().client().locks }, location: { pathname: '/widget' } }, () => new CifSpanExporter(options))
              : new CifSpanExporter({ ...options, outbox: false });
            const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
            const tracer = provider.getTracer('softphone');
            let named = 0;
            let withoutIds = 0;
            for (const s of steps) {
              if (s.kind === 'record') {
                const span = tracer.startSpan('call', { attributes: s.withIds ? IDENTITY : { 'cif.conversation.id': 'conv-1' } });
                span.addEvent(`E${named++}`);
                span.end();
                if (!s.withIds) withoutIds++;
              } else if (s.kind === 'tick') await clock.tickAsync(s.millis);
              else if (s.kind === 'flush') void exporter.forceFlush();
              else if (s.kind === 'shutdown') void exporter.shutdown();
              else if (s.resolves) resolveReady();
              else rejectReady({ get reason(): never { throw new Error('x'); } });
            }
            void provider.shutdown();
            await clock.runAllAsync();

            const stats = exporter.getStats();
            expectBalanced(stats);
            expect(stats.kpiEventsPending, 'pending after shutdown').to.equal(0);
            for (const reason of DELIVERY_DROP_REASONS) {
              const warned = told.filter((line) => line.startsWith('warn') && line.includes(`getStats().dropped.${reason};`));
              expect(warned, `warnings of dropped.${reason}`).to.have.length(stats.dropped[reason] > 0 ? 1 : 0);
              // One KPI event a call: one line a KPI event dropped.
              const given = told.filter((line) => line.startsWith('debug') && line.includes(` given up as ${reason}: `));
              expect(given, `given-up lines of ${reason}`).to.have.length(stats.dropped[reason]);
            }
            expect(stats.dropped.missing_identity).to.equal(withoutIds);
            expect(told.filter((line) => line.includes("span 'call' has no cif.provider_session.id"))).to.have.length(withoutIds);
          } finally {
            clock.uninstall();
            diag.disable();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
