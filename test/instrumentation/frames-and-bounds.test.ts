import { context, ProxyTracerProvider, SpanKind, SpanStatusCode, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { runInNewContext } from 'node:vm';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { traceIdToGuid } from '../../src/index.js';

type Fn = (...args: unknown[]) => unknown;
type Library = Record<string, Fn>;
type Host = EventTarget & { Microsoft?: { CIFramework?: Library } };

const HUGE = 1_000_000;

describe('CifInstrumentation with a library of another frame, huge names and reasons, and no tracer provider registered', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework | undefined;
  let unregister: (() => void) | undefined;

  const cif = () => target.Microsoft!.CIFramework!;
  const register = (tracerProvider: TracerProvider = provider) => {
    unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target })], tracerProvider });
  };

  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    spans = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    target = new EventTarget() as Host;
    fake = undefined;
    unregister = undefined;
  });
  afterEach(async () => {
    unregister?.();
    fake?.uninstall();
    await provider.shutdown();
  });

  it('wraps nothing every object has when the CIFramework was made in another realm (a frame the page passes as target)', () => {
    target.Microsoft = runInNewContext('({ CIFramework: { getMode() { return 1; } } })') as Host['Microsoft'];
    const own = Object.getOwnPropertyNames(cif());
    register();
    void String(cif());
    expect(Object.getOwnPropertyNames(cif())).to.deep.equal(own);
    expect(spans.getFinishedSpans().map((s) => s.name)).to.deep.equal([]);
  });

  it('traces the methods of a library made with no prototype, the static methods a library class inherits, and those of a prototype with none', () => {
    const bare = Object.assign(Object.create(null) as Library, { getMode: () => 1 });
    class Base {
      static getEnvironment(): number {
        return 2;
      }
    }
    class Framework extends Base {}
    const heir = Object.create(Object.assign(Object.create(null) as object, { getSession: () => 3 })) as Library;
    for (const [library, method] of [[bare, 'getMode'], [Framework, 'getEnvironment'], [heir, 'getSession']] as const) {
      target.Microsoft = { CIFramework: library as unknown as Record<string, Fn> };
      register();
      cif()[method]!();
      unregister!();
    }
    expect(spans.getFinishedSpans().map((s) => s.name)).to.deep.equal([
      'Microsoft.CIFramework/getMode',
      'Microsoft.CIFramework/getEnvironment',
      'Microsoft.CIFramework/getSession',
    ]);
  });

  it('cuts the event name in the name and ciframework.event of a handler span to 100 characters, as a KPI event name is cut', async () => {
    fake = installFakeCIFramework(target);
    register();
    const eventName = 'e'.repeat(HUGE);
    cif().addHandler!(eventName, () => 'handled');
    await fake.fireEvent(eventName);
    const span = spans.getFinishedSpans().find((s) => s.kind === SpanKind.INTERNAL);
    expect([span!.name, span!.attributes['ciframework.event']]).to.deep.equal([`Microsoft.CIFramework ${'e'.repeat(100)}`, 'e'.repeat(100)]);
  });

  it('cuts the status message and exception it writes of a large object the host rejects with to 2000 characters, and rejects with that object', async () => {
    const reason = { errorCode: 42, details: 'x'.repeat(HUGE) };
    target.Microsoft = { CIFramework: { getEnvironment: () => Promise.reject(reason) } };
    register();
    const rejected = await (cif().getEnvironment!() as Promise<unknown>).catch((error: unknown) => error);
    const [span] = spans.getFinishedSpans();
    expect(rejected).to.equal(reason);
    expect(span!.status.code).to.equal(SpanStatusCode.ERROR);
    const message = span!.status.message!;
    expect([message.length, message.endsWith('…'), message.startsWith('CIF host rejected the call: {"errorCode":42,"details":"xxx')]).to.deep.equal([2001, true, true]);
    expect(span!.events.map((event) => event.attributes?.['exception.message'])).to.deep.equal([message]);
  });

  it("gives a call no span, but the active span's trace id, when no tracer provider is registered and a span of the widget's own provider is active", async () => {
    const received: unknown[][] = [];
    target.Microsoft = { CIFramework: { createSession: (...args: unknown[]) => (received.push(args), Promise.resolve('session-1')) } };
    register(new ProxyTracerProvider());
    let traceId = '';
    await provider.getTracer('widget').startActiveSpan('accept', async (span) => {
      traceId = span.spanContext().traceId;
      await cif().createSession!({ templateName: 't' });
      span.end();
    });
    expect(spans.getFinishedSpans().map((s) => s.name)).to.deep.equal(['accept']);
    expect(received).to.deep.equal([[{ templateName: 't' }, traceIdToGuid(traceId)]]);
  });
});
