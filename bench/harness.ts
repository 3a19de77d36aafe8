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

/**
 * Runs the contenders one after another, round after round, starting each round with the next
 * contender, so a noisy neighbour or clock change on a shared machine hits every contender alike.
 */
export async function alternate(contenders: readonly Contender[], options: AlternateOptions): Promise<Map<string, Timing>> {
  const timings = new Map<string, Timing>(contenders.map((c) => [c.name, { roundMedians: [], samples: [] }]));
  for (let round = -1; round < options.rounds; round++) {
    const warmUp = round < 0;
    const bench = new Bench({
      time: warmUp ? options.timeMs / 2 : options.timeMs,
      iterations: 16,
      warmup: warmUp,
      retainSamples: true,
      throws: true,
    });
    const start = Math.max(round, 0) % contenders.length;
    for (const contender of [...contenders.slice(start), ...contenders.slice(0, start)]) {
      bench.add(contender.name, contender.fn);
    }
    await bench.run();
    if (warmUp) continue;
    for (const task of bench.tasks) {
      const { result } = task;
      if (result.state !== 'completed') throw new Error(`${task.name}: benchmark ${result.state}`);
      const timing = timings.get(task.name)!;
      timing.roundMedians.push(result.latency.p50);
      timing.samples.push(...(result.latency.samples ?? []));
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

/** Median over rounds of `numerator / denominator` measured in the same round. */
export function medianRatio(numerator: Timing, denominator: Timing): number {
  return median(numerator.roundMedians.map((n, i) => n / denominator.roundMedians[i]!));
}
