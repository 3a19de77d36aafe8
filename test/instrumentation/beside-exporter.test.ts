// CifInstrumentation beside the exporter, as a widget runs them: the exporter behind a
// BatchSpanProcessor at its defaults calls the page's CIF library, which the instrumentation
// wraps; the library starts late and rejects each call's first attempt, so the exporter's calls
// come from the CIFInitDone listener, the processor's timer and its own retry timer.
import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { context, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StackContextManager } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { expectBalanced, expectNothingDropped, kpiNames, pageWindow, removePageCif } from '../helpers/fake-client.js';

type Library = Record<string, (...args: unknown[]) => Promise<unknown>>;

const CALL = { conversationId: 'conv-1', providerSessionId: 'CA-1' };

const managers: Array<[name: string, make: () => ContextManager]> = [
  ['StackContextManager (provider.register() in a page)', () => new StackContextManager()],
  ['AsyncLocalStorageContextManager', () => new AsyncLocalStorageContextManager()],
];

describe('CifInstrumentation beside CifSpanExporter behind a BatchSpanProcessor at its defaults, with a CIF library that starts late', () => {
  let clock: InstalledClock;
  let page: ReturnType<typeof pageWindow>;
  const closeables: Array<{ shutdown(): Promise<unknown> }> = [];
  let unregister: (() => void) | undefined;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: Date.parse('2026-11-25T10:15:30.123Z') });
    page = pageWindow();
  });
  afterEach(async () => {
    try {
      unregister?.();
      const closing = Promise.all(closeables.splice(0).map((c) => c.shutdown().catch(() => {})));
      await clock.runAllAsync();
      await closing;
    } finally {
      context.disable();
      clock.uninstall();
      page.restore();
      removePageCif();
    }
  });

  managers.forEach(([name, make]) =>
    it(`traces the widget's CIF calls, none of the exporter's, and delivers every KPI event once, with ${name}`, async () => {
      context.setGlobalContextManager(make().enable());
      const seen = new InMemorySpanExporter();
      const exporter = new CifSpanExporter();
      const provider = new BasicTracerProvider({
        spanProcessors: [new CifSessionSpanProcessor(), new BatchSpanProcessor(exporter), new SimpleSpanProcessor(seen)],
      });
      closeables.push(provider, exporter);
      unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation()], tracerProvider: provider });
      const tracer = provider.getTracer('softphone');

      // Before the library: the widget accepts the call.
      withCifSession(CALL, () => {
        const span = tracer.startSpan('accept call');
        recordKpiEvent(span, 'CallAccepted');
        span.end();
      });
      await clock.tickAsync(6_000);

      // The library starts, and rejects the first attempt of each call, as one still settling in may.
      const attempts = new Map<string, number>();
      const client = new RecordingCifClient({
        answer: (call) => {
          const n = (attempts.get(call.eventName) ?? 0) + 1;
          attempts.set(call.eventName, n);
          return n === 1 ? Promise.reject(new Error('not yet')) : 'ok';
        },
      });
      installFakeCIFramework(globalThis, client);
      const cif = (globalThis as unknown as { Microsoft: { CIFramework: Library } }).Microsoft.CIFramework;

      // After it: the widget puts the agent on hold, a KPI event and a traced CIF call.
      await withCifSession(CALL, () =>
        tracer.startActiveSpan('hold', async (span) => {
          recordKpiEvent(span, 'CallHold');
          await cif.setPresence!('On hold');
          span.end();
        }),
      );
      await clock.tickAsync(60_000);

      expect(client.calls.flatMap(kpiNames).sort()).to.deep.equal(['CallAccepted', 'CallAccepted', 'CallHold', 'CallHold']);
      const names = seen.getFinishedSpans().map((s) => s.name);
      expect(names.filter((n) => n.startsWith('Microsoft.CIFramework/')), 'the call spans').to.deep.equal(['Microsoft.CIFramework/setPresence']);
      const stats = exporter.getStats();
      expectBalanced(stats);
      expectNothingDropped(stats);
      expect(stats).to.include({ kpiEventsSent: 2, kpiEventsDelivered: 2, kpiEventsPending: 0, callsRetried: 2 });
    }),
  );
});
