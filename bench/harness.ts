import { Bench, type Fn } from 'tinybench';

/** A named piece of work for tinybench; it may return `{ overriddenDuration }` to time a part of itself. */
export interface Contender {
  name: string;
  fn: Fn;
}

export interface Rounds {
  rounds: number;
  /** Time each contender runs per round, in milliseconds. */
  timeMs: number;
}

/**
 * Times the contenders with tinybench, round after round, each round starting with the next
 * contender, so that a busy neighbour on a shared machine slows them alike. Gives each
 * contender's median latency per round, in milliseconds. With `collect`, the young generation is
 * emptied before each sample (`collectYoung`); samples of microseconds go without, as the
 * collection would take longer than they do.
 */
/** Whether tinybench runs a contender to warm it up, not to time it: what a contender keeps on the side leaves those runs out. */
export let warmingUp = false;

export async function alternate(contenders: readonly Contender[], { rounds, timeMs }: Rounds, collect = true): Promise<Map<string, number[]>> {
  const medians = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    // Tinybench warms each task up in the first round; the code stays compiled after that.
    const bench = new Bench({
      time: timeMs,
      iterations: 10,
      warmup: round === 0,
      warmupTime: timeMs / 2,
      throws: true,
      setup: (_task, mode) => void (warmingUp = mode === 'warmup'),
    });
    const start = round % contenders.length;
    for (const c of [...contenders.slice(start), ...contenders.slice(0, start)]) bench.add(c.name, c.fn, collect ? { beforeEach: collectYoung } : {});
    for (const task of await bench.run()) {
      if (task.result.state !== 'completed') throw new Error(`${task.name}: benchmark ${task.result.state}`);
      medians.get(task.name)!.push(task.result.latency.p50);
    }
  }
  return medians;
}

const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;

/**
 * Empties the young generation before each sample, outside its time, so that a sample pays for
 * the collection of its own garbage only, never for a neighbour's.
 */
function collectYoung(): void {
  if (!gc) throw new Error('the bench runs with `node --expose-gc`; run it through `npm run bench`');
  gc({ type: 'minor' });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = (sorted.length - 1) / 2;
  return (sorted[Math.floor(middle)]! + sorted[Math.ceil(middle)]!) / 2;
}

/** The median over rounds of `numerator / denominator`, each pair measured in the same round. */
export function medianRatio(numerator: readonly number[], denominator: readonly number[]): number {
  return median(numerator.map((n, i) => n / denominator[i]!));
}
