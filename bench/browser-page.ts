/**
 * The bench's page in Chromium (`browser.ts` bundles it as test/browser bundles its fixtures): the
 * outbox over the page's own `localStorage` and `navigator.locks`, timed with the bench's harness.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter } from '../src/index.js';
import { handWrittenCalls } from './floor-calls.js';
import { alternate, type Rounds } from './harness.js';
import { grantingLocks, memoryStore, outboxCosts, type OutboxCost } from './outbox.js';
import type { FloorSending } from './floor.js';
import { KPI_EVENTS_PER_SPAN, SteppedHost, copyingHost, recordCallSpans } from './workload.js';

/** What the page measured, for `browser.ts`. */
export interface PageResults {
  /** Storing and removing each call over the page's `localStorage` and Web Locks, and over the in-memory stand-in. */
  perCall: { localStorage: OutboxCost; standIn: OutboxCost };
  /** Each round's median first slice, in milliseconds, of an export with the outbox on and with `outbox: false`. */
  firstSlices: { outboxOn: number[]; outboxOff: number[] };
  /** The same of its longest slice. */
  longestSlices: { outboxOn: number[]; outboxOff: number[] };
  /** The same of an export of one `maxConcurrentCalls` group, whose calls all go to the host in its first slice: a sample is the mean of `GROUP_EXPORTS` exports. */
  groupSlices: { outboxOn: number[]; outboxOff: number[]; exports: number };
  /** Of the calls of one export that waited for the host, the fewest and the most the outbox stored, and found no room for. */
  storedPerExport: { stored: [fewest: number, most: number]; full: [fewest: number, most: number] };
  /** The smallest step `performance.now()` takes in this page, in milliseconds. */
  timerStepMs: number;
  /**
   * Each round's median time of the whole batch in this page, in milliseconds: `export()` to its callback with
   * default options (the outbox on) and with `outbox: false`, the host copying each payload and answering at once;
   * and OTLP's serialize-and-encode of the same spans; and the KPI events the outbox stored, on average, of one export.
   */
  whole: { outboxOn: number[]; outboxOff: number[]; otlp: number[]; storedPerExport: number };
}

/**
 * The whole main-thread cost of the batch as the per-KPI-event table of the Node steps times it, in this page,
 * where the default options turn the outbox on: an exporter kept for every sample, its callback awaited.
 */
async function wholeCost(spans: ReadableSpan[], count: number, rounds: Rounds) {
  const exporting = async (outbox: boolean) => {
    const locks = await heldLocks();
    const exporter = new CifSpanExporter({ client: copyingHost(), ...(outbox ? {} : { outbox: false }) });
    for (let tries = 0; outbox && (await heldLocks()) === locks; tries++) {
      if (tries === 100) throw new Error('the outbox never held its lock');
      await nextTask();
    }
    const fn = () =>
      new Promise<void>((resolve, reject) =>
        exporter.export(spans, (r) => (r.code === ExportResultCode.SUCCESS ? resolve() : reject(new Error(`export failed: ${String(r.error)}`)))),
      );
    return { exporter, fn };
  };
  const on = await exporting(true);
  const off = await exporting(false);
  const medians = await alternate(
    [
      { name: 'on', fn: on.fn },
      { name: 'off', fn: off.fn },
      { name: 'otlp', fn: () => void JsonTraceSerializer.serializeRequest(spans) },
    ],
    rounds,
  );
  for (const { exporter } of [on, off]) {
    const s = exporter.getStats();
    if (s.callsMade % count !== 0 || s.kpiEventsDelivered !== s.callsMade || outboxKeys().length > 0) throw new Error(`whole cost: not every call delivered: ${JSON.stringify(s)}`);
  }
  // The outbox held its lock (checked above), so it wrote each call that waited for the host: with one answering at once, a few.
  const { callsMade, outbox } = on.exporter.getStats();
  return { outboxOn: medians.get('on')!, outboxOff: medians.get('off')!, otlp: medians.get('otlp')!, storedPerExport: (outbox.stored * count) / callsMade };
}

const channel = new MessageChannel();
const queued: Array<() => void> = [];
channel.port1.onmessage = () => queued.shift()?.();

/** Resolves in a later task (a `MessageChannel` message), once the microtasks queued before it have run. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    queued.push(resolve);
    channel.port2.postMessage(null);
  });
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The smallest step between distinct readings of `performance.now()`, over a thousand steps. */
function timerStep(): number {
  let step = Infinity;
  let last = performance.now();
  for (let steps = 0; steps < 1000; ) {
    const now = performance.now();
    if (now === last) continue;
    step = Math.min(step, now - last);
    last = now;
    steps++;
  }
  return step;
}

const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];
const outboxKeys = () => Object.keys(localStorage).filter((key) => key.startsWith('otel-cif/'));
const heldLocks = async () => (await navigator.locks.query()).held?.filter((lock) => lock.name?.startsWith('otel-cif/')).length ?? 0;

/** Exports of one group a sample of its first slice takes the mean of: `performance.now()` moves in steps of 100 µs in this page. */
const GROUP_EXPORTS = 20;

/**
 * One exporter with default options but `outbox`, kept for every sample as a page keeps it, whose
 * host answers one call per task. A sample is, of one export of `spans` (the mean of `exports`
 * exports), its first slice, from the call of `export()` until a task queued just before it runs
 * (`scheduler.postTask`, as the exporter's next part: the export's own task, microtasks
 * included); or with `longest`, the longest slice, its first or one of those that follow, each
 * timed from an answer until a task queued behind it runs (the answer and the export's tasks that
 * ran meanwhile). Each export is checked to hand the host one `maxConcurrentCalls` group in its
 * first slice, to make `count` calls, succeed and leave nothing stored.
 */
async function slicesOf(spans: ReadableSpan[], count: number, concurrency: number, outbox: boolean, longest: boolean, exports = 1) {
  const name = `${count} calls, ${outbox ? 'outbox on' : 'outbox: false'}${longest ? ', longest' : ''}`;
  const host = new SteppedHost();
  const locks = await heldLocks();
  const exporter = new CifSpanExporter({ client: host, ...(outbox ? {} : { outbox: false }) });
  /** Of each export, the KPI events its first slice sent and handed to the host, and those the export stored and found no room for. */
  const seen: Array<[sent: number, atHost: number, stored: number, full: number]> = [];
  const once = async (): Promise<number> => {
    const before = exporter.getStats();
    let result: ExportResult | undefined;
    // The exporter's next part waits behind this task: Chromium runs the tasks of `scheduler.postTask` in order.
    const firstEnds = scheduler.postTask(() => {});
    let began = performance.now();
    exporter.export(spans, (r) => (result = r));
    await firstEnds;
    let most = performance.now() - began;
    const after = exporter.getStats();
    const inSlice = [after.kpiEventsSent - before.kpiEventsSent, after.callsMade - before.callsMade];
    let answered = 0;
    for (;;) {
      began = performance.now();
      if (!host.answerOne()) break;
      answered++;
      await nextTask();
      if (longest) most = Math.max(most, performance.now() - began);
    }
    const { outbox: kept } = exporter.getStats();
    seen.push([inSlice[0]!, inSlice[1]!, kept.stored - before.outbox.stored, kept.notStored.full - before.outbox.notStored.full]);
    if (result?.code !== ExportResultCode.SUCCESS || answered !== count || outboxKeys().length > 0) {
      throw new Error(`${name}: ${answered} of ${count} calls answered, result ${JSON.stringify(result)}, ${outboxKeys().length} calls left stored`);
    }
    return most;
  };
  const sample = async (): Promise<number> => {
    let total = 0;
    for (let i = 0; i < exports; i++) total += await once();
    return total / exports;
  };
  // The outbox stores once this page holds its lock, a few tasks after the exporter is made.
  for (let tries = 0; outbox && (await heldLocks()) === locks; tries++) {
    if (tries === 100) throw new Error('the outbox never held its lock');
    await nextTask();
  }
  const group = Math.min(count, concurrency);
  const check = () => {
    // The first slice maps one group, whose calls all go to the host; a later call that waits for a slot the outbox stores
    // or finds no room for, as it stores none without the outbox.
    const waited = outbox ? count - group : 0;
    if (seen.some(([sent, atHost, stored, full]) => sent !== group || atHost !== group || stored + full > waited || (waited > 0 && stored === 0))) {
      throw new Error(`${name}: a first slice did not hand the host one group, or the outbox stored a call of it, or none that waited: ${seen.join('; ')}`);
    }
    return seen;
  };
  return { contender: { name, fn: async () => ({ overriddenDuration: await sample() }) }, check };
}

/** Measures, once the page's batch is checked to be the one whose floor was proven (`FloorSending`'s `payloads`). */
async function run({ count, payloads, concurrency }: Pick<FloorSending, 'count' | 'payloads' | 'concurrency'>, rounds: Rounds): Promise<PageResults> {
  const spans = await recordCallSpans();
  const calls = handWrittenCalls(spans);
  if ((await sha256(JSON.stringify(calls))) !== payloads) throw new Error('the page recorded another batch than the one whose floor was proven');

  const batch = await Promise.all([true, false].flatMap((outbox) => [false, true].map((longest) => slicesOf(spans, count, concurrency, outbox, longest))));
  const slices = await alternate(batch.map(({ contender }) => contender), rounds);
  const onFirst = batch[0]!.check();
  batch.slice(1).forEach(({ check }) => check());

  // One group: every call goes to the host in the first slice, so the outbox writes none.
  const groupSpans = spans.slice(0, Math.ceil(concurrency / KPI_EVENTS_PER_SPAN));
  const groupCount = handWrittenCalls(groupSpans).length;
  const groupOn = await slicesOf(groupSpans, groupCount, concurrency, true, false, GROUP_EXPORTS);
  const groupOff = await slicesOf(groupSpans, groupCount, concurrency, false, false, GROUP_EXPORTS);
  const groupSlices = await alternate([groupOn.contender, groupOff.contender], rounds);
  groupOn.check();
  groupOff.check();

  const whole = await wholeCost(spans, count, rounds);
  const perCall = await outboxCosts(calls, [{ name: 'localStorage' }, { name: 'stand-in', store: memoryStore(), locks: grantingLocks }], rounds);
  const of = (i: number) => slices.get(batch[i]!.contender.name)!;
  return {
    perCall: { localStorage: perCall.get('localStorage')!, standIn: perCall.get('stand-in')! },
    firstSlices: { outboxOn: of(0), outboxOff: of(2) },
    longestSlices: { outboxOn: of(1), outboxOff: of(3) },
    groupSlices: { outboxOn: groupSlices.get(groupOn.contender.name)!, outboxOff: groupSlices.get(groupOff.contender.name)!, exports: GROUP_EXPORTS },
    storedPerExport: { stored: range(onFirst.map(([, , stored]) => stored)), full: range(onFirst.map(([, , , full]) => full)) },
    timerStepMs: timerStep(),
    whole,
  };
}

Object.assign(window, { benchOutbox: { run } });
