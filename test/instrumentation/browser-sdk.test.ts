import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { startBrowserSdk } from '@opentelemetry/browser-sdk';
import { LoggerProvider, type LogRecordProcessor, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { captureDiag } from '../helpers/diag.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A log record processor that keeps the event name of every record it is handed. */
function recordingProcessor(names: unknown[]): LogRecordProcessor {
  return {
    onEmit: (record: SdkLogRecord) => void names.push(record.eventName),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

// What docs/instrumentation.md says of @opentelemetry/browser-sdk, the ground for its advice.
describe('OpenTelemetry browser SDK, as docs/instrumentation.md describes it', () => {
  afterEach(() => {
    logs.disable();
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  });

  it('replaces the diag logger set before it when it first starts, and registers the global LoggerProvider, so one set later is ignored and its logs.processors get the records', async () => {
    const before = captureDiag();
    const emitted: unknown[] = [];
    const later: unknown[] = [];
    const sdk = startBrowserSdk({
      serviceName: 'contoso-softphone',
      // Its DiagConsoleLogger at NONE prints nothing: the line below reaches no logger at all.
      logLevel: 'NONE',
      traces: { processors: [] },
      logs: { processors: [recordingProcessor(emitted)] },
    });
    try {
      diag.error('after the SDK started');
      // The API tells the logger it replaces, which then hears nothing more.
      expect(before.map((line) => line.split('\n')[0]), 'the diag logger set before it').to.deep.equal(['Current logger will be overwritten from Error']);
      const ours = new LoggerProvider({ processors: [recordingProcessor(later)] });
      expect(logs.setGlobalLoggerProvider(ours), 'the provider set after it').not.to.equal(ours);
      logs.getLogger('softphone').emit({ eventName: 'CallAccepted' });
      expect(emitted).to.deep.equal(['CallAccepted']);
      expect(later).to.deep.equal([]);
      await ours.shutdown();
    } finally {
      await sdk.shutdown();
    }
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
