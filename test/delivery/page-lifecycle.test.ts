// What docs/page-lifecycle.md says, as it is worded, through the real
// OpenTelemetry trace and logs SDKs: the pagehide listener it shows, and the outbox of two
// deliveries under one name. The doc line each test checks is quoted in its comment.
import { LoggerProvider } from '@opentelemetry/sdk-logs';
// What a bundler resolves the batch processors to in a page: those that flush on page hide.
import { BatchLogRecordProcessor as BrowserBatchLogRecordProcessor } from '@opentelemetry/sdk-logs/build/src/platform/browser/index.js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor as BrowserBatchSpanProcessor } from '@opentelemetry/sdk-trace/build/src/platform/browser/index.js';
import { expect } from 'chai';
import type { OutboxLocks } from '../../src/delivery/outbox.js';
import { CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced, kpiNames } from '../helpers/fake-client.js';
import { usePageDocument } from '../helpers/page-document.js';
import { useFakeClock } from '../helpers/pipelines.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { IDENTITY } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

/** Lets every pending promise callback and I/O turn run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the pagehide listener on window that docs/page-lifecycle.md shows', () => {
  // "For Safari's leaving without `visibilitychange`, with `disableAutoFlushOnDocumentHide: true` or a
  // processor of your own: call `provider.forceFlush()` (and `loggerProvider.forceFlush()`) in a
  // `pagehide` listener on `window`." "Flush, never shut down: a page restored from the
  // back/forward cache keeps this provider."
  usePageDocument();

  it('hands the KPI events of the spans held to the host before the listener returns, and the provider sends on after the page comes back', async () => {
    const window = new EventTarget();
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false });
    const provider = new BasicTracerProvider({
      spanProcessors: [new BrowserBatchSpanProcessor({ exporter, disableAutoFlushOnDocumentHide: true, scheduledDelayMillis: 60_000 })],
    });
    window.addEventListener('pagehide', () => {
      provider.forceFlush().catch(() => {});
    });
    const tracer = provider.getTracer('softphone');
    const end = (name: string) => {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent(name);
      span.end();
    };
    end('CallAccepted');
    end('CallHold');
    expect(client.calls).to.deep.equal([]);
    window.dispatchEvent(new Event('pagehide'));
    expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted'], ['CallHold']]);
    // Back from the back/forward cache: the same provider and exporter.
    end('CallEnded');
    window.dispatchEvent(new Event('pagehide'));
    expect(client.calls.map(kpiNames)).to.deep.equal([['CallAccepted'], ['CallHold'], ['CallEnded']]);
    await provider.shutdown();
    expect(exporter.getStats()).to.include({ kpiEventsDelivered: 3 });
  });

  it('hands the KPI event of a log record held to the host a moment after loggerProvider.forceFlush() in the listener', async () => {
    const window = new EventTarget();
    const client = new RecordingCifClient();
    const loggerProvider = new LoggerProvider({
      processors: [
        new BrowserBatchLogRecordProcessor({ exporter: new CifLogRecordExporter({ client, outbox: false }), disableAutoFlushOnDocumentHide: true, scheduledDelayMillis: 60_000 }),
      ],
    });
    window.addEventListener('pagehide', () => {
      loggerProvider.forceFlush().catch(() => {});
    });
    loggerProvider.getLogger('softphone').emit({ eventName: 'ChatAccepted', attributes: IDENTITY });
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(client.calls.flatMap(kpiNames)).to.deep.equal(['ChatAccepted']);
    await loggerProvider.shutdown();
  });
});

describe('the outbox of two deliveries under one name on one page', () => {
  // "Deliveries of one page under one name ... are one widget to the outbox: each counts as a page,
  // and whichever claims first on the next page sends what any of them left, through its own
  // `client` and `dataFormat`, once its own `ready` resolves, or removes it past its own
  // `maxAgeMillis`, counted in its own `getStats()`."
  const HOUR = 3_600_000;
  const fake = useFakeClock();
  const open = fake.closeables;

  function exporterOn(store: MemoryStore, locks: OutboxLocks, options: CifSpanExporterOptions, maxAgeMillis?: number): CifSpanExporter {
    const made = withPageGlobals({ navigator: { locks } }, () => new CifSpanExporter({ outbox: { store, name: 'widget', ...(maxAgeMillis && { maxAgeMillis }) }, ...options }));
    open.push(made);
    return made;
  }

  for (const claimsFirst of ['short', 'long'] as const) {
    const what = claimsFirst === 'short' ? 'removes unsent, in its own outbox.expired,' : 'sends, in its own outbox.replayed,';
    it(`${what} a call left two hours before when the delivery of its name that claims first keeps calls ${claimsFirst === 'short' ? 'an hour' : '7 days'}`, async () => {
      const store = new MemoryStore();
      const manager = createLockManager();
      const first = manager.client();
      // CIF never comes on the first page: its call stays in the store.
      const before = exporterOn(store, first.locks, { client: new RecordingCifClient(), ready: new Promise<void>(() => {}) });
      await fake.clock.tickAsync(0);
      const memory = new InMemorySpanExporter();
      const span = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] }).getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted');
      span.end();
      before.export(memory.getFinishedSpans(), () => {});
      await fake.clock.tickAsync(0);
      expect(Object.keys(store.contents())).to.have.length(1);
      open.splice(open.indexOf(before), 1);
      first.crash();

      // The next page, two hours later: one delivery keeps calls for an hour, the other for the default 7 days.
      fake.clock.setSystemTime(Date.now() + 2 * HOUR);
      const next = manager.client();
      const made = { short: { host: new RecordingCifClient(), maxAge: HOUR }, long: { host: new RecordingCifClient(), maxAge: undefined } };
      const order = claimsFirst === 'short' ? (['short', 'long'] as const) : (['long', 'short'] as const);
      const exporters = Object.fromEntries(order.map((which) => [which, exporterOn(store, next.locks, { client: made[which].host }, made[which].maxAge)])) as Record<'short' | 'long', CifSpanExporter>;
      await fake.clock.tickAsync(10);
      const took = (which: 'short' | 'long') => exporters[which].getStats().outbox.expired + exporters[which].getStats().outbox.replayed;
      const claimer = took('short') > 0 ? 'short' : 'long';
      const outcome = {
        expired: [exporters.short.getStats().outbox.expired, exporters.long.getStats().outbox.expired],
        replayed: [exporters.short.getStats().outbox.replayed, exporters.long.getStats().outbox.replayed],
        sent: [made.short.host.calls.length, made.long.host.calls.length],
        stored: Object.keys(store.contents()).length,
      };
      expect(outcome).to.deep.equal(
        claimer === 'short'
          ? { expired: [1, 0], replayed: [0, 0], sent: [0, 0], stored: 0 }
          : { expired: [0, 0], replayed: [0, 1], sent: [0, 1], stored: 0 },
      );
      // The first delivery made on the page is the one that claims.
      expect(claimer).to.equal(claimsFirst);
      expectBalanced(exporters.short.getStats());
      expectBalanced(exporters.long.getStats());
    });
  }
});
