import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { PerformanceObserver } from 'node:perf_hooks';
import { CifSpanExporter } from '../src/index.js';
import { TARGETS } from './budgets.js';
import { handWrittenCalls } from './floor-calls.js';
import { checkDelivered, exportOnce, sendCalls, type FloorSending } from './floor.js';
import { alternate, median, medianRatio, warmingUp, type Contender, type Rounds } from './harness.js';
import { ms, ratioTarget, times, type Section } from './report.js';
import { KPI_EVENTS_PER_SPAN, SteppedHost, nextTask } from './workload.js';

/** A task the page ran: when it began and ended (`performance.now()`). */
type Slice = [began: number, ended: number];

const duration = ([began, ended]: Slice) => ended - began;

/**
 * The longest slice of an export as its work makes it: for each slice (the first, the answer to
 * the first call, ...), its median over every export timed, then the longest of those. The longest
 * slice of each export alone is a maximum over thousands of tasks: on a shared machine it is
 * whichever task the OS preempted, not the export's work.
 */
function longestOfMedians(every: readonly number[][]): number {
  const n = Math.min(...every.map((slices) => slices.length));
  let most = 0;
  for (let i = 0; i < n; i++) most = Math.max(most, median(every.map((slices) => slices[i]!)));
  return most;
}

/** The garbage collector's pauses of the main thread, as V8 reports them, while slices are timed (`measureSlices`). */
const pauses: Slice[] = [];

/**
 * Runs one export against a host that answers one call per task and times each slice the page
 * spends on it: the first, until a task queued just before the export runs (the export's own task,
 * its microtasks included), then one per answer, until a task queued behind it runs (the answer,
 * and the export's tasks that ran meanwhile).
 */
async function sliceTimes(host: SteppedHost, start: () => Promise<unknown>): Promise<Slice[]> {
  const slices: Slice[] = [];
  let task = nextTask();
  let began = performance.now();
  const done = start();
  for (;;) {
    await task;
    const ended = performance.now();
    slices.push([began, ended]);
    began = ended;
    if (!host.answerOne()) break;
    task = nextTask();
  }
  // Every call is answered and its microtasks have run: an export still open would never end.
  if (!(await Promise.race([done.then(() => true), nextTask().then(() => false)]))) throw new Error('an export did not end once every call was answered');
  return slices;
}

/**
 * A contender whose tinybench sample is one slice of each export, which `pick` chooses; with
 * `gcPauses`, it also keeps, per sample, the garbage collector's pauses within that slice; with
 * `before`, it runs that untimed before each export.
 */
function sliced(
  name: string,
  start: (host: SteppedHost) => () => Promise<unknown>,
  pick: (slices: Slice[]) => Slice,
  gcPauses?: number[],
  every?: number[][],
  before?: () => Promise<unknown>,
): Contender {
  const host = new SteppedHost();
  const run = start(host);
  return {
    name,
    fn: async () => {
      await before?.();
      // A task first, so that what the harness's collection queued (Node's report of it to the gc observer) runs ahead of
      // the export, never in its first slice. A `before` export already ends a task later; the others did not.
      await nextTask();
      pauses.length = 0;
      const slices = await sliceTimes(host, run);
      if (!warmingUp) every?.push(slices.map(duration));
      const [began, ended] = pick(slices);
      if (gcPauses) {
        // V8 reports a pause after it ends: one task later, every pause in the slice is in.
        await nextTask();
        if (!warmingUp) gcPauses.push(pauses.reduce((sum, [from, to]) => sum + Math.max(0, Math.min(to, ended) - Math.max(from, began)), 0));
      }
      return { overriddenDuration: ended - began };
    },
  };
}

/** The range of the rounds' ratios `numerator / denominator`, and whether 1x is within it: then the verdict is the noise's. */
function spread(numerator: readonly number[], denominator: readonly number[]): string {
  const ratios = numerator.map((n, i) => n / denominator[i]!);
  const [low, high] = [Math.min(...ratios), Math.max(...ratios)];
  return `from ${times(low)} to ${times(high)}${low <= 1 && high >= 1 ? ', 1x within them' : ''}`;
}

const longest = (slices: Slice[]) => slices.reduce((a, b) => (duration(b) > duration(a) ? b : a));
const first = (slices: Slice[]) => slices[0]!;

/**
 * The page's longest synchronous slice while one large batch is sent, against the floor's; and
 * the export's first slice against that of an export of one `maxConcurrentCalls` group.
 */
export async function measureSlices(spans: ReadableSpan[], floor: FloorSending, rounds: Rounds): Promise<Section> {
  const groupSpans = spans.slice(0, Math.ceil(floor.concurrency / KPI_EVENTS_PER_SPAN));
  const timed: Array<[CifSpanExporter, number]> = [];
  const exporting = (batch: ReadableSpan[]) => (host: SteppedHost) => {
    const exporter = new CifSpanExporter({ client: host });
    timed.push([exporter, batch === spans ? floor.count : batch.length * KPI_EVENTS_PER_SPAN]);
    return () => exportOnce(exporter, batch);
  };
  const wholeHost = new SteppedHost();
  const wholeRun = exporting(spans)(wholeHost);
  const wholeExport = () => sliceTimes(wholeHost, wholeRun);
  const EXPORT_LONGEST = 'export(): longest slice';
  const EXPORT_FIRST = 'export(): first slice';
  const FLOOR_LONGEST = 'floor: longest slice';
  const GROUP_FIRST = `export() of ${groupSpans.length * KPI_EVENTS_PER_SPAN} KPI events (one group): first slice`;
  const exportPauses: number[] = [];
  const floorPauses: number[] = [];
  const exportEvery: number[][] = [];
  const floorEvery: number[][] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  const medians = await alternate(
    [
      sliced(EXPORT_LONGEST, exporting(spans), longest, exportPauses, exportEvery),
      sliced(EXPORT_FIRST, exporting(spans), first),
      sliced(FLOOR_LONGEST, (host) => () => sendCalls(host, handWrittenCalls(spans), floor), longest, floorPauses, floorEvery),
      // After an untimed export of the whole batch, as each export of the batch comes after the last: the first slice of
      // either starts from what a whole export leaves (a group's export timed after another runs about three times faster).
      sliced(GROUP_FIRST, exporting(groupSpans), first, undefined, undefined, wholeExport),
    ],
    rounds,
  ).finally(() => observer.disconnect());
  for (const [exporter, count] of timed) checkDelivered(exporter, count, 'slices');
  const of = (name: string) => median(medians.get(name)!);
  const rawOverFloor = medianRatio(medians.get(EXPORT_LONGEST)!, medians.get(FLOOR_LONGEST)!);
  const exportLongest = longestOfMedians(exportEvery);
  const floorLongest = longestOfMedians(floorEvery);
  const overFloor = exportLongest / floorLongest;
  const firstOverGroup = medianRatio(medians.get(EXPORT_FIRST)!, medians.get(GROUP_FIRST)!);
  return {
    id: 'slices',
    title: `Synchronous slices: one export of ${spans.length} spans x ${KPI_EVENTS_PER_SPAN} KPI events, host answering one call per task`,
    claim:
      `The longest slice the page runs while the batch is sent (the export's own task, or one host answer with the call it starts and the export's tasks that ran meanwhile), against the floor's; and the export's own task (mapping and admission of what the host takes at once, ${floor.concurrency} calls, as \`export()\` maps a large batch in parts, a task each) against that of an export of one \`maxConcurrentCalls\` group, timed after an untimed export of the whole batch as each export of the batch is after the last. The host copies each payload (\`structuredClone\`) and answers the oldest call in a task of its own.`,
    header: ['contender', 'median'],
    rows: [
      [EXPORT_LONGEST, ms(of(EXPORT_LONGEST))],
      ['of which the garbage collector paused the page', ms(median(exportPauses))],
      [FLOOR_LONGEST, ms(of(FLOOR_LONGEST))],
      ['of which the garbage collector paused the page', ms(median(floorPauses))],
      ['export() / floor, longest slice of each export', `${times(rawOverFloor)} (median of the rounds' ratios)`],
      ['export(): longest of the slices\' medians over every export', ms(exportLongest)],
      ['floor: the same', ms(floorLongest)],
      ['export() / floor, longest of the slices\' medians', times(overFloor)],
      [EXPORT_FIRST, ms(of(EXPORT_FIRST))],
      [GROUP_FIRST, ms(of(GROUP_FIRST))],
      ['first slice / one group\'s', `${times(firstOverGroup)} (median of the rounds' ratios, ${spread(medians.get(EXPORT_FIRST)!, medians.get(GROUP_FIRST)!)})`],
    ],
    notes: [
      `A first slice is timed until a task queued just before the export runs (\`setImmediate\`); every other slice until a task queued behind it runs, so each includes one turn of the event loop.`,
      "Garbage collector pauses: the median over every sample of the main-thread pauses V8 reports (`PerformanceObserver`, entry type `gc`) within the longest slice.",
      "Each row is timed over exports of its own: the longest slice of an export is never shorter than its first, but the medians of two rows may cross by noise.",
    ],
    values: {
      exportLongestMs: of(EXPORT_LONGEST),
      exportLongestGcMs: median(exportPauses),
      floorLongestMs: of(FLOOR_LONGEST),
      floorLongestGcMs: median(floorPauses),
      longestOverFloor: overFloor,
      exportLongestOfMediansMs: exportLongest,
      floorLongestOfMediansMs: floorLongest,
      longestOfEachOverFloor: rawOverFloor,
      exportFirstMs: of(EXPORT_FIRST),
      groupFirstMs: of(GROUP_FIRST),
      firstOverGroup,
    },
    targets: [
      ratioTarget('longest slice against the floor\'s', overFloor, TARGETS.longestSliceOverFloor, "the floor's"),
      ratioTarget("first slice against one group's", firstOverGroup, TARGETS.firstSliceOverGroup, "one group's"),
    ],
  };
}
