import { Bench } from 'tinybench';

/** A named piece of work to time; it returns something so the engine cannot drop the work. */
export interface Contender {
  name: string;
  fn: () => unknown;
}

/** One contender's timings over every measured round, in milliseconds. */
export interface Timing {
  /** Median latency of each round. */
  roundMedians: number[];
  /** Every sample of every measured round. */
  samples: number[];
}

export interface AlternateOptions {
  /** Measured rounds; one unmeasured warm-up round runs first. */
  rounds: number;
  /** Time each contender runs per round, in milliseconds. */
  timeMs: number;
}

/** One contender's latencies over one round, in milliseconds. */
export interface RoundResult {
  p50: number;
  samples: number[];
}

/** Times one contender for one round; where it runs (this thread or a worker) is its own affair. */
export interface Runner {
  name: string;
  run(timeMs: number, warmUp: boolean): Promise<RoundResult>;
}

/** Times `fn` with tinybench for about `timeMs`. */
export async function timeRound(name: string, fn: () => unknown, timeMs: number, warmUp: boolean): Promise<RoundResult> {
  const bench = new Bench({ time: warmUp ? timeMs / 2 : timeMs, iterations: 16, warmup: warmUp, retainSamples: true, throws: true });
  bench.add(name, fn);
  await bench.run();
  const { result } = bench.tasks[0]!;
  if (result.state !== 'completed') throw new Error(`${name}: benchmark ${result.state}`);
  return { p50: result.latency.p50, samples: [...(result.latency.samples ?? [])] };
}

/** A contender timed in this thread, sharing its heap with the others. */
export function inThisThread(contender: Contender): Runner {
  return { name: contender.name, run: (timeMs, warmUp) => timeRound(contender.name, contender.fn, timeMs, warmUp) };
}

/**
 * Runs the contenders one after another, round after round, starting each round with the next
 * contender, so a noisy neighbour or clock change on a shared machine hits every contender alike.
 */
export async function alternate(runners: readonly Runner[], options: AlternateOptions): Promise<Map<string, Timing>> {
  const timings = new Map<string, Timing>(runners.map((r) => [r.name, { roundMedians: [], samples: [] }]));
  for (let round = -1; round < options.rounds; round++) {
    const warmUp = round < 0;
    const start = Math.max(round, 0) % runners.length;
    for (const runner of [...runners.slice(start), ...runners.slice(0, start)]) {
      const result = await runner.run(options.timeMs, warmUp);
      if (warmUp) continue;
      const timing = timings.get(runner.name)!;
      timing.roundMedians.push(result.p50);
      timing.samples.push(...result.samples);
    }
  }
  return timings;
}

/** The `q` quantile (0..1) of `values`, interpolated between the nearest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The fastest round of `numerator` over the fastest round of `denominator`. */
export function bestRatio(numerator: Timing, denominator: Timing): number {
  return Math.min(...numerator.roundMedians) / Math.min(...denominator.roundMedians);
}

/** Median over rounds of `numerator / denominator` measured in the same round. */
export function medianRatio(numerator: Timing, denominator: Timing): number {
  return median(numerator.roundMedians.map((n, i) => n / denominator.roundMedians[i]!));
}
