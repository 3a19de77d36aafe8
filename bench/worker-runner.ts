import { Worker, parentPort } from 'node:worker_threads';
import { timeRound, type RoundResult, type Runner } from './harness.js';

interface RoundRequest {
  timeMs: number;
  warmUp: boolean;
}

/**
 * A contender timed in a worker thread of its own, so it has a V8 heap of its own: another
 * contender's garbage cannot change how V8 collects or places its allocations.
 */
export function inWorker(name: string, module: URL): Runner & { close(): Promise<number> } {
  const worker = startWorker(module, { name });
  let waiting: { resolve: (result: RoundResult) => void; reject: (error: Error) => void } | undefined;
  worker.on('message', (result: RoundResult) => waiting?.resolve(result));
  worker.on('error', (error) => waiting?.reject(error));
  return {
    name,
    run(timeMs, warmUp) {
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        worker.postMessage({ timeMs, warmUp } satisfies RoundRequest);
      });
    },
    close: () => worker.terminate(),
  };
}

/** Starts the TypeScript module `module` in a worker thread of its own. */
export function startWorker(module: URL, workerData: unknown): Worker {
  // The benchmark runs TypeScript through tsx, whose loader a worker has to register for itself.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** In a worker module: times `fn` for each round the main thread asks for. */
export function serveRounds(name: string, fn: () => unknown): void {
  if (!parentPort) throw new Error('serveRounds runs in a worker thread');
  const port = parentPort;
  port.on('message', ({ timeMs, warmUp }: RoundRequest) => {
    void timeRound(name, fn, timeMs, warmUp).then((result) => port.postMessage(result));
  });
}
