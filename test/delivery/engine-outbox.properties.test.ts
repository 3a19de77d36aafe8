import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import fc from 'fast-check';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import type { DeliveryReport } from '../../src/delivery/report.js';
import { createDeliveryStats, DELIVERY_DROP_REASONS, type CifDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { CifCall } from '../../src/types.js';
import { expectBalanced, hangs } from '../helpers/fake-client.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

type HostAnswer = 'ok' | 'reject' | 'hang';

/** What happens next: calls admitted, time passing, the wall clock set, CIF becoming ready, or the page ending. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('admit' as const), calls: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('tick' as const), millis: fc.integer({ min: 0, max: 8_000 }) }),
  // The wall clock set back a day or forward two (outbox ages), never near maxAgeMillis.
  fc.record({ kind: fc.constant('jump' as const), millis: fc.integer({ min: -86_400_000, max: 172_800_000 }) }),
  fc.record({ kind: fc.constant('ready' as const) }),
  fc.record({ kind: fc.constant('crash' as const), readyAtOnce: fc.boolean() }),
  fc.record({ kind: fc.constant('shutdown' as const), readyAtOnce: fc.boolean() }),
);

interface SimPage {
  engine: DeliveryEngine;
  stats: CifDeliveryStats;
  locks: LockClient;
  ready: () => void;
  /** Ends the page as a crash does: its locks go, and its code never touches the store or the host again. */
  crash: () => Promise<void>;
}

function call(name: string): CifCall {
  return {
    data: { conversationId: 'conv', providerSessionId: 'prov', events: [{ kpiEventName: name, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}

describe('delivery with the outbox, properties', () => {
  it('sends every admitted call once or counts it, never hands a call over again after an answer or a silence, whatever the crashes, answers and clock jumps', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), fc.array(fc.constantFrom<HostAnswer>('ok', 'reject', 'hang'), { minLength: 1, maxLength: 8 }), async (steps, answers) => {
        const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
        try {
          const store = new MemoryStore();
          const manager = createLockManager();
          /** Every handover of a call, in order, with what the host did with it. */
          const handovers: Array<{ name: string; answer: HostAnswer }> = [];
          const ended: SimPage[] = [];
          const admitted: string[] = [];
          let pages = 0;
          /** The host errors of pages that crashed, counted when they did. */
          let crashedHostErrors = 0;

          const host = (answer: (index: number) => HostAnswer, dead: { crashed: boolean }) =>
            new RecordingCifClient({
              answer: (recorded) => {
                if (dead.crashed) return hangs();
                const given = answer(handovers.length);
                handovers.push({ name: recorded.eventName, answer: given });
                return given === 'ok' ? Promise.resolve('') : given === 'reject' ? Promise.reject(new Error('Provider not active')) : hangs();
              },
            });

          async function open(readyAtOnce: boolean, answer: (index: number) => HostAnswer): Promise<SimPage> {
            const locks = manager.client();
            const stats = createDeliveryStats();
            const pageId = `00000000-0000-4000-8000-${String(pages++).padStart(12, '0')}`;
            let ready!: () => void;
            const readiness = readyAtOnce ? ({ kind: 'client' } as const) : ({ kind: 'promise', ready: new Promise<void>((r) => (ready = r)) } as const);
            const dead = { crashed: false };
            // The page's view of the store: a crashed page's timers still run here, but a real one's code would not.
            const view: OutboxStore = {
              get length() {
                return dead.crashed ? 0 : store.length;
              },
              key: (index) => (dead.crashed ? null : store.key(index)),
              getItem: (key) => (dead.crashed ? null : store.getItem(key)),
              setItem: (key, value) => void (dead.crashed || store.setItem(key, value)),
              removeItem: (key) => void (dead.crashed || store.removeItem(key)),
            };
            const outbox = createOutbox({ store: view, name: 'widget' }, stats.outbox, { locks: locks.locks, uuid: () => pageId, now: Date.now });
            const client = host(answer, dead);
            const engine = createDelivery(
              { ...DELIVERY_DEFAULTS, timeoutMillis: 1_000, readyTimeoutMillis: 5_000, retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 }, getClient: () => client, readiness, outbox: {}, random: () => 0.5 },
              stats,
              outbox,
            );
            // The page holds its lock before it admits calls: a crash loses only calls admitted in the moment before.
            await clock.tickAsync(0);
            const page: SimPage = {
              engine,
              stats,
              locks,
              ready: () => ready?.(),
              // Answers already given are heard first: a crash with a call at the host is the 'hang' answer's case.
              crash: async () => {
                await clock.tickAsync(0);
                dead.crashed = true;
                locks.crash();
                crashedHostErrors += stats.dropped.host_error;
              },
            };
            return page;
          }

          let page = await open(true, (i) => answers[i % answers.length]!);
          for (const s of steps) {
            if (s.kind === 'admit') {
              const names = Array.from({ length: s.calls }, () => `K${admitted.length}`).map((_, i) => `K${admitted.length + i}`);
              admitted.push(...names);
              void page.engine.deliver(names.map(call));
            } else if (s.kind === 'tick') await clock.tickAsync(s.millis);
            else if (s.kind === 'jump') clock.setSystemTime(Date.now() + s.millis);
            else if (s.kind === 'ready') page.ready();
            else {
              if (s.kind === 'crash') await page.crash();
              else {
                const closing = page.engine.shutdown();
                await clock.tickAsync(1_000);
                await closing;
                ended.push(page);
              }
              page = await open(s.readyAtOnce, (i) => answers[i % answers.length]!);
            }
          }
          // A last page whose host answers every call sends whatever is left.
          await page.crash();
          const last = await open(true, () => 'ok');
          await clock.runAllAsync();
          const closing = last.engine.shutdown();
          await clock.runAllAsync();
          await closing;
          ended.push(last);

          const ok = handovers.filter((h) => h.answer === 'ok').map((h) => h.name);
          expect(new Set(ok).size, 'calls delivered twice').to.equal(ok.length);
          // After an answer or a silence, the host may have the call: it is never handed over again.
          for (const [i, h] of handovers.entries()) {
            if (h.answer !== 'reject') expect(handovers.slice(i + 1).map((later) => later.name), `handed over again after '${h.answer}'`).not.to.include(h.name);
          }
          // Each admitted call was delivered, or went silent at the host, or its last handover failed and counted as host_error.
          const last_ = new Map(handovers.map((h) => [h.name, h.answer]));
          expect(admitted.filter((name) => !last_.has(name)), 'never handed over').to.deep.equal([]);
          const hostErrors = ended.reduce((sum, p) => sum + p.stats.dropped.host_error, crashedHostErrors);
          expect([...last_.values()].filter((answer) => answer === 'reject').length, 'last handover rejected').to.equal(hostErrors);
          expect(store.contents(), 'left in the store').to.deep.equal({});
          for (const p of ended) expectBalanced(p.stats);
          expect(last.stats.outbox.expired).to.equal(0);
        } finally {
          clock.uninstall();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('resolves every deliver() and flush() once, and reports no more failures than calls dropped or kept, whatever the lock, the quota, the queue bound and the answers', async () => {
    const steps = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('deliver' as const), calls: fc.integer({ min: 1, max: 6 }) }),
        fc.record({ kind: fc.constant('tick' as const), millis: fc.integer({ min: 0, max: 8_000 }) }),
        fc.record({ kind: fc.constant('ready' as const) }),
        fc.record({ kind: fc.constant('flush' as const) }),
      ),
      { maxLength: 25 },
    );
    const locks = fc.constantFrom('granted', 'silent', 'refused');
    await fc.assert(
      fc.asyncProperty(steps, locks, fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 1, max: 12 }), fc.array(fc.constantFrom<HostAnswer>('ok', 'reject', 'hang'), { minLength: 1, maxLength: 5 }), async (steps, lock, quotaBytes, maxQueueSize, answers) => {
        const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
        try {
          // Room for the probe, then for a few calls at most.
          const store = new MemoryStore(quotaBytes + 100);
          const lockManager: OutboxLocks =
            lock === 'granted' ? createLockManager().client().locks : lock === 'silent' ? { request: () => new Promise(() => {}) } : { request: () => Promise.reject(new Error('lock manager broken')) };
          const stats = createDeliveryStats();
          const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: lockManager, uuid: () => '00000000-0000-4000-8000-000000000000' });
          let answered = 0;
          const client = new RecordingCifClient({
            answer: () => {
              const given = answers[answered++ % answers.length];
              return given === 'ok' ? Promise.resolve('') : given === 'reject' ? Promise.reject(new Error('Provider not active')) : hangs();
            },
          });
          let ready!: () => void;
          const readiness = { kind: 'promise', ready: new Promise<void>((r) => (ready = r)) } as const;
          const engine = createDelivery(
            { ...DELIVERY_DEFAULTS, maxQueueSize, timeoutMillis: 1_000, readyTimeoutMillis: 5_000, retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 }, getClient: () => client, readiness, outbox: {}, random: () => 0.5 },
            stats,
            outbox,
          );
          const reports: DeliveryReport[][] = [];
          let flushes = 0;
          let flushed = 0;
          let admitted = 0;
          for (const s of steps) {
            if (s.kind === 'deliver') {
              const got: DeliveryReport[] = [];
              reports.push(got);
              void engine.deliver(Array.from({ length: s.calls }, () => call(`K${admitted++}`))).then((report) => got.push(report));
            } else if (s.kind === 'tick') await clock.tickAsync(s.millis);
            else if (s.kind === 'ready') ready();
            else {
              flushes++;
              void engine.flush().then(() => flushed++);
            }
          }
          const closing = engine.shutdown();
          await clock.runAllAsync();
          await closing;
          expect(reports.map((got) => got.length), 'reports per deliver()').to.deep.equal(reports.map(() => 1));
          expect(flushed, 'flushes resolved').to.equal(flushes);
          const failed = reports.reduce((sum, [report]) => sum + report!.failed, 0);
          const dropped = DELIVERY_DROP_REASONS.reduce((sum, reason) => sum + stats.dropped[reason], 0);
          expect(failed, 'failures reported').to.be.at.most(dropped + stats.kpiEventsKept);
          expect(stats.kpiEventsPending).to.equal(0);
          expectBalanced(stats);
        } finally {
          clock.uninstall();
        }
      }),
      { numRuns: 150 },
    );
  });
});
