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
  /** The same of an export of one `maxConcurrentCalls` group, whose calls all go to the host in its first slice: a sample is the mean of `GROUP_EXPORTS` exports. */
  groupSlices: { outboxOn: number[]; outboxOff: number[]; exports: number };
  /** The fewest and the most KPI events the outbox stored in a timed first slice; the rest of the batch found no room. */
  storedInFirstSlice: [fewest: number, most: number];
  /** The smallest step `performance.now()` takes in this page, in milliseconds. */
  timerStepMs: number;
  /**
   * Each round's median time of the whole batch in this page, in milliseconds: `export()` to its callback with
   * default options (the outbox on) and with `outbox: false`, the host copying each payload and answering at once;
   * and OTLP's serialize-and-encode of the same spans.
   */
  whole: { outboxOn: number[]; outboxOff: number[]; otlp: number[] };
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
  if (on.exporter.getStats().outbox.stored === 0) throw new Error('whole cost: the default outbox stored nothing');
  return { outboxOn: medians.get('on')!, outboxOff: medians.get('off')!, otlp: medians.get('otlp')! };
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

const outboxKeys = () => Object.keys(localStorage).filter((key) => key.startsWith('otel-cif/'));
const heldLocks = async () => (await navigator.locks.query()).held?.filter((lock) => lock.name?.startsWith('otel-cif/')).length ?? 0;

/** Exports of one group a sample of its first slice takes the mean of: `performance.now()` moves in steps of 100 µs in this page. */
const GROUP_EXPORTS = 20;

/**
 * One exporter with default options but `outbox`, kept for every sample as a page keeps it, whose
 * host answers one call per task; a sample is the first slice of one export of `spans` (the mean
 * of `exports` exports): from the call of `export()` until a task queued behind it runs. The rest of
 * each export is answered untimed, and each export checked to make `count` calls, succeed and leave
 * nothing stored.
 */
async function firstSliceOf(spans: ReadableSpan[], count: number, outbox: boolean, exports = 1) {
  const name = `${count} calls, ${outbox ? 'outbox on' : 'outbox: false'}`;
  const host = new SteppedHost();
  const locks = await heldLocks();
  const exporter = new CifSpanExporter({ client: host, ...(outbox ? {} : { outbox: false }) });
  /** Of each export, the KPI events its first slice stored, found no room for, and handed to the host. */
  const inSlice: Array<[stored: number, full: number, atHost: number]> = [];
  const once = async (): Promise<number> => {
    const before = exporter.getStats();
    const [stored, full, made] = [before.outbox.stored, before.outbox.notStored.full, before.callsMade];
    let result: ExportResult | undefined;
    const began = performance.now();
    exporter.export(spans, (r) => (result = r));
    await nextTask();
    const ended = performance.now();
    const after = exporter.getStats();
    inSlice.push([after.outbox.stored - stored, after.outbox.notStored.full - full, after.callsMade - made]);
    let answered = 0;
    while (host.answerOne()) {
      answered++;
      await nextTask();
    }
    if (result?.code !== ExportResultCode.SUCCESS || answered !== count || outboxKeys().length > 0) {
      throw new Error(`${name}: ${answered} of ${count} calls answered, result ${JSON.stringify(result)}, ${outboxKeys().length} calls left stored`);
    }
    return ended - began;
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
  return { contender: { name, fn: async () => ({ overriddenDuration: await sample() }) }, inSlice };
}

/** Measures, once the page's batch is checked to be the one whose floor was proven (`FloorSending`'s `payloads`). */
async function run({ count, payloads, concurrency }: Pick<FloorSending, 'count' | 'payloads' | 'concurrency'>, rounds: Rounds): Promise<PageResults> {
  const spans = await recordCallSpans();
  const calls = handWrittenCalls(spans);
  if ((await sha256(JSON.stringify(calls))) !== payloads) throw new Error('the page recorded another batch than the one whose floor was proven');

  const on = await firstSliceOf(spans, count, true);
  const off = await firstSliceOf(spans, count, false);
  const slices = await alternate([on.contender, off.contender], rounds);
  // One call per KPI event. Each call admitted goes to the host in the slice, or is stored, or finds no room; the keys grow by a
  // digit now and then (a call's number), so how many fit varies a little. Without the outbox, none is stored.
  const stored = on.inSlice.map(([stored]) => stored);
  if (on.inSlice.some(([stored, full, atHost]) => stored === 0 || stored + full + atHost !== count) || off.inSlice.some(([stored, full]) => stored + full > 0)) {
    throw new Error(`a first slice did not hand over, store, or find no room for, each call it admitted: ${on.inSlice.join('; ')}`);
  }

  // One group: every call goes to the host in the first slice, so the outbox writes none.
  const groupSpans = spans.slice(0, Math.ceil(concurrency / KPI_EVENTS_PER_SPAN));
  const groupCount = handWrittenCalls(groupSpans).length;
  const groupOn = await firstSliceOf(groupSpans, groupCount, true, GROUP_EXPORTS);
  const groupOff = await firstSliceOf(groupSpans, groupCount, false, GROUP_EXPORTS);
  const groupSlices = await alternate([groupOn.contender, groupOff.contender], rounds);
  if ([...groupOn.inSlice, ...groupOff.inSlice].some(([stored, full, atHost]) => stored + full > 0 || atHost !== groupCount)) {
    throw new Error(`an export of one group did not hand each call to the host in its first slice, or the outbox wrote one: ${groupOn.inSlice.join('; ')}`);
  }

  const whole = await wholeCost(spans, count, rounds);
  const perCall = await outboxCosts(calls, [{ name: 'localStorage' }, { name: 'stand-in', store: memoryStore(), locks: grantingLocks }], rounds);
  return {
    perCall: { localStorage: perCall.get('localStorage')!, standIn: perCall.get('stand-in')! },
    firstSlices: { outboxOn: slices.get(on.contender.name)!, outboxOff: slices.get(off.contender.name)! },
    groupSlices: { outboxOn: groupSlices.get(groupOn.contender.name)!, outboxOff: groupSlices.get(groupOff.contender.name)!, exports: GROUP_EXPORTS },
    storedInFirstSlice: [Math.min(...stored), Math.max(...stored)],
    timerStepMs: timerStep(),
    whole,
  };
}

Object.assign(window, { benchOutbox: { run } });
