// The engine and the outbox as the exporter uses them, as a sequence: a page's
// diag logger and its host that act on what they are told (export again, flush, shut down, read
// getStats()) at random lines and calls, over an outbox in a MemoryStore, through the real trace SDK.
// What is checked is the trust rules: getStats() balanced at every line, no call handed over again
// after an answer or a silence, every result callback once, and at the end every KPI event
// delivered, dropped for a reason, or kept in the store as kpiEventsKept says.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import fc from 'fast-check';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { payloadOf } from '../../src/testing/recording-client.js';
import { expectBalanced, seededRandom } from '../helpers/fake-client.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

type Act = 'none' | 'record' | 'flush' | 'shutdown' | 'stats';

describe('delivery with the outbox, with a diag logger and a host that act as they are told, properties', function () {
  this.timeout(120_000);

  it('keeps every trust rule whatever the logger and the host do at random lines and calls', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('record' as const), events: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('tick' as const), millis: fc.constantFrom(0, 1, 150, 999, 1_000, 3_000, 25_000) }),
      fc.record({ kind: fc.constant('ready' as const) }),
      fc.record({ kind: fc.constant('flush' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 25 }),
        fc.integer(),
        fc.constantFrom(1, 2),
        fc.constantFrom(1, 3),
        fc.constantFrom(1, 4, 100),
        async (steps, seed, maxConcurrentCalls, maxEventsPerCall, maxQueueSize) => {
          const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
          const random = seededRandom(seed);
          const problems: string[] = [];
          let named = 0;
          let budget = 30;
          /** Per KPI event name: attempts the host took, and whether the last was rejected. */
          const taken = new Map<string, { rejected: boolean }>();
          const results = new Map<number, number>();
          let exports = 0;
          try {
            const store = new MemoryStore();
            const locks = createLockManager().client();
            let ready!: () => void;
            /** Made below: the logger and the host act through them. */
            const page = {} as { exporter: CifSpanExporter; record: (events: number) => void };
            const act = (where: string): void => {
              if (budget <= 0) return;
              const pick: Act = (['none', 'none', 'record', 'flush', 'stats', 'shutdown'] as const)[Math.floor(random() * 6)]!;
              if (pick === 'shutdown' && random() < 0.7) return;
              if (pick !== 'none') budget--;
              if (pick === 'record') page.record(1 + Math.floor(random() * 2));
              else if (pick === 'flush') void page.exporter.forceFlush();
              else if (pick === 'shutdown') void page.exporter.shutdown();
              else if (pick === 'stats') {
                try {
                  expectBalanced(page.exporter.getStats());
                } catch (error) {
                  problems.push(`${where}: ${(error as Error).message}`);
                }
              }
            };
            const host = new RecordingCifClient({
              answer: (call) => {
                for (const event of payloadOf(call).events) {
                  const before = taken.get(event.kpiEventName);
                  if (before && !before.rejected) problems.push(`${event.kpiEventName} handed over again`);
                  taken.set(event.kpiEventName, { rejected: false });
                }
                act('host');
                const r = random();
                const names = payloadOf(call).events.map((e) => e.kpiEventName);
                if (r < 0.5) return 'ok';
                if (r < 0.8) {
                  for (const name of names) taken.get(name)!.rejected = true;
                  return Promise.reject(new Error('Provider not active'));
                }
                // Never answers: the page times it out, and must not send it again.
                return new Promise<string>(() => {});
              },
            });
            const readyPromise = new Promise<void>((resolve) => (ready = resolve));
            const exporter = (page.exporter = withPageGlobals({ navigator: { locks: locks.locks } }, () =>
              new CifSpanExporter({
                client: host,
                ready: readyPromise,
                readyTimeoutMillis: 20_000,
                timeoutMillis: 1_000,
                maxConcurrentCalls,
                maxQueueSize,
                maxEventsPerCall,
                eventName: () => 'kpi',
                retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 },
                outbox: { store, name: 'widget' },
              }),
            ));
            // Between the processor and the exporter: each export must call back once.
            const counted = {
              export: (spans: Parameters<CifSpanExporter['export']>[0], callback: Parameters<CifSpanExporter['export']>[1]) => {
                const id = exports++;
                results.set(id, 0);
                exporter.export(spans, (result) => {
                  results.set(id, results.get(id)! + 1);
                  callback(result);
                });
              },
              shutdown: () => exporter.shutdown(),
              forceFlush: () => exporter.forceFlush(),
            };
            const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(counted)] });
            const tracer = provider.getTracer('softphone');
            const record = (page.record = (events: number) => {
              const span = tracer.startSpan('call', { attributes: IDENTITY });
              for (let i = 0; i < events; i++) span.addEvent(`e${named++}`);
              span.end();
            });
            const check = (where: string) => () => {
              try {
                expectBalanced(exporter.getStats());
              } catch (error) {
                problems.push(`${where}: ${(error as Error).message}`);
              }
            };
            let telling = false;
            const line =
              (level: string) =>
              (...args: unknown[]) => {
                check(`${level} ${String(args[1])}`)();
                if (telling) return;
                telling = true;
                try {
                  act(String(args[1]));
                } finally {
                  telling = false;
                }
              };
            diag.setLogger({ error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), verbose: line('verbose') }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
            await clock.tickAsync(0);
            for (const s of steps) {
              if (s.kind === 'record') record(s.events);
              else if (s.kind === 'tick') await clock.tickAsync(s.millis);
              else if (s.kind === 'ready') ready();
              else void exporter.forceFlush();
              check(`after ${s.kind}`)();
            }
            budget = 0;
            const closing = exporter.shutdown();
            await clock.runAllAsync();
            await closing;
            diag.disable();
            const stats = exporter.getStats();
            expectBalanced(stats);
            expect(stats.kpiEventsPending, 'pending at the end').to.equal(0);
            const stored = Object.values(store.contents()).reduce<number>((sum, value) => sum + (value as [number, number, { data: { events: unknown[] } }])[2].data.events.length, 0);
            expect(stats.kpiEventsKept, 'kept = KPI events in the store').to.equal(stored);
            expect(problems).to.deep.equal([]);
            expect([...results.values()].filter((n) => n !== 1), 'result callbacks other than once').to.deep.equal([]);
          } finally {
            diag.disable();
            clock.uninstall();
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
