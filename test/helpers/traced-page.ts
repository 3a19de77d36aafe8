import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifInstrumentation } from '../../src/instrumentation.js';
import type { FakeCIFramework } from '../../src/testing/index.js';

type Fn = (...args: unknown[]) => unknown;
/** A window, as the instrumentation and the fake CIF library see it. */
export type Host = EventTarget & { Microsoft?: { CIFramework?: Record<string, Fn> } };

/**
 * A page of the widget for each test of the describe it is called in: a provider that keeps its
 * spans in memory (`spans`), a window with nothing on it yet (`target`), the instrumentation
 * registered on it by `register`, and the fake CIF library a test installs in `fake`. After each
 * test the instrumentation is unregistered, the fake uninstalled and the provider shut down.
 */
export function useTracedPage() {
  const contextManager = new AsyncLocalStorageContextManager();
  const page = {
    spans: undefined as unknown as InMemorySpanExporter,
    provider: undefined as unknown as BasicTracerProvider,
    target: undefined as unknown as Host,
    fake: undefined as FakeCIFramework | undefined,
    unregister: undefined as (() => void) | undefined,
    /** `Microsoft.CIFramework` as the window holds it now. */
    cif: () => page.target.Microsoft!.CIFramework!,
    /** Enables `instrumentation` (by default one on the window) with the provider. */
    register(instrumentation = new CifInstrumentation({ target: page.target })): CifInstrumentation {
      page.unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: page.provider });
      return instrumentation;
    },
  };
  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    page.spans = new InMemorySpanExporter();
    page.provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(page.spans)] });
    page.target = new EventTarget() as Host;
    page.fake = undefined;
    page.unregister = undefined;
  });
  afterEach(async () => {
    page.unregister?.();
    page.fake?.uninstall();
    await page.provider.shutdown();
  });
  return page;
}
