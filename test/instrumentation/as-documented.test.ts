import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { build } from 'esbuild';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Fn = (...args: unknown[]) => unknown;
type Host = EventTarget & { Microsoft?: { CIFramework?: Record<string, Fn> } };

// docs/instrumentation.md
describe('CifInstrumentation, as docs/instrumentation.md describes it', () => {
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework | undefined;
  let unregister: (() => void) | undefined;

  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
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

  function register(): CifInstrumentation {
    const instrumentation = new CifInstrumentation({ target });
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider });
    return instrumentation;
  }
  const names = () => spans.getFinishedSpans().map((span) => span.name);

  it('traces a library the page replaced without a new CIFInitDone from the next enable() on', async () => {
    fake = installFakeCIFramework(target);
    const instrumentation = register();
    // The page puts a new library in place, and no CIFInitDone follows.
    target.Microsoft = { CIFramework: { setPresence: () => Promise.resolve(true) } };
    await target.Microsoft.CIFramework!['setPresence']!('Busy');
    expect(names()).to.deep.equal([]);
    instrumentation.enable();
    await target.Microsoft.CIFramework!['setPresence']!('Away');
    expect(names()).to.deep.equal(['Microsoft.CIFramework/setPresence']);
  });

  it('holds twice a handler the host held itself before enable() and that is added again while enabled, itself and its wrapper', async () => {
    fake = installFakeCIFramework(target);
    let calls = 0;
    const handler = () => void calls++;
    await target.Microsoft!.CIFramework!['addHandler']!('onmodechanged', handler);
    register();
    await target.Microsoft!.CIFramework!['addHandler']!('onmodechanged', handler);
    await fake.fireEvent('onmodechanged', 1);
    expect(calls).to.equal(2);
    expect(names().filter((name) => name === 'Microsoft.CIFramework onmodechanged')).to.have.length(1);
  });

  it('bundles /instrumentation without @opentelemetry/instrumentation, and the main entry without the instrumentation', async () => {
    const inputs = async (entry: string) => {
      const { metafile } = await build({ entryPoints: [join(ROOT, entry)], bundle: true, write: false, metafile: true, format: 'esm', platform: 'browser', logLevel: 'silent' });
      return Object.keys(metafile.inputs);
    };
    const instrumentation = await inputs('src/instrumentation.ts');
    expect(instrumentation.filter((path) => path.includes('node_modules/@opentelemetry/instrumentation/'))).to.deep.equal([]);
    expect(instrumentation).to.include('src/instrumentation/cif-instrumentation.ts');
    expect((await inputs('src/index.ts')).filter((path) => path.startsWith('src/instrumentation'))).to.deep.equal([]);
  });
});

// docs/instrumentation.md, "With OpenTelemetry's browser SDK".
describe("OpenTelemetry's browser SDK 0.4, as docs/instrumentation.md describes it", () => {
  afterEach(() => {
    logs.disable();
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  });

  it('depends on @opentelemetry/sdk-trace 2.x, not on sdk-trace-web, and on sdk-logs 0.222', () => {
    const require = createRequire(import.meta.url);
    const manifest = require('@opentelemetry/browser-sdk/package.json') as { version: string; dependencies: Record<string, string> };
    expect(manifest.version).to.match(/^0\.4\./);
    expect(manifest.dependencies['@opentelemetry/sdk-trace']).to.match(/^\^2\./);
    expect(manifest.dependencies).not.to.have.property('@opentelemetry/sdk-trace-web');
    expect(manifest.dependencies['@opentelemetry/sdk-logs']).to.match(/^\^0\.222\./);
  });

  it("sets a DiagConsoleLogger at 'INFO' when given no logLevel", () => {
    // A process of its own: the SDK sets its logger once per page, and another test may have started it.
    const page = [
      "import { diag } from '@opentelemetry/api';",
      "import { startBrowserSdk } from '@opentelemetry/browser-sdk';",
      'const quiet = { onStart() {}, onEmit() {}, onEnd() {}, forceFlush: async () => {}, shutdown: async () => {} };',
      "const sdk = startBrowserSdk({ serviceName: 'contoso-softphone', traces: { processors: [quiet] }, logs: { processors: [quiet] } });",
      "diag.info('an info line');",
      "diag.debug('a debug line');",
      'await sdk.shutdown();',
    ].join('\n');
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', page], { cwd: ROOT, encoding: 'utf8' });
    expect(printed.split('\n').filter(Boolean)).to.deep.equal(['an info line']);
  });
});
