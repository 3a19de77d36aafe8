import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { traceIdToGuid } from '../../src/index.js';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework } from '../../src/testing/index.js';
import { useTracedPage } from '../helpers/traced-page.js';

type Fn = (...args: unknown[]) => unknown;

// docs/instrumentation.md, "Spans": the handler span, a failed call's status and exception, parents and trace ids.
describe('CifInstrumentation page.spans, as docs/instrumentation.md lays them out', () => {
  const page = useTracedPage();
  const { cif, register } = page;
  const handlerSpans = () => page.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.INTERNAL && s.name.startsWith('Microsoft.CIFramework '));
  const exception = (span: ReadableSpan) => span.events.find((e) => e.name === 'exception')?.attributes ?? {};
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  beforeEach(() => (page.fake = installFakeCIFramework(page.target)));

  it("keeps a handler's span open while the handler's promise is pending, and ends it when the promise settles", async () => {
    register();
    let resolveHandler!: (value: string) => void;
    cif().addHandler!('onsessionswitched', () => new Promise<string>((resolve) => (resolveHandler = resolve)));
    const fired = page.fake!.fireEvent('onsessionswitched', {});
    await settle();
    expect(handlerSpans()).to.deep.equal([]);
    resolveHandler('handled');
    expect(await fired).to.deep.equal(['handled']);
    expect(handlerSpans().map((s) => [s.name, s.status.code])).to.deep.equal([['Microsoft.CIFramework onsessionswitched', SpanStatusCode.UNSET]]);
  });

  it("sets ERROR with a rejecting handler's message and records its exception as the widget's own, neither CifHostError nor a host rejection", async () => {
    register();
    const reason = new RangeError('no such session');
    cif().addHandler!('onsessionclosed', () => Promise.reject(reason));
    expect(await page.fake!.fireEvent('onsessionclosed', {}).catch((error: unknown) => error)).to.equal(reason);
    const [span] = handlerSpans();
    expect(span!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'no such session' });
    expect(exception(span!)).to.deep.equal({ 'exception.type': 'RangeError', 'exception.message': 'no such session', 'exception.stacktrace': reason.stack });
  });

  it('reads a Map holding message that a handler rejects with as the exporter reads one, without naming the host', async () => {
    register();
    cif().addHandler!('onsessionclosed', () => Promise.reject(new Map([['message', 'Session not found']])));
    await page.fake!.fireEvent('onsessionclosed', {}).catch(() => {});
    const [span] = handlerSpans();
    expect(span!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: 'Session not found' });
    expect(exception(span!)['exception.type']).to.not.equal('CifHostError');
  });

  it("cuts an Error's message and its stack each to 2000 characters, marked with an ellipsis, when the host rejects with it", async () => {
    const reason = new Error('m'.repeat(5000));
    reason.stack = `Error: ${'s'.repeat(5000)}`;
    cif().getEnvironment = () => Promise.reject(reason);
    register();
    expect(await (cif().getEnvironment!() as Promise<unknown>).catch((error: unknown) => error)).to.equal(reason);
    const [span] = page.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT && s.name.endsWith('getEnvironment'));
    const written = exception(span!);
    expect([span!.status.message, written['exception.message'], written['exception.stacktrace']]).to.deep.equal([
      `${'m'.repeat(2000)}…`,
      `${'m'.repeat(2000)}…`,
      `${reason.stack.slice(0, 2000)}…`,
    ]);
  });

  it('cuts the stack of an Error a handler throws to 2000 characters, as its message', async () => {
    register();
    const thrown = new Error('widget bug');
    thrown.stack = `Error: widget bug\n${'    at frame\n'.repeat(1000)}`;
    cif().addHandler!('onclicktoact', () => {
      throw thrown;
    });
    await page.fake!.fireEvent('onclicktoact', {}).catch(() => {});
    const [span] = handlerSpans();
    expect(exception(span!)['exception.stacktrace']).to.equal(`${thrown.stack.slice(0, 2000)}…`);
  });

  it('makes the span of a handler the host calls inside a span a child of that span', async () => {
    register();
    cif().addHandler!('onsessionswitched', () => 'handled');
    const parent = page.provider.getTracer('host').startSpan('dispatch');
    await context.with(trace.setSpan(context.active(), parent), () => page.fake!.fireEvent('onsessionswitched', {}));
    parent.end();
    const [span] = handlerSpans();
    expect([span!.parentSpanContext?.spanId, span!.spanContext().traceId]).to.deep.equal([parent.spanContext().spanId, parent.spanContext().traceId]);
  });

  it('traces a call made with no active span as a trace of its own, and gives the host that trace id as correlationId', async () => {
    const received: unknown[][] = [];
    cif().createSession = (...args: unknown[]) => (received.push(args), Promise.resolve('session-7'));
    register();
    await cif().createSession!({ templateName: 'msdyn_chat' });
    const [span] = page.spans.getFinishedSpans().filter((s) => s.name === 'Microsoft.CIFramework/createSession');
    expect(span!.parentSpanContext).to.equal(undefined);
    expect(received).to.deep.equal([[{ templateName: 'msdyn_chat' }, traceIdToGuid(span!.spanContext().traceId)]]);
  });
});


// docs/instrumentation.md, "Options", "What it never does" and "Enable and disable": handlers and getConfig().
describe('CifInstrumentation handlers and getConfig(), as docs/instrumentation.md says', () => {
  const page = useTracedPage();
  const { cif } = page;

  it('says in getConfig().enabled whether it is enabled now: after registerInstrumentations, disable() and enable()', () => {
    const fake = installFakeCIFramework(page.target);
    try {
      const instrumentation = new CifInstrumentation({ target: page.target, enabled: false });
      const seen = [instrumentation.getConfig().enabled];
      page.unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: page.provider });
      seen.push(instrumentation.getConfig().enabled);
      instrumentation.disable();
      seen.push(instrumentation.getConfig().enabled);
      instrumentation.enable();
      seen.push(instrumentation.getConfig().enabled);
      expect(seen).to.deep.equal([false, true, false, true]);
    } finally {
      fake.uninstall();
    }
  });

  it('dispatches opentelemetry-exporter-cif.unwrapped on its page.target once disable() has put the functions back', () => {
    const fake = installFakeCIFramework(page.target);
    try {
      const instrumentation = new CifInstrumentation({ target: page.target });
      page.unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: page.provider });
      const wrapped = cif().setPresence;
      const seen: Array<[string, boolean]> = [];
      page.target.addEventListener('opentelemetry-exporter-cif.unwrapped', (e) => void seen.push([e.type, cif().setPresence !== wrapped]));
      instrumentation.disable();
      expect(seen).to.deep.equal([['opentelemetry-exporter-cif.unwrapped', true]]);
    } finally {
      fake.uninstall();
    }
  });

  it('hands the host the wrapper of a handler added with tracing suppressed: the host runs it in a span, and removeHandler removes it', async () => {
    const fake = installFakeCIFramework(page.target);
    try {
      page.unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: page.target })], tracerProvider: page.provider });
      let calls = 0;
      const handler = () => void calls++;
      await context.with(suppressTracing(context.active()), () => cif().addHandler!('onclicktoact', handler));
      await fake.fireEvent('onclicktoact', {});
      expect(page.spans.getFinishedSpans().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework onclicktoact']);
      expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
      await fake.fireEvent('onclicktoact', {});
      expect(calls).to.equal(1);
    } finally {
      fake.uninstall();
    }
  });

  it('leaves the wrapper with a host that holds a handler once per addHandler, so a handler added twice still runs after two removeHandler calls', async () => {
    // A host that keeps a list, not a set: each addHandler adds an entry, each removeHandler takes one.
    const held: Array<[string, Fn]> = [];
    page.target.Microsoft = {
      CIFramework: {
        addHandler: (name: unknown, handler: unknown) => (held.push([String(name), handler as Fn]), Promise.resolve(true)),
        removeHandler: (name: unknown, handler: unknown) => {
          const at = held.findIndex(([n, h]) => n === name && h === handler);
          if (at >= 0) held.splice(at, 1);
          return Promise.resolve(at >= 0);
        },
      },
    };
    page.unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: page.target })], tracerProvider: page.provider });
    let calls = 0;
    const handler = () => void calls++;
    await cif().addHandler!('onclicktoact', handler);
    await cif().addHandler!('onclicktoact', handler);
    await cif().removeHandler!('onclicktoact', handler);
    await cif().removeHandler!('onclicktoact', handler);
    for (const [, h] of held) h({});
    expect([held.length, held[0]?.[1] === handler, calls]).to.deep.equal([1, false, 1]);
  });
});
