// Entry of the script-tag bundle (global `OpenTelemetryCif`). OpenTelemetry JS publishes no
// script-tag bundles of its own, so this one carries what a widget page without a bundler needs:
// everything the package exports, plus the OpenTelemetry API and web SDK pieces to use it.
import { ProxyTracerProvider, context, createContextKey, trace } from '@opentelemetry/api';
import { WebTracerProvider as SdkWebTracerProvider, type SDKRegistrationConfig } from '@opentelemetry/sdk-trace-web';

export * from '../src/index.js';
export { context, diag, DiagConsoleLogger, DiagLogLevel, trace } from '@opentelemetry/api';
export { resourceFromAttributes } from '@opentelemetry/resources';
export { BatchSpanProcessor, SimpleSpanProcessor, StackContextManager } from '@opentelemetry/sdk-trace-web';

/** Where every copy of `@opentelemetry/api` 1.x on the page keeps its globals, stamped with the version that created it. */
const REGISTRY = Symbol.for('opentelemetry.js.api.1');
const PROBE = createContextKey('opentelemetry-exporter-cif registration probe');
const warned = new WeakSet<object>();

/**
 * The web SDK's `WebTracerProvider`, whose `register()` warns once when the page's OpenTelemetry
 * registry did not take the bundle's tracer provider or context manager: another copy of
 * `@opentelemetry/api` registered first (docs/browser.md).
 */
export class WebTracerProvider extends SdkWebTracerProvider {
  override register(config: SDKRegistrationConfig = {}): void {
    super.register(config);
    const global = trace.getTracerProvider();
    const tracerProviderTook = global instanceof ProxyTracerProvider && global.getDelegate() === this;
    const contextManagerTook =
      config.contextManager === null || context.with(context.active().setValue(PROBE, true), () => context.active().getValue(PROBE) === true);
    if (tracerProviderTook && contextManagerTook) return;
    // register() above read the registry without a throw; another copy of the API created it.
    const registry = (globalThis as Record<symbol, { version: string }>)[REGISTRY]!;
    if (warned.has(registry)) return;
    warned.add(registry);
    // A console warning: the bundle's diag reads the same registry, so it may have no way to the page.
    const what = tracerProviderTook ? 'context manager' : 'tracer provider';
    console.warn(
      `opentelemetry-exporter-cif: WebTracerProvider.register() did not take: the page's OpenTelemetry registry, created by ` +
        `@opentelemetry/api ${registry.version}, refused its ${what}. ` +
        "Load the bundle and call register() before the page's own OpenTelemetry code (docs/browser.md).",
    );
  }
}
