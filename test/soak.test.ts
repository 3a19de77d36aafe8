import type { Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, type CifAnalyticsClient } from '../src/index.js';
import { DELIVERY_DROP_REASONS } from '../src/stats.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { expectBalanced, hangs, kpiNames, seededRandom } from './helpers/fake-client.js';
import { IDENTITY } from './helpers/spans.js';

const SPANS = 2_500;
const EVENTS_PER_SPAN = 4;
/**
 * Heap growth allowed over a run, in bytes. Measured on Node 20, 2 cores, over 16 runs of each
 * test: growth with nothing leaked ranged from -0.3 MB to 0.45 MB, and keeping every call's payload
 * of the first test cost 5.2 MB. The budget sits well clear of both, so that noise cannot fail it
 * and a leak of the calls cannot pass it.
 */
const HEAP_BUDGET = 2_500_000;

/** Heap in use after a full collection; needs node --expose-gc (see .mocharc.json). */
async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc to measure the heap');
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

function endSpans(tracer: Tracer, prefix: string, spans: number): void {
  for (let s = 0; s < spans; s++) {
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    for (let e = 0; e < EVENTS_PER_SPAN; e++) span.addEvent(`${prefix}${s}.${e}`);
    span.end();
  }
}

interface Outcome {
  exporter: CifSpanExporter;
  /** KPI event names the host accepted, and how often each. */
  timesDelivered: Map<string, number>;
}

/**
 * Sends `spans` spans through a real provider to a host that rejects 30% of first attempts.
 * Keeps the exporter, so that whatever it still holds after the run shows on the heap.
 */
async function soak(prefix: string, spans: number, seed: number): Promise<Outcome> {
  const random = seededRandom(seed);
  const timesDelivered = new Map<string, number>();
  const attempted = new Set<string>();
  const client: CifAnalyticsClient = {
    logAnalyticsEvent(data) {
      const names = kpiNames({ data, eventName: '', correlationId: undefined });
      const key = names.join();
      const first = !attempted.has(key);
      attempted.add(key);
      if (first && random() < 0.3) {
        return Promise.reject(random() < 0.5 ? 'host busy' : new Map([['message', 'try again']]));
      }
      for (const name of names) timesDelivered.set(name, (timesDelivered.get(name) ?? 0) + 1);
      return Promise.resolve('ok');
    },
  };
  const exporter = new CifSpanExporter({
    client,
    maxQueueSize: spans * EVENTS_PER_SPAN,
    retry: { maxAttempts: 3, initialBackoffMillis: 1, maxBackoffMillis: 4 },
  });
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: spans, scheduledDelayMillis: 1 })],
  });
  endSpans(provider.getTracer('soak'), prefix, spans);
  await provider.forceFlush();
  await provider.shutdown();
  attempted.clear();
  return { exporter, timesDelivered };
}

describe('soak', function () {
  this.timeout(30_000);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => process.off('unhandledRejection', onUnhandled));

  it(`delivers ${SPANS * EVENTS_PER_SPAN} KPI events exactly once through a host that rejects 30% of first attempts, and gives the heap back`, async () => {
    await soak('warmup', 200, 1);
    const before = await settledHeap();

    const { exporter, timesDelivered } = await soak('k', SPANS, 42);
    const stats = exporter.getStats();
    const total = SPANS * EVENTS_PER_SPAN;
    expect(timesDelivered.size).to.equal(total);
    expect([...timesDelivered.values()].filter((n) => n !== 1)).to.deep.equal([]);
    expectBalanced(stats);
    expect(stats).to.include({ kpiEventsSent: total, kpiEventsDelivered: total, kpiEventsPending: 0, callsFailed: 0 });
    for (const reason of DELIVERY_DROP_REASONS) expect(stats.dropped[reason], reason).to.equal(0);
    expect(stats.callsRetried).to.be.within(total * 0.25, total * 0.35);
    expect(stats.callsMade).to.equal(total + stats.callsRetried);
    expect(unhandled).to.deep.equal([]);

    timesDelivered.clear();
    const afterRun = await settledHeap();
    // The exporter is still alive, and holds nothing of the run once every call has settled.
    expect(afterRun - before, 'heap growth in bytes').to.be.below(HEAP_BUDGET);
    expect(exporter.getStats().spansSeen).to.equal(SPANS);
  });

  it('holds no more than its queue bound while the host never answers, and still shuts down', async () => {
    const stall = (spans: number) => {
      const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: hangs }), maxQueueSize: 100, timeoutMillis: 1_000 });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      endSpans(provider.getTracer('stall'), 'stall', spans);
      return exporter;
    };
    await stall(100).shutdown();
    const before = await settledHeap();
    const exporter = stall(SPANS);
    const stats = exporter.getStats();
    expectBalanced(stats);
    expect(stats).to.include({ callsQueued: 92, callsInFlight: 8, kpiEventsPending: 100 });
    expect(stats.dropped.queue_full).to.equal(SPANS * EVENTS_PER_SPAN - 100);
    // About 100 calls and their spans are held; the 9 900 dropped ones are garbage already.
    const held = await settledHeap();
    expect(held - before, 'heap growth in bytes').to.be.below(HEAP_BUDGET);
    await exporter.shutdown();
    expect(exporter.getStats()).to.include({ callsQueued: 0, callsInFlight: 0, kpiEventsPending: 0 });
    expect(unhandled).to.deep.equal([]);
  });
});
