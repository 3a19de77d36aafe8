// Page globals as hostile input (docs/delivery.md "Hostile input"): none can make `export()` throw,
// leave a promise rejection unhandled or a KPI event pending; the constructors throw only a
// TypeError for an invalid option.
import { diag } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent } from '../src/index.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureLevels } from './helpers/diag.js';
import { expectBalanced } from './helpers/fake-client.js';
import { withPageGlobals } from './helpers/page-globals.js';
import { useFakeClock } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';
import { unhandledRejectionsOf } from './helpers/unhandled.js';
import { createLockManager, MemoryStore } from './helpers/web-storage.js';

describe('page globals that fail together or in part: a lock manager, the clocks, AbortController', () => {
  const fake = useFakeClock();

  /** One ended span of the real SDK with one KPI event, made while the page's globals still work. */
  function endedSpans(): ReadableSpan[] {
    const ended = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ended)] });
    const span = provider.getTracer('softphone').startSpan('accept call', { attributes: IDENTITY });
    recordKpiEvent(span, 'CallAccepted');
    span.end();
    return ended.getFinishedSpans();
  }

  // A proxied or hardened navigator: a lock manager whose `request` cannot be read is none.
  it('constructs an exporter, saying why there is no outbox, where the page\'s navigator.locks has a request getter that throws', () => {
    const lines = captureLevels();
    const locks = {
      get request(): never {
        throw new Error('navigator.locks is not allowed here');
      },
    };
    let made: CifSpanExporter | undefined;
    try {
      withPageGlobals({ navigator: { locks } }, () => {
        expect(() => (made = new CifSpanExporter({ client: new RecordingCifClient(), outbox: { store: new MemoryStore(), name: 'widget' } }))).not.to.throw();
      });
    } finally {
      diag.disable();
    }
    fake.closeables.push(made!);
    expect(lines.filter((line) => line.startsWith('debug no outbox: ')), 'the DEBUG line saying why').to.have.length(1);
  });

  // An SES compartment has no `performance` unless endowed, and its `Date.now` throws: no clock gives a time.
  it('never throws from export(), and settles its KPI event, on a page with no performance whose Date.now throws (an SES compartment)', async () => {
    const spans = endedSpans();
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false });
    fake.closeables.push(exporter);
    const results: ExportResult[] = [];
    const { now } = Date;
    let thrown: unknown;
    const unhandled = await unhandledRejectionsOf(async () => {
      await withPageGlobals({ performance: undefined }, async () => {
        Date.now = () => {
          throw new TypeError('secure mode Calling %SharedDate.now() throws');
        };
        try {
          try {
            exporter.export(spans, (result) => results.push(result));
          } catch (error) {
            thrown = error;
          }
          await fake.clock.tickAsync(60_000);
        } finally {
          Date.now = now;
        }
      });
    });
    const stats = exporter.getStats();
    expect({ thrown: thrown === undefined ? undefined : String(thrown), unhandled: unhandled.map(String), results: results.length, sent: stats.kpiEventsSent, pending: stats.kpiEventsPending }).to.deep.equal({
      thrown: undefined,
      unhandled: [],
      results: 1,
      sent: 1,
      pending: 0,
    });
    expectBalanced(stats);
  });

  // shutdown() "resolves even if the host never answers", and what still waits is kept for a later page.
  it("resolves shutdown() and settles what waits on a page whose AbortController's abort() throws, with the outbox on", async () => {
    const Native = AbortController;
    class PageAbortController {
      private readonly native = new Native();
      get signal(): AbortSignal {
        return this.native.signal;
      }
      abort(): void {
        throw new Error('abort() is not supported by this polyfill');
      }
    }
    const client = new RecordingCifClient();
    const locks = createLockManager().client().locks;
    const exporter = withPageGlobals({ navigator: { locks }, AbortController: PageAbortController }, () =>
      new CifSpanExporter({ client, ready: new Promise<void>(() => {}), outbox: { store: new MemoryStore(), name: 'widget' } }),
    );
    fake.closeables.push(exporter);
    exporter.export(endedSpans(), () => {});
    await fake.clock.tickAsync(0);
    let outcome: string | undefined;
    const unhandled = await unhandledRejectionsOf(async () => {
      const closed = exporter.shutdown().then(
        () => 'resolved',
        (error: unknown) => `rejected: ${String(error)}`,
      );
      await fake.clock.tickAsync(16_000);
      outcome = await closed;
    });
    const stats = exporter.getStats();
    expect({ outcome, unhandled: unhandled.map(String), pending: stats.kpiEventsPending, kept: stats.kpiEventsKept, storeErrors: stats.outbox.storeErrors }).to.deep.equal({
      outcome: 'resolved',
      unhandled: [],
      pending: 0,
      kept: 1,
      storeErrors: 1,
    });
  });

  // Its lock is held while the page lives, so that no other tab takes the calls it is sending.
  it('holds its lock, leaves no rejection unhandled, and keeps what waits at shutdown, on a page whose AbortController has no signal', async () => {
    class PageAbortController {
      abort(): void {}
    }
    const manager = createLockManager();
    const { locks } = manager.client();
    let exporter: CifSpanExporter | undefined;
    let heldWhileLive: string[] = [];
    const unhandled = await unhandledRejectionsOf(async () => {
      exporter = withPageGlobals({ navigator: { locks }, AbortController: PageAbortController }, () =>
        new CifSpanExporter({ client: new RecordingCifClient(), ready: new Promise<void>(() => {}), outbox: { store: new MemoryStore(), name: 'widget' } }),
      );
      exporter.export(endedSpans(), () => {});
      await fake.clock.tickAsync(0);
      heldWhileLive = manager.held();
      const closed = exporter.shutdown();
      await fake.clock.tickAsync(16_000);
      await closed;
    });
    fake.closeables.push(exporter!);
    expect([heldWhileLive.length, unhandled.map(String), exporter!.getStats().kpiEventsKept, manager.held()]).to.deep.equal([1, [], 1, []]);
  });
});
