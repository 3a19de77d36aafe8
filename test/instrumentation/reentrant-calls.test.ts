import { context, diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';

type Fn = (...args: unknown[]) => unknown;
type Host = EventTarget & { Microsoft?: { CIFramework?: Record<string, Fn> } };

describe('CifInstrumentation calls, when starting their span calls the CIF library again', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let target: Host;
  let fake: FakeCIFramework;
  let provider: BasicTracerProvider;
  let instrumentation: CifInstrumentation;
  let unregister: () => void;
  /** The host's getPresence calls. */
  let hostCalls: number;

  const cif = () => target.Microsoft!.CIFramework!;
  /** What the page's code does on a span start or a diag line: asks the host for the agent's presence, not awaited. */
  const askPresence = () => void (cif().getPresence!() as Promise<unknown>).catch(() => {});

  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    target = new EventTarget() as Host;
    fake = installFakeCIFramework(target);
    const hostGetPresence = cif().getPresence!;
    hostCalls = 0;
    cif().getPresence = function (this: unknown, ...args: unknown[]) {
      hostCalls++;
      return hostGetPresence.apply(this, args);
    };
  });
  afterEach(async () => {
    diag.disable();
    instrumentation.disable();
    unregister();
    fake.uninstall();
    await provider.shutdown();
  });

  [
    {
      what: "a span processor's onStart, which stamps the presence it asks the host for",
      setUp: () => {
        const stamp: SpanProcessor = { onStart: askPresence, onEnd: () => {}, forceFlush: async () => {}, shutdown: async () => {} };
        return new BasicTracerProvider({ spanProcessors: [stamp, new SimpleSpanProcessor(new InMemorySpanExporter())] });
      },
    },
    {
      what: 'the diag logger at DEBUG, which reports each line with a CIF call, under a sampler that drops every span',
      setUp: () => {
        const report = () => askPresence();
        const logger: DiagLogger = { error: report, warn: report, info: report, debug: report, verbose: report };
        diag.setLogger(logger, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
        return new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
      },
    },
  ].forEach(({ what, setUp }) =>
    it(`calls the host a bounded number of times for one call of the widget when ${what}`, async () => {
      provider = setUp();
      instrumentation = new CifInstrumentation({ target });
      unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
      hostCalls = 0;
      await cif().setPresence!('Busy');
      // Without the instrumentation: no span starts, no line is logged, and the host gets no getPresence call.
      expect(hostCalls).to.be.at.most(2);
    }),
  );
});
