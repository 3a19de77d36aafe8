// CifInstrumentation against what a page's context manager, span processors and host may do:
// calls made while a span ends, context managers that call back late or swallow a throw.
import { context, SpanStatusCode, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { traceIdToGuid } from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { contextManagerWith } from '../helpers/context-managers.js';

type Fn = (...args: unknown[]) => unknown;
type Host = EventTarget & { Microsoft?: { CIFramework?: Record<string, Fn> } };

/** A span processor that does `onEnd` with each span that ends, and nothing else. */
function onEndOf(onEnd: (span: ReadableSpan) => void): SpanProcessor {
  return { onStart: () => {}, onEnd, forceFlush: async () => {}, shutdown: async () => {} };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('CifInstrumentation as a span starts or ends, and under a context manager that breaks its contract', () => {
  const asyncLocal = new AsyncLocalStorageContextManager();
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework;
  let instrumentation: CifInstrumentation;
  let unregister: () => void;

  const cif = () => target.Microsoft!.CIFramework!;
  const register = (processors: SpanProcessor[] = []) => {
    provider = new BasicTracerProvider({ spanProcessors: [...processors, new SimpleSpanProcessor(spans)] });
    instrumentation = new CifInstrumentation({ target });
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
  };
  /** Replaces the page's context manager by one whose `with` is `run`, until the test ends. */
  const useContextManager = (run: ContextManager['with']) => {
    context.disable();
    context.setGlobalContextManager(contextManagerWith(run));
  };

  beforeEach(() => {
    context.disable();
    context.setGlobalContextManager(asyncLocal.enable());
    spans = new InMemorySpanExporter();
    target = new EventTarget() as Host;
    fake = installFakeCIFramework(target);
  });
  afterEach(async () => {
    context.disable();
    instrumentation?.disable();
    unregister?.();
    fake.uninstall();
    await provider?.shutdown();
  });

  it('removes a handler that a span processor removes with removeHandler as the span of its event ends', async () => {
    // A page that runs a handler once: a processor takes it off as the span of its first event ends.
    let runs = 0;
    const once = () => void runs++;
    register([
      onEndOf((span) => {
        if (span.name === 'Microsoft.CIFramework onclicktoact') void (cif().removeHandler!('onclicktoact', once) as Promise<unknown>).catch(() => {});
      }),
    ]);
    cif().addHandler!('onclicktoact', once);
    await fake.fireEvent('onclicktoact', {});
    await flush();
    await fake.fireEvent('onclicktoact', {});
    // The removal, made while the span ends, passes the handler itself: the host holds its wrapper, which stays.
    expect(runs).to.equal(1);
  });

  // A context manager that does not call back: the call is made outside it, in its span all the
  // same, which ends as the call does; the correlationId the host gets is that span's trace id.
  it("traces a call the context manager's with does not call back, its correlationId its span's trace, and records its throw", () => {
    const received: unknown[][] = [];
    cif().createTab = (...args: unknown[]) => (received.push(args), 'tab-1');
    cif().getMode = () => {
      throw new Error('no mode');
    };
    // Read as each span ends: a SimpleSpanProcessor exports inside the context manager's with, which does not call back.
    const ended: ReadableSpan[] = [];
    register([onEndOf((span) => ended.push(span))]);
    useContextManager((() => undefined) as unknown as ContextManager['with']);
    expect(cif().createTab!({ templateName: 'msdyn_entityrecord' })).to.equal('tab-1');
    expect(() => cif().getMode!()).to.throw('no mode');
    expect(ended.map((s) => [s.name, s.status.code, s.events.map((e) => e.name)])).to.deep.equal([
      ['Microsoft.CIFramework/createTab', SpanStatusCode.UNSET, []],
      ['Microsoft.CIFramework/getMode', SpanStatusCode.ERROR, ['exception']],
    ]);
    expect(received).to.deep.equal([[{ templateName: 'msdyn_entityrecord' }, traceIdToGuid(ended[0]!.spanContext().traceId)]]);
  });

  it("throws the host's throw to the widget when the context manager's with swallows what its callback throws", () => {
    cif().getMode = () => {
      throw new Error('no mode');
    };
    register();
    useContextManager(((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
      try {
        return fn.apply(thisArg, args);
      } catch {
        return undefined;
      }
    }) as unknown as ContextManager['with']);
    // Without the instrumentation no context manager is in the way, and the widget gets the throw.
    expect(() => cif().getMode!()).to.throw('no mode');
  });

  it("calls the host once, and runs a handler once per event, when the context manager's with calls back only after it returned", async () => {
    const received: unknown[][] = [];
    cif().getMode = (...args: unknown[]) => (received.push(args), 2);
    register();
    let runs = 0;
    cif().addHandler!('onclicktoact', () => void runs++);
    useContextManager(((_ctx: unknown, fn: Fn, thisArg: unknown, ...args: unknown[]) => {
      queueMicrotask(() => fn.apply(thisArg, args));
      return undefined;
    }) as unknown as ContextManager['with']);
    const answer = cif().getMode!('x');
    await fake.fireEvent('onclicktoact', {});
    await flush();
    expect({ answer, received, runs }).to.deep.equal({ answer: 2, received: [['x']], runs: 1 });
  });

  [
    { what: "a span processor's onStart", processor: (fail: () => void): SpanProcessor => ({ ...onEndOf(() => {}), onStart: fail }) },
    { what: "a span processor's onEnd", processor: (fail: () => void): SpanProcessor => onEndOf(fail) },
  ].forEach(({ what, processor }) =>
    it(`traces the calls after one during which ${what} threw`, async () => {
      let failing = true;
      const fail = () => {
        if (!failing) return;
        failing = false;
        throw new Error('processor bug');
      };
      register([processor(fail)]);
      await cif().getPresence!();
      spans.reset();
      await cif().getPresence!();
      await flush();
      // Were the instrumentation left starting or ending a span, every later call would pass through untraced.
      expect(spans.getFinishedSpans().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/getPresence']);
    }),
  );

  it('removes a handler at a second removeHandler after the host threw at the first, with two instrumentations and the page binding removeHandler between them', async () => {
    // A host that throws at its first removeHandler.
    const hostRemove = cif().removeHandler!;
    let throwing = true;
    cif().removeHandler = function (this: unknown, ...args: unknown[]) {
      if (throwing) {
        throwing = false;
        throw new Error('CIF is busy');
      }
      return hostRemove.apply(this, args);
    };
    register();
    const first = { instrumentation, unregister };
    // A page that binds removeHandler, then a second instrumentation, which wraps the bound function only.
    cif().removeHandler = cif().removeHandler!.bind(cif());
    register();
    try {
      let runs = 0;
      const handler = () => void runs++;
      cif().addHandler!('onclicktoact', handler);
      expect(() => cif().removeHandler!('onclicktoact', handler)).to.throw('CIF is busy');
      const removed = await cif().removeHandler!('onclicktoact', handler);
      await fake.fireEvent('onclicktoact', {});
      expect({ removed, runs }).to.deep.equal({ removed: true, runs: 0 });
    } finally {
      first.instrumentation.disable();
      first.unregister();
    }
  });
});
