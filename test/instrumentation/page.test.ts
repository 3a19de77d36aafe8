// CifInstrumentation beside what a page does: a removeHandler the host fails or that is not
// wrapped, registerInstrumentations after a disable, what the wrapper shows, and the span it
// makes, each as docs/instrumentation.md says.
import { context, SpanKind, SpanStatusCode, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifInstrumentation, type CifInstrumentationConfig } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { FIXED_TRACE_ID } from '../helpers/spans.js';

type Fn = (...args: unknown[]) => unknown;
type Library = Record<string, Fn>;
type Host = EventTarget & { Microsoft?: { CIFramework?: Library } };

describe('CifInstrumentation in a page', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework | undefined;
  let unregister: (() => void) | undefined;
  let instrumentation: CifInstrumentation;

  const install = (): Library => {
    fake = installFakeCIFramework(target);
    return target.Microsoft!.CIFramework!;
  };
  const register = (config: CifInstrumentationConfig = {}, tracerProvider: TracerProvider = provider) => {
    instrumentation = new CifInstrumentation({ target, ...config });
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider });
    return instrumentation;
  };
  const cif = () => target.Microsoft!.CIFramework!;
  const names = () => spans.getFinishedSpans().map((s: ReadableSpan) => s.name);
  const flushMicrotasks = () => new Promise((resolve) => setImmediate(resolve));

  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    spans = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, spanProcessors: [new SimpleSpanProcessor(spans)] });
    target = new EventTarget() as Host;
    fake = undefined;
    unregister = undefined;
  });
  afterEach(async () => {
    unregister?.();
    fake?.uninstall();
    await provider.shutdown();
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
      expect(names()).to.deep.equal(['Microsoft.CIFramework/setPresence']);
    });
  });

  describe('what the wrapper shows the page', () => {
    it("keeps the name and length of the function it wraps, as the page reads them", () => {
      const library = install();
      const original = library.setPresence!;
      register();
      expect([cif().setPresence!.name, cif().setPresence!.length]).to.deep.equal([original.name, original.length]);
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
