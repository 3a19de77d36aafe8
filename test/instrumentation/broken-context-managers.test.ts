import FakeTimers from '@sinonjs/fake-timers';
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, isTracingSuppressed, type ExportResult } from '@opentelemetry/core';
import { expect } from 'chai';
import { CifSpanExporter, type CifAnalyticsClient } from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, RecordingCifClient, type FakeCIFramework } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { IDENTITY } from '../helpers/spans.js';
import { contextManagerWith } from '../helpers/context-managers.js';
import { useTracedPage } from '../helpers/traced-page.js';

type Fn = (...args: unknown[]) => unknown;
type Host = EventTarget & { Microsoft?: { CIFramework?: Record<string, Fn> } };

/** Context managers that break their contract without a throw: the call must still happen once, as without the instrumentation. */
const brokenManagers: Array<[what: string, run: ContextManager['with']]> = [
  ['returns without calling back', (() => undefined) as unknown as ContextManager['with']],
  [
    'calls back twice',
    ((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
      fn.apply(thisArg, args);
      return fn.apply(thisArg, args);
    }) as unknown as ContextManager['with'],
  ],
];

describe('CifInstrumentation calls, with a context manager that does not call back once', () => {
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework;
  let unregister: () => void;
  let instrumentation: CifInstrumentation;

  beforeEach(() => {
    spans = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    target = new EventTarget() as Host;
    fake = installFakeCIFramework(target);
  });
  afterEach(async () => {
    context.disable();
    instrumentation.disable();
    unregister();
    fake.uninstall();
    await provider.shutdown();
  });

  brokenManagers.forEach(([what, run]) => {
    it(`calls the host once, and returns its answer, when the context manager's with ${what}`, async () => {
      const received: unknown[][] = [];
      const cif = target.Microsoft!.CIFramework!;
      cif.getMode = (...args: unknown[]) => (received.push(args), 2);
      instrumentation = new CifInstrumentation({ target });
      unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
      context.setGlobalContextManager(contextManagerWith(run));
      const answer = cif.getMode!('x');
      expect({ answer, received }).to.deep.equal({ answer: 2, received: [['x']] });
    });

    it(`runs a handler once per event when the context manager's with ${what}`, async () => {
      instrumentation = new CifInstrumentation({ target });
      unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
      let runs = 0;
      target.Microsoft!.CIFramework!.addHandler!('onclicktoact', () => void runs++);
      context.setGlobalContextManager(contextManagerWith(run));
      await fake.fireEvent('onclicktoact', {});
      expect(runs).to.equal(1);
    });
  });
});

describe('CifSpanExporter with a context manager that does not call back once, or throws after it did', () => {
  afterEach(() => context.disable());

  const managers: Array<[what: string, run: ContextManager['with']]> = [
    ...brokenManagers,
    [
      'throws after calling back',
      ((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
        fn.apply(thisArg, args);
        throw new Error('context manager bug');
      }) as unknown as ContextManager['with'],
    ],
    [
      'calls back only after it returned',
      ((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
        queueMicrotask(() => fn.apply(thisArg, args));
        return undefined;
      }) as unknown as ContextManager['with'],
    ],
  ];
  /** One span of one KPI event, made by the SDK before the page's context manager came, as a batch processor holds it. */
  async function oneKpiSpan(): Promise<ReadableSpan[]> {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted');
    span.end();
    const spans = memory.getFinishedSpans();
    await provider.shutdown();
    return spans;
  }

  it("fails, retries and drops as host_error, with the host's message, a call the host throws at inside a with that calls back twice", async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      const spans = await oneKpiSpan();
      let attempts = 0;
      const client: CifAnalyticsClient = {
        logAnalyticsEvent: () => {
          attempts++;
          throw new Error('Provider not active');
        },
      };
      const exporter = new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 2 } });
      context.setGlobalContextManager(contextManagerWith(brokenManagers[1]![1]));
      let result: ExportResult | undefined;
      exporter.export(spans, (r) => (result = r));
      await clock.runAllAsync();
      const stats = exporter.getStats();
      expect(result?.code).to.equal(ExportResultCode.FAILED);
      expect(result?.error?.message).to.include('Provider not active');
      expect({ attempts, callsMade: stats.callsMade, callsRetried: stats.callsRetried, host_error: stats.dropped.host_error }).to.deep.equal({ attempts: 2, callsMade: 2, callsRetried: 1, host_error: 1 });
      expectBalanced(stats);
      const closing = exporter.shutdown();
      await clock.runAllAsync();
      await closing;
    } finally {
      clock.uninstall();
    }
  });
  managers.forEach(([what, run]) =>
    it(`hands each call to the host once, and counts it delivered, when the context manager's with ${what}`, async () => {
      const spans = await oneKpiSpan();
      const client = new RecordingCifClient();
      const exporter = new CifSpanExporter({ client, outbox: false });
      context.setGlobalContextManager(contextManagerWith(run));
      const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
      // What calls back late has.
      await new Promise((resolve) => setImmediate(resolve));
      await exporter.shutdown();
      expect(result.code).to.equal(ExportResultCode.SUCCESS);
      expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
      const stats = exporter.getStats();
      expectBalanced(stats);
      expect(stats).to.include({ kpiEventsDelivered: 1, callsMade: 1, callsRetried: 0 });
    }),
  );
  it("hands each call to the host inside a context that suppresses tracing, the one it gives the context manager's with", async () => {
    const spans = await oneKpiSpan();
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false });
    const suppressed: boolean[] = [];
    context.setGlobalContextManager(
      contextManagerWith(((ctx: Context, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
        suppressed.push(isTracingSuppressed(ctx));
        return fn.apply(thisArg, args);
      }) as unknown as ContextManager['with']),
    );
    await new Promise<ExportResult>((resolve) => exporter.export([...spans, ...spans], resolve));
    await exporter.shutdown();
    expect(client.calls).to.have.length(2);
    expect(suppressed).to.deep.equal([true, true]);
  });
  it("fails a call the host threw at, where the context manager's with swallowed the throw, and says so", async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    try {
      const spans = await oneKpiSpan();
      const client: CifAnalyticsClient = {
        logAnalyticsEvent: () => {
          throw new Error('Provider not active');
        },
      };
      const exporter = new CifSpanExporter({ client, outbox: false, retry: { maxAttempts: 1 } });
      context.setGlobalContextManager(
        contextManagerWith(((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
          try {
            return fn.apply(thisArg, args);
          } catch {
            return undefined;
          }
        }) as unknown as ContextManager['with']),
      );
      let result: ExportResult | undefined;
      exporter.export(spans, (r) => (result = r));
      await clock.runAllAsync();
      expect(result?.code).to.equal(ExportResultCode.FAILED);
      expect(result?.error?.message).to.include("the page's context manager hid what logAnalyticsEvent threw");
      const stats = exporter.getStats();
      expect(stats.dropped.host_error).to.equal(1);
      expectBalanced(stats);
      const closing = exporter.shutdown();
      await clock.runAllAsync();
      await closing;
    } finally {
      clock.uninstall();
    }
  });
});

/** A context of the page's context manager that can be read but refuses a new value: `trace.setSpan` throws on it. */
const unwritable = (): Context => ({
  getValue: (key) => ROOT_CONTEXT.getValue(key),
  setValue: () => {
    throw new Error('this context takes no value');
  },
  deleteValue: () => ROOT_CONTEXT,
});

describe('CifInstrumentation calls, with a context manager whose active context refuses a value', () => {
  const page = useTracedPage();
  // After useTracedPage's before(), so this manager is the one in place during the test.
  beforeEach(() => {
    context.disable();
    context.setGlobalContextManager(contextManagerWith((_ctx, fn, thisArg, ...args) => fn.call(thisArg, ...args), unwritable));
  });

  it("makes the widget's call once and returns the host's answer, rather than throwing the context's error into the page", async () => {
    page.fake = installFakeCIFramework(page.target);
    page.register();
    const answer = page.cif().getPresence!() as Promise<string>;
    expect(await answer).to.equal('Available');
  });

  it("runs the widget's handler when the host calls it, rather than throwing the context's error to the host", async () => {
    page.fake = installFakeCIFramework(page.target);
    page.register();
    let ran = 0;
    page.cif().addHandler!('onsetpresence', () => ++ran);
    expect(await page.fake.fireEvent('onsetpresence', {})).to.deep.equal([1]);
    expect(ran).to.equal(1);
  });
});
