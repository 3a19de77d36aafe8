import { ROOT_CONTEXT, context, diag, propagation, trace, type ContextManager, type ProxyTracerProvider } from '@opentelemetry/api';
import { BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SimpleSpanProcessor, StackContextManager, WebTracerProvider as SdkWebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import { WebTracerProvider } from '../../scripts/script-tag.js';

/** Where every copy of @opentelemetry/api 1.x keeps its globals. */
const REGISTRY = Symbol.for('opentelemetry.js.api.1');
type Registry = { version: string } & Record<string, unknown>;

/** A provider of the bundle whose ended spans land in `spans`. */
function bundleProvider(spans: string[]): WebTracerProvider {
  const exporter: SpanExporter = {
    export: (batch: ReadableSpan[], done) => {
      spans.push(...batch.map((span) => span.name));
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  return new WebTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
}

/**
 * Runs `use` with the page's registry set up by `before` (nothing there to start with), printing
 * through a console.warn that records; then puts the process's registry and console back.
 */
function onPage(before: () => void, use: (warnings: string[]) => void): void {
  const global = globalThis as unknown as Record<symbol, unknown>;
  const saved = global[REGISTRY];
  const savedWarn = console.warn;
  const warnings: string[] = [];
  delete global[REGISTRY];
  console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
  try {
    before();
    use(warnings);
  } finally {
    console.warn = savedWarn;
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
    global[REGISTRY] = saved;
  }
}

/** A context manager as the API's no-op one: `with` runs the function in no context at all. */
const CARRIES_NOTHING: ContextManager = {
  active: () => ROOT_CONTEXT,
  with: (_context, fn, thisArg, ...args) => fn.call(thisArg, ...args),
  bind: (_context, target) => target,
  enable() {
    return this;
  },
  disable() {
    return this;
  },
};

/** What a copy of @opentelemetry/api of `version` leaves after the page set a diag logger with it. */
const registeredBy = (version: string) => () => {
  (globalThis as unknown as Record<symbol, Registry>)[REGISTRY] = { version, diag: { error() {}, warn() {}, info() {}, debug() {}, verbose() {} } };
};

describe('the script-tag bundle', () => {
  it('holds every export of the main entry, none only /logs or /instrumentation has, and the OpenTelemetry pieces docs/browser.md names', async () => {
    const [bundle, main, logs, instrumentation] = await Promise.all([
      import('../../scripts/script-tag.js'),
      import('../../src/index.js'),
      import('../../src/logs.js'),
      import('../../src/instrumentation.js'),
    ]);
    const api = ['trace', 'context', 'diag', 'DiagConsoleLogger', 'DiagLogLevel'];
    const webSdk = ['WebTracerProvider', 'BatchSpanProcessor', 'SimpleSpanProcessor', 'StackContextManager'];
    expect(Object.keys(bundle).sort()).to.deep.equal([...Object.keys(main), ...api, ...webSdk, 'resourceFromAttributes'].sort());
    expect(Object.keys({ ...logs, ...instrumentation }).filter((name) => !(name in main))).to.include.members(['CifLogRecordExporter', 'emitKpiEvent', 'CifInstrumentation']);
  });

  describe("WebTracerProvider.register() when the page's API registered first", () => {
    const refused: Array<[what: string, before: () => void, version: string, refusedPart: string]> = [
      ['an older @opentelemetry/api (1.4)', registeredBy('1.4.0'), '1.4.0', 'tracer provider'],
      ['the same minor, another patch (1.9.0)', registeredBy('1.9.0'), '1.9.0', 'tracer provider'],
      ['a newer @opentelemetry/api (1.10)', registeredBy('1.10.0'), '1.10.0', 'tracer provider'],
      ['the same version, with its own tracer provider', () => trace.setGlobalTracerProvider(new BasicTracerProvider()), '1.9.1', 'tracer provider'],
    ];
    refused.forEach(([what, before, version, refusedPart]) =>
      it(`warns once that it did not take, after ${what}`, () =>
        onPage(before, (warnings) => {
          const spans: string[] = [];
          bundleProvider(spans).register();
          bundleProvider(spans).register();
          trace.getTracer('softphone').startSpan('accept call').end();
          expect(spans).to.deep.equal([]);
          expect(warnings).to.deep.equal([
            `opentelemetry-exporter-cif: WebTracerProvider.register() did not take: the page's OpenTelemetry registry, created by ` +
              `@opentelemetry/api ${version}, refused its ${refusedPart}. ` +
              "Load the bundle and call register() before the page's own OpenTelemetry code (docs/browser.md).",
          ]);
        }),
      ),
    );

    it('warns about the context manager when the page registered one that carries no context', () =>
      onPage(
        () => context.setGlobalContextManager(CARRIES_NOTHING),
        (warnings) => {
          const spans: string[] = [];
          bundleProvider(spans).register();
          trace.getTracer('softphone').startSpan('accept call').end();
          expect(spans).to.deep.equal(['accept call']);
          expect(warnings).to.deep.equal([
            `opentelemetry-exporter-cif: WebTracerProvider.register() did not take: the page's OpenTelemetry registry, created by ` +
              '@opentelemetry/api 1.9.1, refused its context manager. ' +
              "Load the bundle and call register() before the page's own OpenTelemetry code (docs/browser.md).",
          ]);
        },
      ));
  });

  describe('WebTracerProvider.register() when it registers first', () => {
    const configs: Array<[what: string, config: Parameters<WebTracerProvider['register']>[0]]> = [
      ['by default', undefined],
      ['with no context manager', { contextManager: null }],
    ];
    it("registers the global tracer provider and a StackContextManager, as the README's quick start says of the web SDK's register()", () =>
      onPage(
        () => {},
        () => {
          const provider = new SdkWebTracerProvider();
          provider.register();
          const registry = (globalThis as unknown as Record<symbol, Registry>)[REGISTRY]!;
          expect([(trace.getTracerProvider() as ProxyTracerProvider).getDelegate(), registry['context']?.constructor]).to.deep.equal([provider, StackContextManager]);
        },
      ));

    configs.forEach(([what, config]) =>
      it(`says nothing and gets the spans of trace.getTracer(), ${what}`, () =>
        onPage(
          () => {},
          (warnings) => {
            const spans: string[] = [];
            bundleProvider(spans).register(config);
            trace.getTracer('softphone').startSpan('accept call').end();
            expect(spans).to.deep.equal(['accept call']);
            expect(warnings).to.deep.equal([]);
          },
        ),
      ),
    );

  });
});
