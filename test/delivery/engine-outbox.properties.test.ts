import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import fc from 'fast-check';
import { createDelivery, type DeliveryEngine } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox, type OutboxLocks, type OutboxStore } from '../../src/delivery/outbox.js';
import { pageCifClient, type ReadinessSource } from '../../src/delivery/readiness.js';
import type { DeliveryReport } from '../../src/delivery/report.js';
import { createDeliveryStats, DELIVERY_DROP_REASONS, type CifDeliveryStats } from '../../src/stats.js';
import { installFakeCIFramework, RecordingCifClient, type FakeCIFramework } from '../../src/testing/index.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';
import { expectBalanced, hangs, installCifWithoutInitDone, pageWindow, removePageCif } from '../helpers/fake-client.js';
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

/** A call named `name` that carries `events` KPI events. */
function call(name: string, events = 1): CifCall {
  return {
    data: {
      conversationId: 'conv',
      providerSessionId: 'prov',
      events: Array.from({ length: events }, (_, i) => ({ kpiEventName: events === 1 ? name : `${name}.${i}`, eventTimestamp: '2026-11-25T10:15:30.123Z' })),
    },
    eventName: name,
    correlationId: `corr-${name}`,
  };
}

/** A page's view of the shared `store`: once the page is `gone`, its timers still run here, but a real page's code would not. */
function viewOf(store: OutboxStore, gone: () => boolean): OutboxStore {
  return {
    get length() {
      return gone() ? 0 : store.length;
    },
    key: (index) => (gone() ? null : store.key(index)),
    getItem: (key) => (gone() ? null : store.getItem(key)),
    setItem: (key, value) => void (gone() || store.setItem(key, value)),
    removeItem: (key) => void (gone() || store.removeItem(key)),
  };
}

/** The timeout of a call at the host, and how long calls wait for CIF, in the tests below: short, so that random steps pass them. */
const TIMEOUT_MILLIS = 1_000;
const READY_TIMEOUT_MILLIS = 5_000;

/** KPI events dropped, summed over every reason. */
const droppedOf = (stats: CifDeliveryStats): number => DELIVERY_DROP_REASONS.reduce((sum, reason) => sum + stats.dropped[reason], 0);

/** Checks the balance of `getStats()` at this moment, and that no counter went below 0. */
function expectBalancedNow(stats: CifDeliveryStats): void {
  expectBalanced(stats);
  expect(stats.kpiEventsPending, 'kpiEventsPending').to.be.at.least(0);
  expect(stats.kpiEventsKept, 'kpiEventsKept').to.be.at.least(0);
  for (const reason of DELIVERY_DROP_REASONS) expect(stats.dropped[reason], `dropped.${reason}`).to.be.at.least(0);
}

/** A page of the widget in one tab, as the step-by-step test drives it. */
interface TabPage {
  engine: DeliveryEngine;
  stats: CifDeliveryStats;
  locks: LockClient;
  /** Makes CIF ready on a page opened without it. */
  ready: () => void;
  /** Reloaded: its engine is dropped without shutdown, its locks go, and it never touches the store or the host again. */
  gone: boolean;
  /** Its `shutdown()` resolved: it waits for no call at the host any more. */
  closed: boolean;
  /** Its counters when it went; the last ones are read for a page that did not. */
  final?: CifDeliveryStats;
  /** Whether it has an outbox: not when the store failed its test write. */
  outbox: boolean;
  /**
   * KPI events the page still had when it went that no store holds, so that no page delivers or
   * drops them: at the host and still waited for, or any call without an outbox.
   */
  lost: number;
  flushes: number;
  flushed: number;
}

/** One handover of a call to the host by a page, and what became of it there. */
interface Handover {
  name: string;
  events: number;
  page: TabPage;
  /** When it was handed over, on the engine's clock. */
  at: number;
  /**
   * `open` until the host answers, `never` if it will not; `ok` or `reject` when it answered while the
   * page waited for it, `late` when after (timed out, or let go at shutdown); `orphan` when the page went first.
   */
  state: 'open' | 'never' | 'ok' | 'reject' | 'late' | 'orphan';
  answer: (error?: Error) => void;
}

describe('delivery with the outbox, properties', function () {
  // CPU-bound: about 4 s for the longest idle, over 20 s on a core shared with two busy processes.
  this.timeout(60_000);
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
            const dead = { crashed: false };
            const outbox = createOutbox({ store: viewOf(store, () => dead.crashed), name: 'widget' }, stats.outbox, { locks: locks.locks, uuid: () => pageId, now: Date.now });
            const client = host(answer, dead);
            const readiness: ReadinessSource = readyAtOnce ? { client } : { ready: new Promise<void>((r) => (ready = r)) };
            const engine = createDelivery(
              { ...DELIVERY_DEFAULTS, timeoutMillis: 1_000, readyTimeoutMillis: 5_000, retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 }, getClient: () => client, ...readiness, outbox: {}, random: () => 0.5 },
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
              void page.engine.deliver(names.map((name) => call(name)));
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
          const engine = createDelivery(
            { ...DELIVERY_DEFAULTS, maxQueueSize, timeoutMillis: 1_000, readyTimeoutMillis: 5_000, retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 }, getClient: () => client, ready: new Promise<void>((r) => (ready = r)), outbox: {}, random: () => 0.5 },
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

  it('keeps getStats() balanced after every step of pages reloaded, shut down and answered at random, hands no call over again unless rejected, and accounts for every call at the end', async () => {
    const tab = fc.integer({ min: 0, max: 1 });
    const steps = fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), tab, events: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }) }) },
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), answer: fc.constantFrom('ok' as const, 'reject' as const, 'never' as const) }) },
        // Past a call's timeout, a backoff (100 to 200 ms), or the wait for CIF, or just short of them.
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), millis: fc.oneof(fc.constantFrom(0, 1, 100, 200, 999, 1_000, 5_000), fc.integer({ min: 0, max: 6_000 })) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('ready' as const), tab }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), tab, readyAtOnce: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('shutdown' as const), tab }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const), tab }) },
        // The store throws at every removal from now on (and still holds the entry), or no longer does.
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('sticky' as const), on: fc.boolean() }) },
      ),
      { maxLength: 60, size: 'max' },
    );
    await fc.assert(
      fc.asyncProperty(steps, fc.boolean(), async (steps, twoTabs) => {
        const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
        try {
          let sticky = false;
          const store = Object.assign(new MemoryStore(), {
            removeItem(key: string) {
              if (sticky) throw new DOMException('denied', 'SecurityError');
              MemoryStore.prototype.removeItem.call(this, key);
            },
          });
          const manager = createLockManager();
          const pages: TabPage[] = [];
          const handovers: Handover[] = [];
          /** KPI events of each call admitted, by name. */
          const admitted = new Map<string, number>();
          /** Calls handed over while an earlier handover of theirs was not rejected in time. */
          const again: string[] = [];
          /** From the end of the steps on, the host resolves each call as it gets it. */
          let answerAtOnce = false;

          /** Whether the page still waits for the host's answer to `h`: else it timed the call out, shut down, or went. */
          const waited = (h: Handover): boolean => (h.state === 'open' || h.state === 'never') && !h.page.gone && !h.page.closed && performance.now() < h.at + TIMEOUT_MILLIS;

          async function open(readyAtOnce: boolean): Promise<TabPage> {
            const locks = manager.client();
            const stats = createDeliveryStats();
            const pageId = `00000000-0000-4000-8000-${String(pages.length).padStart(12, '0')}`;
            let ready: (() => void) | undefined;
            const page: TabPage = { engine: undefined!, stats, locks, ready: () => ready?.(), gone: false, closed: false, outbox: false, lost: 0, flushes: 0, flushed: 0 };
            const client = new RecordingCifClient({
              answer: ({ eventName: name }) => {
                if (page.gone) return hangs();
                if (handovers.some((h) => h.name === name && h.state !== 'reject')) again.push(name);
                let answer!: (error?: Error) => void;
                const given = new Promise<string>((resolve, reject) => (answer = (error) => (error ? reject(error) : resolve(''))));
                const h: Handover = { name, events: admitted.get(name)!, page, at: performance.now(), state: 'open', answer };
                handovers.push(h);
                if (answerAtOnce) {
                  h.state = 'ok';
                  answer();
                }
                return given;
              },
            });
            const outbox = createOutbox({ store: viewOf(store, () => page.gone), name: 'widget' }, stats.outbox, { locks: locks.locks, uuid: () => pageId, now: Date.now });
            page.outbox = outbox !== undefined;
            page.engine = createDelivery(
              {
                ...DELIVERY_DEFAULTS,
                timeoutMillis: TIMEOUT_MILLIS,
                readyTimeoutMillis: READY_TIMEOUT_MILLIS,
                maxConcurrentCalls: 2,
                maxQueueSize: 8,
                retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 },
                getClient: () => client,
                ...(readyAtOnce ? { client } : { ready: new Promise<void>((r) => (ready = r)) }),
                outbox: {},
                random: () => 0.5,
              },
              stats,
              outbox,
            );
            pages.push(page);
            // The page holds its lock before it admits calls: a reload loses only calls admitted in the moment before.
            await clock.tickAsync(0);
            return page;
          }

          /** Ends a page as a reload does, at once: what it waited for at the host is lost with it. */
          function reload(page: TabPage): void {
            for (const h of handovers) {
              if (h.page !== page || (h.state !== 'open' && h.state !== 'never')) continue;
              if (waited(h)) page.lost += h.events;
              h.state = 'orphan';
            }
            page.final = structuredClone(page.stats);
            if (!page.outbox) page.lost = page.final.kpiEventsPending;
            page.gone = true;
            page.locks.crash();
          }

          function expectBalancedAll(): void {
            for (const page of pages) if (!page.gone) expectBalancedNow(page.stats);
            expect(again, 'handed over again').to.deep.equal([]);
          }

          const tabs = [await open(true)];
          if (twoTabs) tabs.push(await open(false));
          for (const s of steps) {
            if (s.kind === 'tick') await clock.tickAsync(s.millis);
            else if (s.kind === 'sticky') sticky = s.on;
            else if (s.kind === 'answer') {
              const open = handovers.filter((h) => h.state === 'open');
              const h = open[s.pick % Math.max(1, open.length)];
              if (h && s.answer === 'never') h.state = 'never';
              else if (h) {
                const before = h.page.stats.kpiEventsDelivered;
                const heard = waited(h);
                h.state = heard ? s.answer : 'late';
                h.answer(s.answer === 'ok' ? undefined : new Error('Provider not active'));
                await clock.tickAsync(0);
                expect(h.page.stats.kpiEventsDelivered - before, `delivered on the answer to ${h.name}`).to.equal(heard && s.answer === 'ok' ? h.events : 0);
              }
            } else if (s.kind === 'reload') {
              // A reload ends a task, not one under way: the calls of the task before are in the store (its microtasks ran).
              await Promise.resolve();
              const page = tabs[s.tab];
              if (page) reload(page);
              tabs[s.tab] = await open(s.readyAtOnce);
            } else {
              const page = tabs[s.tab] ?? tabs[0]!;
              if (s.kind === 'deliver') {
                const calls = s.events.map((events) => {
                  const name = `K${admitted.size}`;
                  admitted.set(name, events);
                  return call(name, events);
                });
                void page.engine.deliver(calls);
              } else if (s.kind === 'ready') page.ready();
              else if (s.kind === 'flush') {
                page.flushes++;
                void page.engine.flush().then(() => page.flushed++);
              } else if (!page.engine.isClosed) void page.engine.shutdown().then(() => (page.closed = true));
            }
            expectBalancedAll();
          }

          // The end: the host answers what it still has and every later call, CIF becomes ready, and every timer runs.
          answerAtOnce = true;
          sticky = false;
          for (const h of handovers.filter((h) => h.state === 'open')) {
            h.state = waited(h) ? 'ok' : 'late';
            h.answer();
          }
          for (const page of tabs) page.ready();
          await clock.runAllAsync();
          expectBalancedAll();
          for (const page of tabs) if (!page.engine.isClosed) void page.engine.shutdown().then(() => (page.closed = true));
          await clock.runAllAsync();
          // Later pages send what the others kept, a queue (maxQueueSize) at a time: a page keeps the calls it replays past it.
          for (let left = store.length; left > 0 && pages.length < 100; ) {
            const last = await open(true);
            await clock.runAllAsync();
            const closing = last.engine.shutdown();
            await clock.runAllAsync();
            await closing;
            expect(store.length, 'calls a page left for the next one').to.be.below(left);
            left = store.length;
          }
          expectBalancedAll();

          const counters = pages.map((page) => page.final ?? page.stats);
          const sum = (of: (stats: CifDeliveryStats) => number): number => counters.reduce((total, stats) => total + of(stats), 0);
          const delivered = handovers.filter((h) => h.state === 'ok');
          expect(new Set(delivered.map((h) => h.name)).size, 'calls delivered twice').to.equal(delivered.length);
          expect(sum((stats) => stats.kpiEventsDelivered), 'kpiEventsDelivered').to.equal(delivered.reduce((total, h) => total + h.events, 0));
          expect(store.contents(), 'left in the store').to.deep.equal({});
          const events = [...admitted.values()].reduce((total, n) => total + n, 0);
          expect(sum((stats) => stats.kpiEventsSent), 'kpiEventsSent').to.equal(events);
          // Each KPI event is delivered, dropped for a reason, or went with its page (at the host, or in memory without an outbox).
          const lost = pages.reduce((total, page) => total + page.lost, 0);
          expect(sum((stats) => stats.kpiEventsDelivered + droppedOf(stats)) + lost, 'delivered, dropped or lost with its page').to.equal(events);
          // What a page kept or left in the store when it went, a later page replayed.
          const left = pages.reduce((total, page) => total + (page.gone ? page.final!.kpiEventsPending - page.lost : 0), 0);
          expect(sum((stats) => stats.outbox.replayed), 'replayed').to.equal(sum((stats) => stats.kpiEventsKept) + left);
          for (const page of pages) {
            if (page.gone) continue;
            expect(page.stats.kpiEventsPending, 'kpiEventsPending at the end').to.equal(0);
            expect(page.flushed, 'flushes resolved').to.equal(page.flushes);
          }
        } finally {
          clock.uninstall();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ends every KPI event admitted before a late CIF library is ready, this page\'s or one an earlier page left, delivered once, dropped for a reason, or kept in the store, whenever the library starts, or if it never does', async () => {
    // Milliseconds from the page's start, around its readyTimeoutMillis.
    const at = fc.oneof(fc.constantFrom(0, READY_TIMEOUT_MILLIS - 1, READY_TIMEOUT_MILLIS, READY_TIMEOUT_MILLIS + 1), fc.integer({ min: 0, max: 3 * READY_TIMEOUT_MILLIS }));
    const library = fc.oneof(
      // Defined at `loadAt`, failing calls until it raises CIFInitDone `startAfter` later.
      fc.record({ kind: fc.constant('event' as const), loadAt: at, startAfter: at }),
      // Defined at `loadAt` and answering at once, but it never raises CIFInitDone.
      fc.record({ kind: fc.constant('silent' as const), loadAt: at }),
      // The `ready` option, with a `client`: resolved at `readyAt`.
      fc.record({ kind: fc.constant('promise' as const), readyAt: at }),
      fc.constant({ kind: 'never' as const }),
    );
    const events = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 });
    // The page before: its calls, how long it lived (its library never came), and how it ended.
    const earlier = fc.record({ calls: fc.option(events, { nil: undefined }), lived: at, ending: fc.constantFrom('reload', 'shutdown') });
    const steps = fc.array(fc.oneof(fc.record({ kind: fc.constant('deliver' as const), events }), fc.record({ kind: fc.constant('tick' as const), millis: at })), { maxLength: 10 });
    const answers = fc.array(fc.constantFrom<HostAnswer>('ok', 'ok', 'reject', 'hang'), { minLength: 1, maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(library, earlier, steps, answers, async (library, earlier, steps, answers) => {
        const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
        const pageEvents = pageWindow();
        let fake: FakeCIFramework | undefined;
        try {
          const store = new MemoryStore();
          const manager = createLockManager();
          /** KPI events of each call admitted, by name. */
          const admitted = new Map<string, number>();
          /** Every handover of a call, in order: when, on the page's clock from its start, and what the host did with it. */
          const handovers: Array<{ name: string; at: number; answer: HostAnswer }> = [];
          let startedAt = 0;
          const host = new RecordingCifClient({
            answer: ({ eventName: name }) => {
              const given = answers[handovers.length % answers.length]!;
              handovers.push({ name, at: performance.now() - startedAt, answer: given });
              return given === 'ok' ? Promise.resolve('') : given === 'reject' ? Promise.reject(new Error('Provider not active')) : hangs();
            },
          });
          const pages: Array<{ stats: CifDeliveryStats; final?: CifDeliveryStats }> = [];

          async function open(readiness: ReadinessSource, getClient: () => CifAnalyticsClient | undefined, gone = { value: false }) {
            const locks = manager.client();
            const stats = createDeliveryStats();
            const pageId = `00000000-0000-4000-8000-${String(pages.length).padStart(12, '0')}`;
            const outbox = createOutbox({ store: viewOf(store, () => gone.value), name: 'widget' }, stats.outbox, { locks: locks.locks, uuid: () => pageId, now: Date.now });
            const engine = createDelivery(
              {
                ...DELIVERY_DEFAULTS,
                timeoutMillis: TIMEOUT_MILLIS,
                readyTimeoutMillis: READY_TIMEOUT_MILLIS,
                retry: { maxAttempts: 2, initialBackoffMillis: 100, maxBackoffMillis: 200 },
                getClient: () => (gone.value ? undefined : getClient()),
                ...readiness,
                outbox: {},
                random: () => 0.5,
              },
              stats,
              outbox,
            );
            const page = { engine, stats, locks, final: undefined as CifDeliveryStats | undefined };
            pages.push(page);
            await clock.tickAsync(0);
            return page;
          }
          const deliver = (engine: DeliveryEngine, events: number[]) =>
            void engine.deliver(
              events.map((n) => {
                const name = `K${admitted.size}`;
                admitted.set(name, n);
                return call(name, n);
              }),
            );

          // The page before looks for the library, which is not there yet.
          const gone = { value: false };
          const first = await open({}, pageCifClient, gone);
          if (earlier.calls) deliver(first.engine, earlier.calls);
          await clock.tickAsync(earlier.lived);
          expectBalancedNow(first.stats);
          if (earlier.ending === 'shutdown') {
            const closing = first.engine.shutdown();
            await clock.runAllAsync();
            await closing;
          } else {
            first.final = structuredClone(first.stats);
            gone.value = true;
            first.locks.crash();
          }

          // This page, and its library, from now on.
          startedAt = performance.now();
          let readiness: ReadinessSource = {};
          let getClient: () => CifAnalyticsClient | undefined = pageCifClient;
          if (library.kind === 'event') setTimeout(() => (fake = installFakeCIFramework(globalThis, host, { startAfterMillis: library.startAfter })), library.loadAt);
          else if (library.kind === 'silent') setTimeout(() => installCifWithoutInitDone(host), library.loadAt);
          else if (library.kind === 'promise') {
            readiness = { ready: new Promise<void>((resolve) => setTimeout(resolve, library.readyAt)) };
            getClient = () => host;
          }
          const page = await open(readiness, getClient);
          for (const s of steps) {
            if (s.kind === 'deliver') deliver(page.engine, s.events);
            else await clock.tickAsync(s.millis);
            expectBalancedNow(page.stats);
          }
          await clock.runAllAsync();
          expectBalancedNow(page.stats);
          const closing = page.engine.shutdown();
          await clock.runAllAsync();
          await closing;
          expectBalancedNow(page.stats);

          const delivered = handovers.filter((h) => h.answer === 'ok').map((h) => h.name);
          expect(new Set(delivered).size, 'calls delivered twice').to.equal(delivered.length);
          for (const [i, h] of handovers.entries()) {
            if (h.answer !== 'reject') expect(handovers.slice(i + 1).map((later) => later.name), `handed over again after '${h.answer}'`).not.to.include(h.name);
          }
          const kept = Object.values(store.contents()).map((value) => (value as [number, number, CifCall])[2].eventName);
          expect(new Set(kept).size, 'calls stored twice').to.equal(kept.length);
          expect(kept.filter((name) => delivered.includes(name)), 'delivered and still stored').to.deep.equal([]);
          const eventsOf = (names: string[]): number => names.reduce((total, name) => total + admitted.get(name)!, 0);
          const counters = pages.map((p) => p.final ?? p.stats);
          const sum = (of: (stats: CifDeliveryStats) => number): number => counters.reduce((total, stats) => total + of(stats), 0);
          expect(sum((stats) => stats.kpiEventsDelivered), 'kpiEventsDelivered').to.equal(eventsOf(delivered));
          expect(sum((stats) => stats.kpiEventsSent), 'kpiEventsSent').to.equal(eventsOf([...admitted.keys()]));
          expect(eventsOf(delivered) + sum(droppedOf) + eventsOf(kept), 'delivered, dropped or kept').to.equal(eventsOf([...admitted.keys()]));
          // What the page before left, and what either page kept, this page replayed or left in the store.
          expect(sum((stats) => stats.outbox.replayed) + eventsOf(kept), 'replayed or left').to.equal(sum((stats) => stats.kpiEventsKept) + (first.final?.kpiEventsPending ?? 0));
          // The `ready` option holds every call until it resolves, past readyTimeoutMillis too.
          if (library.kind === 'promise') expect(handovers.filter((h) => h.at < library.readyAt).map((h) => h.name), 'called before ready').to.deep.equal([]);
          // With no library, the outbox keeps every call: none is dropped as cif_not_loaded.
          if (library.kind === 'never') expect(kept.sort(), 'kept without a library').to.deep.equal([...admitted.keys()].sort());
        } finally {
          fake?.uninstall();
          removePageCif();
          pageEvents.restore();
          clock.uninstall();
        }
      }),
      { numRuns: 300 },
    );
  });
});
