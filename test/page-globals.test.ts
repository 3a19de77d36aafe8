import FakeTimers from '@sinonjs/fake-timers';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import vm from 'node:vm';
import { CifSpanExporter, recordKpiEvent } from '../src/index.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { IDENTITY } from './helpers/spans.js';
import { unhandledRejectionsOf } from './helpers/unhandled.js';

/** One ended span of the real SDK with one KPI event, as a processor hands it to an exporter. */
function endedSpans() {
  const ended = new InMemorySpanExporter();
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] }));
  const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
  recordKpiEvent(span, 'CallAccepted');
  span.end();
  return ended.getFinishedSpans();
}

describe('a page whose globals other libraries replaced: Math, Promise, performance, Map', () => {
  it("settles a rejected call and leaves no unhandled rejection when the page's Math.random throws, as SES's hardened Math does", async () => {
    const spans = endedSpans();
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const random = Math.random;
    const results: ExportResult[] = [];
    let pending: number | undefined;
    let unhandled: unknown[] | undefined;
    try {
      const client = new RecordingCifClient({ answer: (_call, index) => (index === 0 ? Promise.reject(new Error('busy')) : 'ok') });
      const exporter = new CifSpanExporter({ client, outbox: false });
      Math.random = () => {
        throw new TypeError('secure mode %SharedMath.random() throws');
      };
      unhandled = await unhandledRejectionsOf(async () => {
        exporter.export(spans, (result) => results.push(result));
        await clock.tickAsync(60_000);
      });
      Math.random = random;
      const closed = exporter.shutdown();
      await clock.tickAsync(60_000);
      await closed;
      pending = exporter.getStats().kpiEventsPending;
    } finally {
      Math.random = random;
      clock.uninstall();
    }
    expect({ unhandled: unhandled?.map(String), results: results.length, pending }).to.deep.equal({ unhandled: [], results: 1, pending: 0 });
  });

  it("never rejects forceFlush() when the page's Promise.all takes arrays only, as es6-promise's and promise-polyfill's do", async () => {
    let answer!: (value: string) => void;
    const client = new RecordingCifClient({ answer: () => new Promise<string>((resolve) => (answer = resolve)) });
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const results: ExportResult[] = [];
    exporter.export(endedSpans(), (result) => results.push(result));
    const all = Promise.all;
    Promise.all = function (this: PromiseConstructor, values: unknown) {
      return Array.isArray(values) ? all.call(this, values) : Promise.reject(new TypeError('You must pass an array to all.'));
    } as typeof Promise.all;
    let flushed: Promise<void>;
    try {
      flushed = exporter.forceFlush();
    } finally {
      Promise.all = all;
    }
    const outcome = flushed.then(
      () => 'resolved',
      (error: unknown) => `rejected: ${String(error)}`,
    );
    answer('ok');
    expect(await outcome).to.equal('resolved');
    expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
  });

  it("times out a call the host never answers when the page's performance has no timeOrigin and its now() throws now and then", async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_800_000_000_000 });
    const pageLoadedAt = clock.now - 10_000;
    let readings = 0;
    const pagePerformance = {
      now: () => {
        if (++readings % 2 === 0) throw new Error('performance.now is not available right now');
        return clock.now - pageLoadedAt;
      },
    };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'performance')!;
    Object.defineProperty(globalThis, 'performance', { value: pagePerformance, configurable: true });
    let timedOut: number | undefined;
    try {
      const client = new RecordingCifClient({ answer: () => new Promise<string>(() => {}) });
      const exporter = new CifSpanExporter({ client, outbox: false, timeoutMillis: 15_000 });
      exporter.export(endedSpans(), () => {});
      await clock.tickAsync(16_000);
      timedOut = exporter.getStats().dropped.timed_out;
      const closed = exporter.shutdown();
      await clock.tickAsync(16_000);
      await closed;
    } finally {
      Object.defineProperty(globalThis, 'performance', saved);
      clock.uninstall();
    }
    expect(timedOut).to.equal(1);
  });

  it("tells a host rejection that is a Map of another frame by its message, as one of this frame's", async () => {
    const rejection = vm.runInNewContext('new Map([["message", "Provider is not active"]])') as unknown;
    const client = new RecordingCifClient({ answer: () => Promise.reject(rejection) });
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } }));
    const results: ExportResult[] = [];
    exporter.export(endedSpans(), (result) => results.push(result));
    await exporter.forceFlush();
    expect(results.map((result) => result.error?.message)).to.deep.equal(['1 of 1 logAnalyticsEvent calls failed: Provider is not active']);
  });
});
