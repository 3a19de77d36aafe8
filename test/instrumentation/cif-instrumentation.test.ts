import { context, diag, DiagLogLevel, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { CifInstrumentation, type CifInstrumentationConfig } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { FIXED_TRACE_ID, IDENTITY, TRACE_GUID, event, makeSpan } from '../helpers/spans.js';
import { contextManagerWith } from '../helpers/context-managers.js';

type Fn = (...args: unknown[]) => unknown;
type Library = Record<string, Fn>;
type Host = EventTarget & { Microsoft?: { CIFramework?: Library } };

/** What a tracing backend shows of a span: whole, so a test compares it in one deep equality. */
function shown(span: ReadableSpan) {
  return {
    name: span.name,
    kind: SpanKind[span.kind],
    parent: span.parentSpanContext?.spanId,
    status: span.status,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
  };
}

const callSpan = (method: string, parent: string | undefined, status: object = { code: SpanStatusCode.UNSET }, events: object[] = []) => ({
  name: `Microsoft.CIFramework/${method}`,
  kind: 'CLIENT',
  parent,
  status,
  attributes: { 'rpc.system.name': 'ciframework', 'rpc.method': `Microsoft.CIFramework/${method}` },
  events,
});

/** The status and events of a span whose call failed with `message`; an `Error` adds its stack. */
const failed = (message: string, type: string, stack?: string): [object, object[]] => [
  { code: SpanStatusCode.ERROR, message },
  [{ name: 'exception', attributes: { 'exception.type': type, 'exception.message': message, ...(stack ? { 'exception.stacktrace': stack } : {}) } }],
];

/** Copies of the module loaded so far: each test that loads one gets a new one, also when it runs again in one process. */
let copies = 0;

describe('CifInstrumentation', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework;
  /** Every call the stand-in host's extra methods received: method, this, arguments. */
  let received: Array<{ method: string; self: unknown; args: unknown[] }>;
  let unregister: (() => void) | undefined;
  let instrumentation: CifInstrumentation;
  /** Makes the tracer of a test's flaky provider throw from then on. */
  let tracerBroken = false;

  /** Methods the stand-in host lacks, answered at once and recorded; it answers setPresence itself. */
  function hostMethods(): Library {
    const method =
      (name: string, answer: (...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        received.push({ method: name, self: this, args });
        return answer(...args);
      };
    return {
      createSession: method('createSession', () => Promise.resolve('session-7')),
      updateContext: method('updateContext', () => Promise.resolve('{}')),
      searchAndOpenRecords: method('searchAndOpenRecords', () => Promise.resolve('[]')),
      getMode: method('getMode', () => 1),
    };
  }

  /** A new `Microsoft` on the page, whose CIFramework the stand-in host extends, as the library brings it. */
  function install(into: Host = target): Library {
    into.Microsoft = { CIFramework: hostMethods() };
    fake = installFakeCIFramework(into);
    return into.Microsoft.CIFramework!;
  }

  function register(config: CifInstrumentationConfig = {}, tracerProvider: TracerProvider = provider): CifInstrumentation {
    instrumentation = new CifInstrumentation({ target, ...config });
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider });
    return instrumentation;
  }

  const cif = () => target.Microsoft!.CIFramework!;
  /** Every enumerable function of `library`, inherited ones too, as the page sees them. */
  const snapshot = (library: Library) => {
    const all: Record<string, unknown> = {};
    for (const name in library) all[name] = library[name];
    return all;
  };
  const tracer = () => provider.getTracer('widget');
  const finished = () => spans.getFinishedSpans().map(shown);
  const spanIdOf = (name: string) => spans.getFinishedSpans().find((s) => s.name === name)?.spanContext().spanId;
  const flushMicrotasks = () => new Promise((resolve) => setImmediate(resolve));
  /** Makes the host's addHandler record the arguments it gets, before the instrumentation wraps it. */
  const recordAddHandler = (library: Library) => {
    const hostAdd = library.addHandler!;
    const seen: unknown[][] = [];
    library.addHandler = function (this: unknown, ...args: unknown[]) {
      seen.push(args);
      return hostAdd.apply(this, args);
    };
    return seen;
  };
  /** What the library says at DEBUG through diag, each line without the component name, until afterEach. */
  const captureDebug = () => {
    const lines: string[] = [];
    const keep = (component: unknown, message: unknown) => void (component === 'opentelemetry-exporter-cif' && lines.push(String(message)));
    diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: () => {} }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    return lines;
  };

  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    spans = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, spanProcessors: [new SimpleSpanProcessor(spans)] });
    target = new EventTarget() as Host;
    received = [];
    unregister = undefined;
    tracerBroken = false;
  });
  afterEach(async () => {
    unregister?.();
    fake?.uninstall();
    diag.disable();
    await provider.shutdown();
  });

  describe('calls', () => {
    it('makes each call a CLIENT span named for the method, a child of the active span, ended when its promise settles', async () => {
      install();
      register();
      let answer!: Promise<unknown>;
      tracer().startActiveSpan('go available', (span) => {
        answer = cif().setPresence!('Available') as Promise<unknown>;
        span.end();
      });
      expect(finished().map((s) => s.name)).to.deep.equal(['go available']);
      expect(await answer).to.equal(true);
      expect(finished()).to.deep.equal([
        { name: 'go available', kind: 'INTERNAL', parent: undefined, status: { code: SpanStatusCode.UNSET }, attributes: {}, events: [] },
        callSpan('setPresence', spanIdOf('go available')),
      ]);
    });

    it('passes the arguments, this, and the very promise the host answers with, through untouched', async () => {
      const library = install();
      const answer = Promise.resolve('[{"fullname":"Ada"}]');
      const original = library.searchAndOpenRecords!;
      library.searchAndOpenRecords = function (this: unknown, ...args: unknown[]) {
        original.apply(this, args);
        return answer;
      };
      register();
      const query = { toString: () => '?$select=fullname' };
      const returned = cif().searchAndOpenRecords!('contact', query, true);
      expect(returned).to.equal(answer);
      await returned;
      expect(received).to.have.length(1);
      expect(received[0]!.self).to.equal(cif());
      expect(received[0]!.args).to.deep.equal(['contact', query, true]);
      expect(received[0]!.args[1]).to.equal(query);
      expect(finished()).to.deep.equal([callSpan('searchAndOpenRecords', undefined)]);
    });

    it('ends the span of a call that answers a plain value at once, and returns that value', () => {
      install();
      register();
      expect(cif().getMode!()).to.equal(1);
      expect(finished()).to.deep.equal([callSpan('getMode', undefined)]);
    });

    const rejected = new Error('Provider not active');
    const hostile = new Proxy({}, { get: () => { throw new Error('no reading me'); }, has: () => { throw new Error('no'); } });
    const oddlyNamed = Object.assign(new Error('Provider not active'), { name: 42, stack: undefined });
    const unreadableName = new Error('Provider not active');
    // Read before the name is made unreadable: V8 writes the stack on first read, with the name.
    const stack = unreadableName.stack;
    Object.defineProperty(unreadableName, 'name', {
      get() {
        throw new Error('no reading me');
      },
    });
    [
      { what: 'an Error', reason: rejected, shows: failed('Provider not active', 'Error', rejected.stack) },
      { what: 'an Error whose name and stack are not strings', reason: oddlyNamed, shows: failed('Provider not active', 'CifHostError') },
      { what: 'an Error whose name cannot be read', reason: unreadableName, shows: failed('Provider not active', 'CifHostError', stack) },
      { what: 'a Map holding message, as old CIF builds do', reason: new Map([['message', 'Session not found']]), shows: failed('Session not found', 'CifHostError') },
      { what: 'a string', reason: 'FAILED', shows: failed('FAILED', 'CifHostError') },
      { what: 'a value that cannot be read', reason: hostile, shows: failed('CIF host rejected the call: a value that cannot be read', 'CifHostError') },
    ].forEach(({ what, reason, shows: [status, events] }) =>
      it(`sets ERROR and records the exception when the host rejects with ${what}, and rejects the widget's call with the same reason`, async () => {
        const library = install();
        library.setPresence = () => Promise.reject(reason);
        register();
        const caught = await (cif().setPresence!('Busy') as Promise<unknown>).then(undefined, (error: unknown) => ({ error }));
        expect((caught as { error: unknown }).error === reason, 'the same reason').to.equal(true);
        await flushMicrotasks();
        expect(finished()).to.deep.equal([callSpan('setPresence', undefined, status, events)]);
      }),
    );

    it('rethrows what a method throws, as it is, and marks its span ERROR', () => {
      const library = install();
      const thrown = new TypeError('presenceText must be a string');
      library.setPresence = () => {
        throw thrown;
      };
      register();
      expect(() => cif().setPresence!(42)).to.throw(thrown);
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined, ...failed('presenceText must be a string', 'TypeError', thrown.stack))]);
    });

    it('marks a rejected answer the widget ignores as handled, so no unhandled rejection is reported', async () => {
      const library = install();
      library.setPresence = () => Promise.reject(new Error('Provider not active'));
      register();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        void cif().setPresence!('Busy');
        await flushMicrotasks();
        await flushMicrotasks();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
      expect(finished().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/setPresence']);
    });

    it('makes no span for a call made with tracing suppressed, and passes its arguments untouched', async () => {
      install();
      register();
      await context.with(suppressTracing(context.active()), () => cif().createSession!({ templateName: 'msdyn_chat' }));
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 'msdyn_chat' }]]);
      expect(finished()).to.deep.equal([]);
    });
  });

  describe('calls, against hostile tracers and context managers', () => {
    it('makes no span with tracing suppressed even when the tracer would start one', async () => {
      install();
      const started: string[] = [];
      const naive = { getTracer: () => ({ startSpan: (name: string) => (started.push(name), trace.wrapSpanContext(trace.getSpanContext(ROOT_CONTEXT)!)) }) };
      register({}, naive as unknown as TracerProvider);
      await context.with(suppressTracing(context.active()), () => cif().createSession!({ templateName: 't' }));
      expect(started).to.deep.equal([]);
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }]]);
    });

    it("passes a call made under a widget's span with tracing suppressed its own arguments, and no correlationId", async () => {
      install();
      register();
      const widget = tracer().startSpan('call');
      await context.with(suppressTracing(trace.setSpan(context.active(), widget)), () => cif().createSession!({ templateName: 't' }));
      widget.end();
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }]]);
      expect(finished().map((s) => s.name)).to.deep.equal(['call']);
    });

    it("calls the host once, with the widget's own arguments, when the span cannot say its trace id", async () => {
      install();
      const span = { spanContext: () => { throw new Error('span bug'); }, end: () => {}, setStatus: () => {}, recordException: () => {} };
      register({}, { getTracer: () => ({ startSpan: () => span }) } as unknown as TracerProvider);
      expect(await cif().createSession!({ templateName: 't' })).to.equal('session-7');
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }]]);
    });

    it('makes the call once, and ends its span, when the context manager throws', async () => {
      install();
      const ended: string[] = [];
      const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };
      const recording = { getTracer: () => ({ startSpan: (name: string) => ({ spanContext: () => spanContext, end: () => void ended.push(name) }) }) };
      register({}, recording as unknown as TracerProvider);
      context.disable();
      context.setGlobalContextManager(
        contextManagerWith(() => {
          throw new Error('context manager bug');
        }),
      );
      try {
        expect(await cif().createSession!({ templateName: 't' })).to.equal('session-7');
      } finally {
        context.disable();
        context.setGlobalContextManager(contextManager.enable());
      }
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }, TRACE_GUID]]);
      expect(ended).to.deep.equal(['Microsoft.CIFramework/createSession']);
    });

    it("returns the host's answer, and ends the span once it settles, when the context manager throws after the call ran", async () => {
      install();
      register();
      context.disable();
      context.setGlobalContextManager(
        contextManagerWith((ctx, fn, thisArg, ...args) => {
          contextManager.with(ctx, fn, thisArg, ...args);
          throw new Error('context manager bug on the way out');
        }),
      );
      let answer: unknown;
      try {
        answer = cif().createSession!({ templateName: 't' });
      } finally {
        context.disable();
        context.setGlobalContextManager(contextManager.enable());
      }
      expect(await answer).to.equal('session-7');
      expect(received.map((r) => r.method)).to.deep.equal(['createSession']);
      expect(finished().map((span) => [span.name, span.status.code])).to.deep.equal([['Microsoft.CIFramework/createSession', SpanStatusCode.UNSET]]);
    });

    [
      { call: 'setPresence', suppressed: false },
      { call: 'addHandler', suppressed: false },
      { call: 'addHandler', suppressed: true },
    ].forEach(({ call, suppressed }) =>
      it(`leaves no rejection unhandled when ${call}${suppressed ? ', with tracing suppressed,' : ''} answers a thenable whose async then throws, and the widget does not wait`, async () => {
        const library = install();
        library[call] = () => ({
          async then() {
            throw new Error('host bug');
          },
        });
        register();
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => void unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          const made = () => void cif()[call]!('onclicktoact', () => {});
          if (suppressed) context.with(suppressTracing(context.active()), made);
          else made();
          await flushMicrotasks();
          await flushMicrotasks();
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
        expect(unhandled).to.deep.equal([]);
      }),
    );

    it('ends the span once, with the first answer, when a thenable calls back twice', async () => {
      const library = install();
      library.getMode = () => ({ then: (resolve: () => void, reject: (reason: unknown) => void) => (resolve(), reject(new Error('late'))) });
      register();
      const warnings = captureDiag();
      cif().getMode!();
      expect(finished()).to.deep.equal([callSpan('getMode', undefined)]);
      expect(warnings).to.deep.equal([]);
    });
  });

  describe('correlationId', () => {
    const DATA = { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [] };
    [
      { call: 'createSession', args: [{ templateName: 't' }], host: [{ templateName: 't' }, TRACE_GUID] },
      { call: 'updateContext', args: [{ customer: 'Contoso' }, 'session-1'], host: [{ customer: 'Contoso' }, 'session-1', undefined, TRACE_GUID] },
      { call: 'updateContext', args: [{ customer: 'Contoso' }, 'session-1', true, 'mine'], host: [{ customer: 'Contoso' }, 'session-1', true, 'mine'] },
      { call: 'createSession', args: [{ templateName: 't' }, undefined], host: [{ templateName: 't' }, undefined] },
      { call: 'getMode', args: [], host: [] },
      { call: 'searchAndOpenRecords', args: ['contact', '?$top=1', true], host: ['contact', '?$top=1', true] },
    ].forEach(({ call, args, host }) =>
      it(`calls ${call}(${args.map((a) => JSON.stringify(a) ?? 'undefined').join(', ')}) as ${call}(${host.map((a) => JSON.stringify(a) ?? 'undefined').join(', ')})`, async () => {
        install();
        register();
        await tracer().startActiveSpan('call', async (span) => {
          await cif()[call]!(...args);
          span.end();
        });
        expect(received).to.deep.equal([{ method: call, self: cif(), args: host }]);
      }),
    );

    it("gives logAnalyticsEvent without a correlationId the trace id as a GUID, and leaves the widget's own alone", async () => {
      install();
      register();
      await tracer().startActiveSpan('call', async (span) => {
        await cif().logAnalyticsEvent!(DATA, 'CallHold');
        await cif().logAnalyticsEvent!(DATA, 'CallHold', 'b1e2c3d4-0000-4000-8000-000000000001');
        span.end();
      });
      expect(fake.client.calls.map((c) => c.correlationId)).to.deep.equal([TRACE_GUID, 'b1e2c3d4-0000-4000-8000-000000000001']);
    });

    [
      { what: 'with correlationId: false', config: { correlationId: false }, provider: 'default', expected: [[{ templateName: 't' }]] },
      { what: 'when no tracer provider is set, so there is no trace id', config: {}, provider: new ProxyTracerProvider(), expected: [[{ templateName: 't' }]] },
      { what: 'when the sampler drops the span, with the trace id still', config: {}, provider: 'off', expected: [[{ templateName: 't' }, TRACE_GUID]] },
    ].forEach(({ what, config, provider: chosen, expected }) =>
      it(`fills the correlationId as the rule says ${what}`, async () => {
        install();
        const off = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, sampler: new AlwaysOffSampler() });
        register(config, chosen === 'off' ? off : typeof chosen === 'object' ? chosen : provider);
        await cif().createSession!({ templateName: 't' });
        expect(received.map((r) => r.args)).to.deep.equal(expected);
      }),
    );
  });

  describe('the exporter', () => {
    it("makes no span for the exporter's own logAnalyticsEvent calls, and no KPI event for the call spans of a CIF session", async () => {
      install();
      const exporter = new CifSpanExporter({ client: cif() as never });
      provider = new BasicTracerProvider({
        idGenerator: FIXED_TRACE_ID,
        spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(spans), new SimpleSpanProcessor(exporter)],
      });
      register();
      await withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1' }, () =>
        tracer().startActiveSpan('hold', async (span) => {
          recordKpiEvent(span, 'CallHold');
          await cif().setPresence!('On hold');
          span.end();
        }),
      );
      await provider.forceFlush();
      expect(finished().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/setPresence', 'hold']);
      expect(fake.client.calls.map((c) => [c.eventName, c.correlationId])).to.deep.equal([['CallHold', TRACE_GUID]]);
      expect(exporter.getStats().kpiEventsSent).to.equal(1);
    });

    it("makes a CLIENT span of each of the exporter's calls where no context manager is registered, which is no CIF span and sends nothing", async () => {
      install();
      register();
      const exporter = new CifSpanExporter({ client: cif() as never });
      context.disable();
      try {
        exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallHold', '2026-11-25T10:15:30.123Z')] })], () => {});
        await exporter.forceFlush();
        expect(spans.getFinishedSpans().map((s) => [s.name, s.kind])).to.deep.equal([['Microsoft.CIFramework/logAnalyticsEvent', SpanKind.CLIENT]]);
        exporter.export(spans.getFinishedSpans(), () => {});
        await exporter.forceFlush();
      } finally {
        context.setGlobalContextManager(contextManager.enable());
        await exporter.shutdown();
      }
      expect(exporter.getStats()).to.include({ spansSeen: 2, cifSpans: 1, kpiEventsSent: 1 });
      expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['CallHold']);
    });
  });

  describe('handlers', () => {
    it('runs a handler the host calls inside a span naming the event, the parent of the spans it starts', async () => {
      install();
      register();
      const seen: unknown[] = [];
      const handler = function (this: unknown, eventData: unknown) {
        seen.push(eventData);
        tracer().startSpan('show session').end();
        return Promise.resolve('handled');
      };
      cif().addHandler!('onsessionswitched', handler);
      const payload = { sessionId: 'session-2', focused: true, context: {} };
      expect(await fake.fireEvent('onsessionswitched', payload)).to.deep.equal(['handled']);
      expect(seen).to.deep.equal([payload]);
      expect(seen[0]).to.equal(payload);
      expect(finished()).to.deep.equal([
        callSpan('addHandler', undefined),
        { name: 'show session', kind: 'INTERNAL', parent: spanIdOf('Microsoft.CIFramework onsessionswitched'), status: { code: SpanStatusCode.UNSET }, attributes: {}, events: [] },
        {
          name: 'Microsoft.CIFramework onsessionswitched',
          kind: 'INTERNAL',
          parent: undefined,
          status: { code: SpanStatusCode.UNSET },
          attributes: { 'ciframework.event': 'onsessionswitched' },
          events: [],
        },
      ]);
    });

    it('marks the span of a handler that throws ERROR, and the host sees the same throw', async () => {
      install();
      register();
      const thrown = new Error('no session');
      cif().addHandler!('onsessionclosed', () => {
        throw thrown;
      });
      expect(await fake.fireEvent('onsessionclosed').catch((error: unknown) => error)).to.equal(thrown);
      expect(finished()[1]).to.deep.equal({
        name: 'Microsoft.CIFramework onsessionclosed',
        kind: 'INTERNAL',
        parent: undefined,
        status: { code: SpanStatusCode.ERROR, message: 'no session' },
        attributes: { 'ciframework.event': 'onsessionclosed' },
        events: [{ name: 'exception', attributes: { 'exception.type': 'Error', 'exception.message': 'no session', 'exception.stacktrace': thrown.stack } }],
      });
    });

    it('describes what a handler throws as its own, not as a host rejection, when it is no Error', async () => {
      install();
      register();
      const thrown = { code: 'E_NO_SESSION' };
      cif().addHandler!('onsessionclosed', () => {
        throw thrown;
      });
      expect(await fake.fireEvent('onsessionclosed').catch((error: unknown) => error)).to.equal(thrown);
      expect(finished()[1]).to.deep.include({
        status: { code: SpanStatusCode.ERROR, message: '{"code":"E_NO_SESSION"}' },
        events: [{ name: 'exception', attributes: { 'exception.message': '{"code":"E_NO_SESSION"}' } }],
      });
    });

    it('removes with removeHandler a handler added twice, and the host held it once', async () => {
      install();
      register();
      let calls = 0;
      const handler = () => void calls++;
      cif().addHandler!('onmodechanged', handler);
      cif().addHandler!('onModeChanged', handler);
      await fake.fireEvent('onmodechanged', 0);
      expect(await cif().removeHandler!('onmodechanged', handler)).to.equal(true);
      await fake.fireEvent('onmodechanged', 1);
      expect(calls).to.equal(1);
    });

    [
      { when: 'after disable()', enableAgain: false },
      { when: 'after disable() and enable()', enableAgain: true },
    ].forEach(({ when, enableAgain }) =>
      it(`removes with removeHandler a handler added before, ${when}: the host holds the handler itself again`, async () => {
        install();
        register();
        let calls = 0;
        const handler = () => void calls++;
        cif().addHandler!('onclicktoact', handler);
        instrumentation.disable();
        if (enableAgain) instrumentation.enable();
        await fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' });
        expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
        await fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' });
        expect(calls).to.equal(1);
        expect(finished().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/addHandler', ...(enableAgain ? ['Microsoft.CIFramework/removeHandler'] : [])]);
      }),
    );
  });

  describe('handlers, as the widget and the host use them', () => {
    it('runs a handler without a span when the host calls it with tracing suppressed', async () => {
      install();
      register();
      const handler = () => tracer().startSpan('inside').end();
      cif().addHandler!('onsessionclosed', handler);
      await context.with(suppressTracing(context.active()), () => fake.fireEvent('onsessionclosed'));
      expect(finished().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/addHandler']);
    });

    [
      { when: 'with tracing suppressed', remove: (run: () => unknown) => context.with(suppressTracing(context.active()), run) },
      { when: 'by a tracer that throws by then', remove: (run: () => unknown) => ((tracerBroken = true), run()) },
    ].forEach(({ when, remove }) =>
      it(`removes a handler added while traced when removeHandler is not traced, ${when}`, async () => {
        install();
        const working = provider.getTracer('x');
        const flaky = { getTracer: () => ({ startSpan: (...args: Parameters<Tracer['startSpan']>) => { if (tracerBroken) throw new Error('tracer bug'); return working.startSpan(...args); } }) };
        register({}, flaky as unknown as TracerProvider);
        const calls: unknown[] = [];
        const handler = (data: unknown) => void calls.push(data);
        await cif().addHandler!('onclicktoact', handler);
        await remove(() => cif().removeHandler!('onclicktoact', handler));
        await fake.fireEvent('onclicktoact', '{"value":"555"}');
        expect(calls).to.deep.equal([]);
      }),
    );

    it('passes the arguments after the handler on to the host', () => {
      const library = install();
      const seen = recordAddHandler(library);
      register();
      const handler = () => {};
      cif().addHandler!('onmodechanged', handler, 'extra', 2);
      expect(seen).to.have.length(1);
      expect([seen[0]![0], typeof seen[0]![1], seen[0]![1] === handler, seen[0]!.slice(2)]).to.deep.equal(['onmodechanged', 'function', false, ['extra', 2]]);
    });

    it('passes a handler that is not a function as it is, and wraps one added for an event name that is not a string', async () => {
      const library = install();
      const seen = recordAddHandler(library);
      register();
      const handler = () => 'handled';
      cif().addHandler!('onclicktoact', undefined);
      cif().addHandler!(42, handler);
      expect([seen[0], seen[1]![0], seen[1]![1] === handler]).to.deep.equal([['onclicktoact', undefined], 42, false]);
      expect(await fake.fireEvent('42')).to.deep.equal(['handled']);
      expect(finished().map((s) => s.name).slice(-1)).to.deep.equal(['Microsoft.CIFramework 42']);
    });

    it('passes a handler given to another method as it is, and removeHandler still removes it', async () => {
      install();
      register();
      let calls = 0;
      const handler = () => void calls++;
      cif().addHandler!('onclicktoact', handler);
      await cif().searchAndOpenRecords!('onclicktoact', handler);
      expect(received[0]!.args[1]).to.equal(handler);
      expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
      await fake.fireEvent('onclicktoact', {});
      expect(calls).to.equal(0);
    });

    it('keeps a handler removed after disable(), and one handler on two events removable from each', async () => {
      install();
      register();
      const seen: string[] = [];
      const handler = (event: unknown) => void seen.push(String(event));
      cif().addHandler!('onmodechanged', handler);
      cif().addHandler!('onsizechanged', handler);
      expect(await cif().removeHandler!('onmodechanged', handler)).to.equal(true);
      expect(await cif().removeHandler!('onsizechanged', handler)).to.equal(true);
      instrumentation.disable();
      await fake.fireEvent('onmodechanged', 'mode');
      await fake.fireEvent('onsizechanged', 'size');
      expect(seen).to.deep.equal([]);
    });


    it('lets go of a handler the widget removed', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('this test needs node --expose-gc (see .mocharc.json)');
      install();
      register();
      // Made in a function of its own, so this test keeps no reference to the handler.
      const removed = await (async () => {
        const handler = () => {};
        cif().addHandler!('onmodechanged', handler);
        await cif().removeHandler!('onmodechanged', handler);
        return new WeakRef(handler);
      })();
      await flushMicrotasks();
      gc();
      expect(removed.deref()).to.equal(undefined);
    });

    const refusals: Array<{ how: string; answer: () => unknown }> = [
      { how: 'throws', answer: () => { throw new Error('host refuses'); } },
      { how: 'rejects', answer: () => Promise.reject(new Error('host refuses')) },
      { how: 'answers false', answer: () => false },
      { how: 'resolves with false', answer: () => Promise.resolve(false) },
    ];
    /** Makes the host's addHandler refuse while `refusing()`, and records each addHandler and removeHandler it gets. */
    const refuseAddHandler = (library: Library, answer: () => unknown, refusing: () => boolean = () => true) => {
      const hostAdd = library.addHandler!;
      const hostRemove = library.removeHandler!;
      const calls: string[] = [];
      library.addHandler = function (this: unknown, ...args: unknown[]) {
        calls.push('addHandler');
        return refusing() ? answer() : hostAdd.apply(this, args);
      };
      library.removeHandler = function (this: unknown, ...args: unknown[]) {
        calls.push('removeHandler');
        return hostRemove.apply(this, args);
      };
      return calls;
    };
    /** The widget's addHandler, its throw or rejection caught as a widget that retries catches it. */
    const tryAddHandler = async (eventName: string, handler: Fn) => {
      try {
        return await cif().addHandler!(eventName, handler);
      } catch {
        return 'refused';
      }
    };

    refusals.forEach(({ how, answer }) =>
      [false, true].forEach((suppressed) =>
        it(`forgets each handler the host refused, when its addHandler ${how}${suppressed ? ' with tracing suppressed' : ''}: disable() hands the host none of them back`, async () => {
          const calls = refuseAddHandler(install(), answer);
          register();
          const attempt = () => tryAddHandler('onclicktoact', () => {});
          for (let retry = 0; retry < 3; retry++) await (suppressed ? context.with(suppressTracing(context.active()), attempt) : attempt());
          await flushMicrotasks();
          instrumentation.disable();
          expect(calls).to.deep.equal(['addHandler', 'addHandler', 'addHandler']);
        }),
      ),
    );

    it('lets go of the handlers the host refused', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('this test needs node --expose-gc (see .mocharc.json)');
      refuseAddHandler(install(), () => Promise.reject(new Error('not in a session yet')));
      register();
      // Made in a function of its own, so this test keeps no reference to the handlers.
      const refused = await (async () => {
        const handlers = [() => {}, () => {}];
        for (const handler of handlers) await tryAddHandler('onsessionswitched', handler);
        return handlers.map((handler) => new WeakRef(handler));
      })();
      await flushMicrotasks();
      gc();
      expect(refused.map((handler) => handler.deref())).to.deep.equal([undefined, undefined]);
    });

    refusals.forEach(({ how, answer }) =>
      it(`keeps a handler the host took when it refuses the same handler again, as its addHandler ${how}: removeHandler removes it`, async () => {
        let refusing = false;
        const calls = refuseAddHandler(install(), answer, () => refusing);
        register();
        let runs = 0;
        const handler = () => void runs++;
        await tryAddHandler('onmodechanged', handler);
        refusing = true;
        expect(await tryAddHandler('onModeChanged', handler)).to.equal(how.includes('false') ? false : 'refused');
        await flushMicrotasks();
        expect(await cif().removeHandler!('onmodechanged', handler)).to.equal(true);
        await fake.fireEvent('onmodechanged', 0);
        instrumentation.disable();
        expect([runs, calls]).to.deep.equal([0, ['addHandler', 'addHandler', 'removeHandler']]);
      }),
    );

    [
      { answers: ['refuses', 'takes'], held: true },
      { answers: ['takes', 'refuses'], held: true },
      { answers: ['refuses', 'refuses'], held: false },
    ].forEach(({ answers, held }) =>
      it(`with the same handler added twice before the host answers, and the host ${answers.join(' then ')} it, ${held ? 'keeps it: disable() hands the host the handler itself' : 'forgets it'}`, async () => {
        const library = install();
        const hostAdd = library.addHandler!;
        const settle: Array<(taken: boolean) => void> = [];
        let deferring = true;
        const calls: string[] = [];
        library.addHandler = function (this: unknown, ...args: unknown[]) {
          calls.push('addHandler');
          if (!deferring) return hostAdd.apply(this, args);
          return new Promise((resolve, reject) => settle.push((taken) => (taken ? resolve(hostAdd.apply(this, args)) : reject(new Error('refused')))));
        };
        register();
        let runs = 0;
        const handler = () => void runs++;
        const added = [tryAddHandler('onsessionclosed', handler), tryAddHandler('onsessionclosed', handler)];
        answers.forEach((answer, n) => settle[n]!(answer === 'takes'));
        await Promise.all(added);
        deferring = false;
        instrumentation.disable();
        await fake.fireEvent('onsessionclosed');
        expect([runs, calls.length]).to.deep.equal(held ? [1, 3] : [0, 2]);
      }),
    );

    it("keeps the handler added again after removeHandler when the host refuses the first addHandler only after that", async () => {
      const library = install();
      const hostAdd = library.addHandler!;
      let refuseFirst: (() => void) | undefined;
      library.addHandler = function (this: unknown, ...args: unknown[]) {
        if (refuseFirst) return hostAdd.apply(this, args);
        return new Promise((_resolve, reject) => (refuseFirst = () => reject(new Error('refused'))));
      };
      register();
      let runs = 0;
      const handler = () => void runs++;
      const first = tryAddHandler('onsendkbarticle', handler);
      await cif().removeHandler!('onsendkbarticle', handler);
      await tryAddHandler('onsendkbarticle', handler);
      refuseFirst!();
      expect(await first).to.equal('refused');
      expect(await cif().removeHandler!('onsendkbarticle', handler)).to.equal(true);
      await fake.fireEvent('onsendkbarticle');
      expect(runs).to.equal(0);
    });

    it('counts only the first answer of a host whose thenable calls back twice, as a refusal then as taken', async () => {
      const library = install();
      const hostAdd = library.addHandler!;
      let calls = 0;
      const onRefused: Array<(reason: unknown) => void> = [];
      let takeSecond!: () => void;
      library.addHandler = function (this: unknown, ...args: unknown[]) {
        if (++calls === 2) return new Promise<void>((resolve) => (takeSecond = () => resolve(hostAdd.apply(this, args) as undefined)));
        return { then: (_onTaken: unknown, refused: (reason: unknown) => void) => void onRefused.push(refused) };
      };
      register();
      let runs = 0;
      const handler = () => void runs++;
      cif().addHandler!('onpagenavigate', handler);
      const second = cif().addHandler!('onpagenavigate', handler);
      // The first answer calls back twice, refusing, while the second is not answered yet: it counts once.
      for (const reason of ['refused', 'again']) for (const refused of onRefused) refused(new Error(reason));
      takeSecond();
      await second;
      expect(await cif().removeHandler!('onpagenavigate', handler)).to.equal(true);
      await fake.fireEvent('onpagenavigate');
      expect(runs).to.equal(0);
    });

    it('forgets nothing it no longer holds, and leaves no rejection unhandled, when the host refuses a handler after disable()', async () => {
      const library = install();
      const refusals: Array<() => void> = [];
      library.addHandler = () => new Promise((_resolve, reject) => refusals.push(() => reject(new Error('refused late'))));
      register();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const added = tryAddHandler('onsessionswitched', () => {});
        instrumentation.disable();
        // The widget's addHandler, then the one disable() made to hand the host the handler itself.
        for (const refuse of refusals) refuse();
        expect(await added).to.equal('refused');
        await flushMicrotasks();
        await flushMicrotasks();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
    });

    ['takes', 'refuses'].forEach((answer) =>
      it(`leaves no rejection unhandled when the host ${answer} a handler the widget removed before the answer came`, async () => {
        const library = install();
        const hostAdd = library.addHandler!;
        let settle!: () => void;
        library.addHandler = function (this: unknown, ...args: unknown[]) {
          return new Promise((resolve, reject) => (settle = () => (answer === 'takes' ? resolve(hostAdd.apply(this, args)) : reject(new Error('refused')))));
        };
        register();
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => void unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        try {
          const handler = () => {};
          const added = tryAddHandler('onsetpresence', handler);
          expect(await cif().removeHandler!('onsetpresence', handler)).to.equal(false);
          settle();
          expect(await added).to.equal(answer === 'takes' ? undefined : 'refused');
          await flushMicrotasks();
          await flushMicrotasks();
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
        expect(unhandled).to.deep.equal([]);
      }),
    );

    [
      { how: 'takes it', answer: undefined },
      { how: 'answers false', answer: false },
    ].forEach(({ how, answer }) =>
      it(`returns the host's answer when its addHandler runs a handler that removes itself, then ${how}`, () => {
        const library = install();
        const hostAdd = library.addHandler!;
        library.addHandler = function (this: unknown, eventName: unknown, handler: unknown) {
          if (answer !== false) hostAdd.call(this, eventName, handler);
          (handler as Fn)('fired on add');
          return answer;
        };
        register();
        const seen: unknown[] = [];
        const once = (data: unknown) => {
          seen.push(data);
          void cif().removeHandler!('onmodechanged', once);
        };
        expect(cif().addHandler!('onmodechanged', once)).to.equal(answer);
        expect(seen).to.deep.equal(['fired on add']);
      }),
    );

    it('leaves no rejection unhandled when the host refuses to swap a handler back on disable()', async () => {
      const library = install();
      library.removeHandler = () => Promise.reject(new Error('host refuses'));
      register();
      cif().addHandler!('onsetpresence', () => {});
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        instrumentation.disable();
        await flushMicrotasks();
        await flushMicrotasks();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
    });
  });

  describe('enable and disable', () => {
    it('traces a library that arrives after enable(), with CIFInitDone', async () => {
      register();
      install();
      await cif().setPresence!('Available');
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined)]);
    });

    it('traces a library that replaces the one there, and puts back the functions of both on disable()', async () => {
      const first = install();
      const firstOriginals = snapshot(first);
      register();
      fake.uninstall();
      const second = install();
      await second.setPresence!('Busy');
      await first.setPresence!('Available');
      instrumentation.disable();
      await second.setPresence!('Away');
      await second.logAnalyticsEvent!({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'CallHold');
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined), callSpan('setPresence', undefined)]);
      expect(snapshot(first)).to.deep.equal(firstOriginals);
      expect(Object.getOwnPropertyNames(second).sort()).to.deep.equal(['addHandler', 'getFocusedSession', 'getPresence', 'getSession', 'logAnalyticsEvent', 'removeHandler', 'setPresence']);
      expect(fake.client.calls.map((c) => c.correlationId)).to.deep.equal([undefined]);
    });

    it('lets go of each library the page replaced, and still puts back the functions of one the widget kept', async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('this test needs node --expose-gc (see .mocharc.json)');
      const kept = install();
      const keptOriginals = snapshot(kept);
      register();
      // Made in a function of its own, so this test keeps no reference to the libraries it replaces.
      const replaced = (() => {
        const refs: Array<WeakRef<object>> = [];
        for (let i = 0; i < 20; i++) {
          fake.uninstall();
          refs.push(new WeakRef(install()));
        }
        return refs;
      })();
      await flushMicrotasks();
      gc();
      // Each but the one on the page now.
      expect(replaced.map((ref) => ref.deref() === undefined)).to.deep.equal([...Array<boolean>(19).fill(true), false]);
      // The next library prunes the list of those wrapped: the one kept, the one it replaces, itself.
      fake.uninstall();
      install();
      expect((instrumentation as unknown as { libraries: unknown[] }).libraries.length).to.be.at.most(3);
      // A wrapper inherits from the function it wraps.
      const wrappedOfCurrent = () => Object.values(snapshot(cif())).filter((f) => Object.getPrototypeOf(f) !== Function.prototype).length;
      expect(wrappedOfCurrent()).to.be.greaterThan(0);
      await kept.setPresence!('Busy');
      instrumentation.disable();
      expect(snapshot(kept)).to.deep.equal(keptOriginals);
      expect(wrappedOfCurrent()).to.equal(0);
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined)]);
    });

    it('wraps each function once however often it is enabled, and restores the originals when disabled twice', async () => {
      const library = install();
      const originals = snapshot(library);
      const own = Object.keys(library);
      register();
      instrumentation.enable();
      target.dispatchEvent(new Event('CIFInitDone'));
      expect(snapshot(library)).to.have.keys(Object.keys(originals));
      await cif().setPresence!('Available');
      instrumentation.disable();
      instrumentation.disable();
      expect(snapshot(library)).to.deep.equal(originals);
      expect(Object.keys(library)).to.deep.equal(own);
      instrumentation.enable();
      await cif().setPresence!('Busy');
      instrumentation.disable();
      await cif().setPresence!('Away');
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined), callSpan('setPresence', undefined)]);
    });

    it('makes one span per call and per handler run with two instrumentations on the page, and restores the originals when both are disabled', async () => {
      const library = install();
      const originals = snapshot(library);
      register();
      const second = new CifInstrumentation({ target });
      second.setTracerProvider(provider);
      let calls = 0;
      const handler = () => void calls++;
      await cif().addHandler!('onclicktoact', handler);
      await fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' });
      expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
      await fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' });
      second.disable();
      instrumentation.disable();
      expect(snapshot(library)).to.deep.equal(originals);
      expect([calls, finished().map((s) => s.name)]).to.deep.equal([
        1,
        ['Microsoft.CIFramework/addHandler', 'Microsoft.CIFramework onclicktoact', 'Microsoft.CIFramework/removeHandler'],
      ]);
    });

    it('makes one span per call with two copies of the library on the page, as a script-tag bundle beside a module build', async () => {
      // A copy of the module loaded afresh, as a second bundle of the package brings its own.
      const url = new URL(`../../src/instrumentation/cif-instrumentation.ts?copy-${++copies}`, import.meta.url);
      const { CifInstrumentation: OtherCopy } = (await import(url.href)) as { CifInstrumentation: typeof CifInstrumentation };
      const library = install();
      const originals = snapshot(library);
      register();
      const other = new OtherCopy({ target });
      other.setTracerProvider(provider);
      await cif().setPresence!('Busy');
      other.disable();
      instrumentation.disable();
      expect(snapshot(library)).to.deep.equal(originals);
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined)]);
    });

    [false, true].forEach((otherCopy) =>
      it(`keeps tracing through a second instrumentation${otherCopy ? ' of another copy of the library' : ''} once the first is disabled`, async () => {
        const url = new URL(`../../src/instrumentation/cif-instrumentation.ts?copy-${++copies}`, import.meta.url);
        const Second = otherCopy ? ((await import(url.href)) as { CifInstrumentation: typeof CifInstrumentation }).CifInstrumentation : CifInstrumentation;
        const library = install();
        const originals = snapshot(library);
        register();
        const second = new Second({ target });
        second.setTracerProvider(provider);
        instrumentation.disable();
        await cif().setPresence!('Busy');
        second.disable();
        await cif().setPresence!('Away');
        expect(snapshot(library)).to.deep.equal(originals);
        expect(finished()).to.deep.equal([callSpan('setPresence', undefined)]);
      }),
    );

    it('leaves a function the page replaced after enable() where the page put it', () => {
      const library = install();
      register();
      const pages = () => 'the page';
      library.getMode = pages;
      instrumentation.disable();
      expect(library.getMode).to.equal(pages);
    });

    it('is enabled by registerInstrumentations when created with enabled: false', async () => {
      install();
      instrumentation = new CifInstrumentation({ target, enabled: false });
      await cif().setPresence!('Available');
      expect(finished()).to.deep.equal([]);
      unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
      await cif().setPresence!('Busy');
      expect(finished()).to.deep.equal([callSpan('setPresence', undefined)]);
    });
  });

  describe('enable and disable, in detail', () => {
    it('leaves the functions alone when created with enabled: false', () => {
      const library = install();
      const originals = snapshot(library);
      instrumentation = new CifInstrumentation({ target, enabled: false });
      instrumentation.setTracerProvider(provider);
      expect(snapshot(library)).to.deep.equal(originals);
    });

    it('makes no span from a wrapper the page kept after disable()', async () => {
      install();
      register();
      const kept = cif().createSession!;
      instrumentation.disable();
      await kept.call(cif(), { templateName: 't' });
      expect(finished()).to.deep.equal([]);
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }]]);
    });

    it('passes the widget\'s own handler to the host through an addHandler wrapper the page kept after disable()', async () => {
      const library = install();
      const seen = recordAddHandler(library);
      register();
      const kept = cif().addHandler!;
      instrumentation.disable();
      const handler = () => undefined;
      await kept.call(cif(), 'onclicktoact', handler);
      expect(seen).to.deep.equal([['onclicktoact', handler]]);
    });

    it('wraps a writable function the library holds as an own property that cannot be reconfigured, and keeps it enumerable', async () => {
      const library = install();
      const setPresence = library.setPresence!;
      Reflect.deleteProperty(library, 'setPresence');
      Object.defineProperty(library, 'setPresence', { value: setPresence, writable: true, enumerable: true, configurable: false });
      register();
      expect(cif().setPresence).not.to.equal(setPresence);
      expect(Object.getOwnPropertyDescriptor(cif(), 'setPresence')).to.include({ writable: true, enumerable: true, configurable: false });
      await cif().setPresence!('Available');
      expect(finished().map((span) => span.name)).to.deep.equal(['Microsoft.CIFramework/setPresence']);
    });

    /** Makes `target` one that records each listener added and removed. */
    function listeningTarget(): { calls: string[]; listeners: Set<unknown> } {
      const calls: string[] = [];
      const listeners = new Set<unknown>();
      target = Object.assign(new EventTarget(), {
        addEventListener: (type: string, listener: unknown) => (calls.push(`add ${type}`), listeners.add(listener)),
        removeEventListener: (type: string, listener: unknown) => (calls.push(`remove ${type}`), listeners.delete(listener)),
      }) as unknown as Host;
      return { calls, listeners };
    }

    it('listens for CIFInitDone on the target setConfig gives from the next enable(), and no longer on the one before', async () => {
      const { calls, listeners } = listeningTarget();
      register();
      const frame = new EventTarget() as Host;
      instrumentation.setConfig({ target: frame });
      instrumentation.enable();
      install(frame);
      await frame.Microsoft!.CIFramework!.setPresence!('Available');
      expect([finished(), calls, listeners.size]).to.deep.equal([[callSpan('setPresence', undefined)], ['add CIFInitDone', 'add opentelemetry-exporter-cif.unwrapped', 'remove CIFInitDone', 'remove opentelemetry-exporter-cif.unwrapped'], 0]);
    });

    it('stops listening for CIFInitDone on disable()', () => {
      const { calls, listeners } = listeningTarget();
      register();
      instrumentation.disable();
      expect([calls, listeners.size]).to.deep.equal([['add CIFInitDone', 'add opentelemetry-exporter-cif.unwrapped', 'remove CIFInitDone', 'remove opentelemetry-exporter-cif.unwrapped'], 0]);
    });

    it('wraps nothing at a CIFInitDone after disable(), even where the listener cannot be removed', () => {
      target.removeEventListener = () => {
        throw new Error('no removing');
      };
      register();
      instrumentation.disable();
      const getMode = () => 1;
      target.Microsoft = { CIFramework: { getMode } };
      target.dispatchEvent(new Event('CIFInitDone'));
      expect(target.Microsoft.CIFramework!.getMode).to.equal(getMode);
    });

    it('traces the functions a library inherits from its class, without changing what it lists, and puts them back', async () => {
      class Base {
        getMode() {
          return 2;
        }
      }
      class CifLibrary extends Base {}
      const library = new CifLibrary();
      target.Microsoft = { CIFramework: library as unknown as Library };
      register();
      expect(library.getMode()).to.equal(2);
      expect([Object.keys(library), Object.getOwnPropertyNames(library)]).to.deep.equal([[], ['getMode']]);
      const pages = () => 3;
      (library as { getMode: () => number }).getMode = pages;
      instrumentation.disable();
      expect(library.getMode).to.equal(pages);
      delete (library as { getMode?: unknown }).getMode;
      instrumentation.enable();
      instrumentation.disable();
      expect(Object.getOwnPropertyNames(library)).to.deep.equal([]);
      expect(finished()).to.deep.equal([callSpan('getMode', undefined)]);
    });

    it("calls the function the library's class holds at the time of the call, should the library change it after enable()", async () => {
      class CifLibrary {
        getMode(): number {
          throw new Error('CIF has not started');
        }
      }
      const library = new CifLibrary();
      target.Microsoft = { CIFramework: library as unknown as Library };
      register();
      // A library that swaps a start-up stub for its implementation once it has started.
      CifLibrary.prototype.getMode = function (this: unknown) {
        return this === library ? 2 : 0;
      };
      target.dispatchEvent(new Event('CIFInitDone'));
      expect(library.getMode()).to.equal(2);
      expect(finished()).to.deep.equal([callSpan('getMode', undefined)]);
    });

    it('traces a CIFramework that is a function, and wraps nothing every object or function has', async () => {
      const library = Object.assign(function CIFramework() {}, { getMode: () => 1 });
      const own = Object.getOwnPropertyNames(library).sort();
      target.Microsoft = { CIFramework: library as unknown as Library };
      register();
      expect(library.getMode()).to.equal(1);
      expect(Object.getOwnPropertyNames(library).sort()).to.deep.equal(own);
      expect(finished()).to.deep.equal([callSpan('getMode', undefined)]);
      const plain = install();
      const names = Object.getOwnPropertyNames(plain).sort();
      instrumentation.enable();
      expect(Object.getOwnPropertyNames(plain).sort()).to.deep.equal(names);
    });
  });

  describe('the debug trail', () => {
    it('says when the library is not there yet', () => {
      const lines = captureDebug();
      register();
      target.Microsoft = { CIFramework: null as unknown as Library };
      instrumentation.enable();
      target.Microsoft = { CIFramework: 'loading' as unknown as Library };
      instrumentation.enable();
      expect(lines).to.deep.equal([
        'Microsoft.CIFramework is not on the page yet; its calls are traced from CIFInitDone',
        'Microsoft.CIFramework is not on the page yet; its calls are traced from CIFInitDone',
        'Microsoft.CIFramework is not on the page yet; its calls are traced from CIFInitDone',
      ]);
    });

    it('says that a second instrumentation wraps the functions a disabled one put back, and nothing when the disabled one put nothing back', () => {
      install();
      register();
      const second = new CifInstrumentation({ target });
      const third = new CifInstrumentation({ target });
      const lines = captureDebug();
      third.disable();
      instrumentation.disable();
      const all = Object.keys(snapshot(cif())).length;
      expect(lines).to.deep.equal([`tracing ${all} more functions of Microsoft.CIFramework, ${all} in all`]);
      second.disable();
    });

    it('tells no other instrumentation when the page replaced the one function it wrapped', () => {
      const library: Library = { getMode: () => 1 };
      target.Microsoft = { CIFramework: library };
      register();
      const second = new CifInstrumentation({ target });
      const pages = () => 'the page';
      library.getMode = pages;
      const lines = captureDebug();
      instrumentation.disable();
      expect(library.getMode).to.equal(pages);
      expect(lines).to.deep.equal([]);
      second.disable();
    });

    it('leaves its wrapper, calling through, and tells no other instrumentation when the library was frozen since', async () => {
      const library: Library = { getMode: () => 1 };
      target.Microsoft = { CIFramework: library };
      register();
      const second = new CifInstrumentation({ target });
      Object.freeze(library);
      const lines = captureDebug();
      expect(() => instrumentation.disable()).not.to.throw();
      expect(library.getMode!()).to.equal(1);
      await flushMicrotasks();
      expect(finished()).to.deep.equal([]);
      expect(lines).to.deep.equal([]);
      second.disable();
    });

    it('leaves its wrapper and tells no other instrumentation when the library is a proxy whose traps start to throw', () => {
      let hostile = false;
      const library = new Proxy<Library>(
        { getMode: () => 1 },
        {
          getOwnPropertyDescriptor: (object, name) => {
            if (hostile) throw new Error('page bug');
            return Reflect.getOwnPropertyDescriptor(object, name);
          },
        },
      );
      target.Microsoft = { CIFramework: library };
      register();
      const second = new CifInstrumentation({ target });
      const wrapper = library.getMode;
      hostile = true;
      const lines = captureDebug();
      expect(() => instrumentation.disable()).not.to.throw();
      expect(library.getMode).to.equal(wrapper);
      expect(library.getMode!()).to.equal(1);
      expect(lines).to.deep.equal([]);
      second.disable();
    });

    it('counts what it wraps, and names a function it cannot wrap, but not getters, values and read-only functions', () => {
      const inherited = { searchAndOpenRecords: () => '[]' };
      const library = Object.create(inherited) as Library;
      library.getMode = () => 1;
      Object.defineProperty(library, 'version', { get: () => () => '9.2', set: () => {}, enumerable: true });
      Object.defineProperty(library, 'getWidth', { value: () => 400, writable: false });
      (library as Record<string, unknown>).settings = { mode: 1 };
      Object.preventExtensions(library);
      target.Microsoft = { CIFramework: library };
      const lines = captureDebug();
      register();
      instrumentation.enable();
      expect(lines).to.deep.equal([
        'Microsoft.CIFramework.searchAndOpenRecords cannot be wrapped; its calls are not traced',
        'tracing 1 more functions of Microsoft.CIFramework, 1 in all',
        'Microsoft.CIFramework.searchAndOpenRecords cannot be wrapped; its calls are not traced',
        'tracing 0 more functions of Microsoft.CIFramework, 1 in all',
      ]);
    });

    it('cuts the name of a function it cannot wrap to 100 characters in the line that names it', () => {
      const method = 'm'.repeat(100_000);
      const library = Object.preventExtensions(Object.create({ [method]: () => 'done' }) as Library);
      target.Microsoft = { CIFramework: library };
      const lines = captureDebug();
      register();
      expect(lines[0]).to.equal(`Microsoft.CIFramework.${'m'.repeat(100)} cannot be wrapped; its calls are not traced`);
    });

    it('says when a handler stays wrapped because the host throws when it is swapped back, and not when there is no removeHandler', () => {
      const library = install();
      library.removeHandler = () => {
        throw new Error('host bug');
      };
      register();
      cif().addHandler!('onsessionswitched', () => {});
      const lines = captureDebug();
      instrumentation.disable();
      const other = install();
      delete (other as Record<string, unknown>).removeHandler;
      Object.setPrototypeOf(other, Object.prototype);
      instrumentation.enable();
      cif().addHandler!('onsessionswitched', () => {});
      instrumentation.disable();
      expect(lines.filter((line) => line.includes('stays wrapped'))).to.deep.equal([
        'the onsessionswitched handler stays wrapped: the host did not remove its wrapper',
      ]);
    });
  });

  describe('never breaks the page', () => {
    it('leaves getters, values that are not functions, and read-only functions alone, and still calls them', () => {
      const library = install();
      Object.defineProperty(library, 'version', { get: () => '9.2', configurable: true, enumerable: true });
      Object.defineProperty(library, 'broken', { get: () => { throw new Error('getter bug'); }, configurable: true });
      const fixed = () => 'read-only';
      Object.defineProperty(library, 'getWidth', { value: fixed, writable: false, enumerable: true });
      library.settings = { mode: 1 } as never;
      register();
      expect([library.version, library.getWidth, library.settings]).to.deep.equal(['9.2', fixed, { mode: 1 }]);
      expect(library.getWidth!()).to.equal('read-only');
      expect(() => library.broken).to.throw('getter bug');
      expect(finished()).to.deep.equal([]);
    });

    it('leaves a getter and a read-only function the library inherits alone, and adds no property of its own', () => {
      let made = 0;
      class Library {
        /** A getter that makes its function at each read, as a lazy binding does. */
        get getWidth() {
          const n = ++made;
          return () => n;
        }
      }
      const fixed = () => 'read-only';
      Object.defineProperty(Library.prototype, 'getMode', { value: fixed, writable: false, enumerable: true });
      const library = new Library() as unknown as Library & { getMode(): string };
      target.Microsoft = { CIFramework: library as never };
      register();
      expect([Object.getOwnPropertyNames(library), library.getWidth(), library.getWidth(), library.getMode, library.getMode()]).to.deep.equal([[], 1, 2, fixed, 'read-only']);
      expect(finished()).to.deep.equal([]);
    });

    it('calls the host once, with its arguments, when the tracer throws, under a widget span too', async () => {
      install();
      const broken = { getTracer: () => ({ startSpan: () => { throw new Error('tracer bug'); }, startActiveSpan: () => { throw new Error('tracer bug'); } }) };
      register({}, broken as unknown as TracerProvider);
      expect(await cif().createSession!({ templateName: 't' })).to.equal('session-7');
      const widget = tracer().startSpan('call');
      expect(await context.with(trace.setSpan(context.active(), widget), () => cif().createSession!({ templateName: 'u' }))).to.equal('session-7');
      widget.end();
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }], [{ templateName: 'u' }]]);
    });

    [
      { what: 'a frozen library', library: () => Object.freeze({ getMode: () => 1 }) },
      { what: 'a library whose keys cannot be listed', library: () => new Proxy({ getMode: () => 1 }, { ownKeys: () => { throw new Error('no keys'); } }) },
      { what: 'a Microsoft getter that throws', library: undefined },
    ].forEach(({ what, library }) =>
      it(`enables and disables without a throw on ${what}, leaving it as it is`, () => {
        const made = library?.();
        if (made) target.Microsoft = { CIFramework: made as Library };
        else Object.defineProperty(target, 'Microsoft', { get: () => { throw new Error('no Microsoft'); } });
        const getMode = made?.getMode;
        register();
        if (made) {
          // Not wrapped: the page's own function, and its call makes no span.
          expect([cif().getMode === getMode, cif().getMode!()]).to.deep.equal([true, 1]);
          expect(finished()).to.deep.equal([]);
        }
        instrumentation.disable();
        if (made) expect(cif().getMode!()).to.equal(1);
      }),
    );
  });

  describe('classes and constructors the library holds', () => {
    interface Made {
      id: string;
      describe(): string;
    }
    type Constructor = (new (id: string) => Made) & { kind: string; create(id: string): Made };

    /** A class, with a static value, a static factory that builds with `this`, and a method. */
    class Session {
      static kind = 'session';
      static create(this: Constructor, id: string): Made {
        return new this(id);
      }
      constructor(readonly id: string) {}
      describe() {
        return `session ${this.id}`;
      }
    }
    /** An old-style constructor, with the same statics and a prototype method. */
    function LegacySession(this: Made, id: string) {
      this.id = id;
    }
    Object.assign(LegacySession, { kind: 'legacy session', create: Session.create });
    LegacySession.prototype.describe = function (this: Made) {
      return `legacy session ${this.id}`;
    };

    /** What the widget sees of `Member`, a constructor in place of `original`, as one record to compare whole. */
    const use = (Member: Constructor, original: Constructor) => {
      const made = new Member('s-1');
      const sub = new (class extends Member {})('s-2');
      return {
        made: made.describe(),
        kind: Member.kind,
        created: Member.create('s-3').describe(),
        sub: sub.describe(),
        instanceOf: [made instanceof Member, made instanceof original, new original('s-4') instanceof Member, sub instanceof original],
        prototype: Object.getPrototypeOf(made) === original.prototype,
      };
    };
    /** The library on the page, holding `member` as `name`, traced. */
    const registerWith = (name: string, member: Constructor) => {
      install()[name] = member as unknown as Fn;
      register();
      return cif()[name] as unknown as Constructor;
    };

    [
      { name: 'Session', what: 'a class', member: Session as Constructor, shows: 'session' },
      { name: 'LegacySession', what: 'an old-style constructor', member: LegacySession as unknown as Constructor, shows: 'legacy session' },
    ].forEach(({ name, what, member, shows }) => {
      const asTheOriginal = {
        made: `${shows} s-1`,
        kind: shows,
        created: `${shows} s-3`,
        sub: `${shows} s-2`,
        instanceOf: [true, true, true, true],
        prototype: true,
      };

      it(`builds with new ${what} the library holds, its statics, prototype and subclasses as the original's, and makes no span`, () => {
        const traced = registerWith(name, member);
        expect(use(traced, member)).to.deep.equal(asTheOriginal);
        expect(finished()).to.deep.equal([]);
      });

      it(`puts back ${what} on disable(), and what it built while enabled stays an instance of it`, () => {
        const traced = registerWith(name, member);
        const made = new traced('s-0');
        instrumentation.disable();
        expect([(cif()[name] as unknown) === member, made instanceof member, made.describe(), use(member, member)]).to.deep.equal([true, true, `${shows} s-0`, asTheOriginal]);
      });
    });

    it('traces a call of an old-style constructor, as an old-style subclass makes one on its own instance', () => {
      const traced = registerWith('LegacySession', LegacySession as unknown as Constructor);
      function Child(this: Made, id: string) {
        traced.call(this, id);
      }
      Child.prototype = Object.create(traced.prototype) as object;
      const child = new (Child as unknown as Constructor)('s-5');
      expect([child instanceof LegacySession, child instanceof traced, child.describe()]).to.deep.equal([true, true, 'legacy session s-5']);
      expect(finished()).to.deep.equal([callSpan('LegacySession', undefined)]);
    });

    it('rethrows the TypeError of a class called without new, as the class throws it, and marks its span ERROR', () => {
      const traced = registerWith('Session', Session as Constructor) as unknown as (id: string) => Made;
      const thrown = (() => {
        try {
          traced('s-6');
        } catch (error) {
          return error as TypeError;
        }
      })();
      expect([thrown instanceof TypeError, thrown?.message]).to.deep.equal([true, "Class constructor Session cannot be invoked without 'new'"]);
      expect(finished()).to.deep.equal([callSpan('Session', undefined, ...failed(thrown!.message, 'TypeError', thrown!.stack))]);
    });
  });

  describe('as an OpenTelemetry instrumentation', () => {
    it('names its scope and version after the package', () => {
      const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      const created = new CifInstrumentation({ target, enabled: false });
      expect([created.instrumentationName, created.instrumentationVersion]).to.deep.equal(['opentelemetry-exporter-cif/instrumentation', version]);
      expect(created.getConfig()).to.deep.equal({ target, enabled: false });
    });

    it('is enabled, on globalThis, by default', () => {
      instrumentation = new CifInstrumentation();
      expect(instrumentation.getConfig()).to.deep.equal({ enabled: true });
      instrumentation.disable();
      expect(new CifInstrumentation({ target, enabled: undefined }).getConfig()).to.deep.equal({ target, enabled: true });
    });

    [
      { config: { enabled: 'yes' }, message: "CifInstrumentation: option `enabled` must be true or false (got 'yes')." },
      { config: { correlationId: 1 }, message: 'CifInstrumentation: option `correlationId` must be true or false (got 1).' },
      { config: { target: 'window' }, message: "CifInstrumentation: option `target` must be an object such as window (got 'window')." },
      { config: null, message: 'CifInstrumentation: options must be a plain object (got null).' },
      { config: 'on', message: "CifInstrumentation: options must be a plain object (got 'on')." },
      { config: { target: null }, message: 'CifInstrumentation: option `target` must be an object such as window (got null).' },
      { config: { enabled: [] }, message: 'CifInstrumentation: option `enabled` must be true or false (got []).' },
      { config: { correlationId: Object.create(null) as object }, message: 'CifInstrumentation: option `correlationId` must be true or false (got object).' },
    ].forEach(({ config, message }) =>
      it(`refuses ${JSON.stringify(config)} with a TypeError that says what to change`, () => {
        expect(() => new CifInstrumentation(config as never)).to.throw(TypeError, message);
      }),
    );

    [
      {
        what: 'whose keys cannot be listed',
        config: () => new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } }),
        message: 'CifInstrumentation: options cannot be read (got Error: no keys).',
      },
      {
        what: 'whose target getter throws',
        config: () => ({ get target(): never { throw new Error('no target'); } }),
        message: 'CifInstrumentation: option `target` cannot be read (got Error: no target).',
      },
    ].forEach(({ what, config, message }) =>
      it(`refuses a config ${what} with a TypeError that says so, the page's error as its cause`, () => {
        expect(() => new CifInstrumentation(config() as never)).to.throw(TypeError, message).with.property('cause').that.is.an('error');
        instrumentation = new CifInstrumentation({ target, enabled: false });
        expect(() => instrumentation.setConfig(config() as never)).to.throw(TypeError, message);
        expect(instrumentation.getConfig()).to.deep.equal({ target, enabled: false });
      }),
    );

    // Functions of the target, which each test makes anew.
    [
      { inherits: 'target', config: (on: Host) => Object.create({ target: on }) as object, own: {}, host: [{ templateName: 't' }, TRACE_GUID] },
      {
        inherits: 'correlationId: false',
        config: (on: Host) => Object.assign(Object.create({ correlationId: false }) as object, { target: on }),
        own: { correlationId: false },
        host: [{ templateName: 't' }],
      },
    ].forEach(({ inherits, config, own, host }) =>
      it(`takes an option its config inherits, as the exporters take theirs: ${inherits}`, async () => {
        install();
        instrumentation = new CifInstrumentation(config(target));
        unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
        await cif().createSession!({ templateName: 't' });
        expect(instrumentation.getConfig()).to.deep.equal({ target, ...own, enabled: true });
        expect(received.map((r) => r.args)).to.deep.equal([host]);
        expect(finished()).to.deep.equal([callSpan('createSession', undefined)]);
      }),
    );

    it('takes no option from keys a page library adds to Object.prototype', async () => {
      install();
      // Another object, where the instrumentation finds the same library.
      const page = { Microsoft: target.Microsoft };
      const added = { target, correlationId: false, enabled: 'yes' };
      for (const [key, value] of Object.entries(added)) Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
      try {
        instrumentation = new CifInstrumentation();
        unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
        // Not traced: the instrumentation looks on globalThis, not on the target Object.prototype names.
        await cif().createSession!({ templateName: 't' });
        instrumentation.setConfig({ target: page });
        instrumentation.enable();
        await cif().createSession!({ templateName: 't' });
      } finally {
        for (const key of Object.keys(added)) delete (Object.prototype as Record<string, unknown>)[key];
      }
      expect(instrumentation.getConfig()).to.deep.equal({ target: page, enabled: true });
      expect(received.map((r) => r.args)).to.deep.equal([[{ templateName: 't' }], [{ templateName: 't' }, TRACE_GUID]]);
      expect(finished()).to.deep.equal([callSpan('createSession', undefined)]);
    });

    it('warns of each option it does not know, in the constructor and in setConfig, and applies the ones it knows', () => {
      const warnings = captureDiag();
      try {
        const created = new CifInstrumentation({ target, enabled: false, correlationID: false } as CifInstrumentationConfig);
        created.setConfig({ target, Enabled: true } as CifInstrumentationConfig);
        expect(warnings).to.deep.equal([
          'opentelemetry-exporter-cif CifInstrumentation: option `correlationID` is unknown and ignored.',
          'opentelemetry-exporter-cif CifInstrumentation: option `Enabled` is unknown and ignored.',
        ]);
        // `enabled` as it is: the constructor left it off, which setConfig does not change.
        expect(created.getConfig()).to.deep.include({ target, enabled: false });
      } finally {
        diag.disable();
      }
    });
  });

  describe('a removeHandler the host fails', () => {
    [
      { how: 'rejects', fail: () => Promise.reject(new Error('CIF busy')) },
      {
        how: 'throws',
        fail: () => {
          throw new Error('CIF busy');
        },
      },
      { how: 'resolves with false', fail: () => Promise.resolve(false) },
    ].forEach(({ how, fail }) =>
      it(`removes the handler when the widget tries removeHandler again after the host's first one ${how}`, async () => {
        const library = install();
        const hostRemove = library.removeHandler!;
        let failing = true;
        library.removeHandler = function (this: unknown, ...args: unknown[]) {
          if (failing) {
            failing = false;
            return fail();
          }
          return hostRemove.apply(this, args);
        };
        register();
        let calls = 0;
        const handler = () => void calls++;
        cif().addHandler!('onclicktoact', handler);
        try {
          await cif().removeHandler!('onclicktoact', handler);
        } catch {
          // The widget retries.
        }
        expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
        await fake!.fireEvent('onclicktoact', {});
        expect(calls).to.equal(0);
      }),
    );
  });

  describe('a removeHandler it cannot wrap', () => {
    [
      {
        what: 'a getter',
        define: (library: Library, remove: Fn) => Object.defineProperty(library, 'removeHandler', { get: () => remove, configurable: true, enumerable: true }),
      },
      {
        what: 'read-only',
        define: (library: Library, remove: Fn) => Object.defineProperty(library, 'removeHandler', { value: remove, writable: false, configurable: true, enumerable: true }),
      },
    ].forEach(({ what, define }) =>
      it(`lets removeHandler remove a handler added while enabled when removeHandler is ${what}, as docs/instrumentation.md says getters and read-only functions are left alone`, async () => {
        const library = install();
        const hostRemove = library.removeHandler!;
        delete library.removeHandler;
        define(library, hostRemove);
        register();
        let calls = 0;
        const handler = () => void calls++;
        cif().addHandler!('onclicktoact', handler);
        expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(true);
        await fake!.fireEvent('onclicktoact', {});
        expect(calls).to.equal(0);
      }),
    );
  });

  describe('registerInstrumentations', () => {
    it('enables it again when registered again after the function registerInstrumentations returned disabled it ("enables it either way")', async () => {
      install();
      instrumentation = new CifInstrumentation({ target });
      registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider })();
      unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
      await cif().setPresence!('Busy');
      expect(finished().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/setPresence']);
    });
  });

  describe('what the wrapper shows the page', () => {
    it("keeps the name and length of the function it wraps, as the page reads them", () => {
      const library = install();
      const original = library.setPresence!;
      register();
      expect([cif().setPresence!.name, cif().setPresence!.length]).to.deep.equal([original.name, original.length]);
    });

    it("hands the host a handler with the name and length of the widget's own", () => {
      const library = install();
      const seen = recordAddHandler(library);
      register();
      function onClickToAct(_eventData: unknown, _extra: unknown): void {}
      cif().addHandler!('onclicktoact', onClickToAct);
      const handed = seen[0]![1] as Fn;
      expect([handed === onClickToAct, handed.name, handed.length]).to.deep.equal([false, 'onClickToAct', 2]);
    });

    it('calls the then of a thenable the host answers, once, to end the span, as docs/instrumentation.md says', () => {
      const library = install();
      let thens = 0;
      const lazy = {
        then(resolve: Fn) {
          thens++;
          resolve('ran');
        },
      };
      library.getMode = () => lazy;
      register();
      expect(cif().getMode!()).to.equal(lazy);
      expect(thens).to.equal(1);
    });

    it("marks handled the rejection of the widget's own handler, which the host ignores, as docs/instrumentation.md says", async () => {
      const library = install();
      // A host that calls the handler and does not look at its answer.
      const held: Fn[] = [];
      library.addHandler = (_eventName: unknown, handler: unknown) => void held.push(handler as Fn);
      register();
      const thrown = new Error('widget bug');
      cif().addHandler!('onclicktoact', () => Promise.reject(thrown));
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.prependListener('unhandledRejection', onUnhandled);
      try {
        void held[0]!({});
        await flushMicrotasks();
        await flushMicrotasks();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).not.to.include(thrown);
    });
  });

  describe('semantic conventions (@opentelemetry/semantic-conventions 1.45, RPC: stable)', () => {
    it('names a call span and sets its attributes as the stable RPC conventions do: rpc.system.name, a fully-qualified rpc.method, the span named for it', async () => {
      install();
      register();
      await cif().setPresence!('Busy');
      const [span] = spans.getFinishedSpans();
      expect({ name: span!.name, kind: span!.kind, status: span!.status.code, attributes: span!.attributes }).to.deep.equal({
        name: 'Microsoft.CIFramework/setPresence',
        kind: SpanKind.CLIENT,
        status: SpanStatusCode.UNSET,
        attributes: { 'rpc.system.name': 'ciframework', 'rpc.method': 'Microsoft.CIFramework/setPresence' },
      });
    });
  });
});
