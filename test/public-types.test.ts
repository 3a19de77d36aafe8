import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The errors in `source`, type-checked as a file of `test/` with `options` over the project's own. */
function typeErrors(source: string, options: ts.CompilerOptions): string[] {
  const file = join(ROOT, 'test', 'user-snippet.ts');
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  const host = ts.createCompilerHost({ ...config!.options, ...options });
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === file ? source : readFile(name));
  host.fileExists = (name) => name === file || ts.sys.fileExists(name);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, target, ...rest) => (name === file ? ts.createSourceFile(name, source, target) : getSourceFile(name, target, ...rest));
  const program = ts.createProgram([file], { ...config!.options, ...options, noEmit: true }, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('the public types', () => {
  it('take undefined for every optional field a user fills from a lookup, and keep CifInstrumentation an Instrumentation, under exactOptionalPropertyTypes', function () {
    this.timeout(60_000);
    const source = `
      import { CifDelivery, CifSpanExporter, recordKpiEvent, withCifSession } from '../src/index.js';
      import { CifLogRecordExporter, emitKpiEvent } from '../src/logs.js';
      import { CifInstrumentation } from '../src/instrumentation.js';
      import { RecordingCifClient, installFakeCIFramework } from '../src/testing/index.js';
      import { trace } from '@opentelemetry/api';
      import { registerInstrumentations } from '@opentelemetry/instrumentation';
      import { logs } from '@opentelemetry/api-logs';

      const found = new Map<string, string>();
      const id = found.get('conversationId');
      const count = found.size > 0 ? 1 : undefined;
      const flag = found.size > 0 ? true : undefined;
      withCifSession({ conversationId: id, providerSessionId: id, clientSessionId: id, participantId: id }, () => {});
      const details = { reason: id, additionalData: id, notificationResponseAction: id, externalCorrelationId: id };
      recordKpiEvent(trace.getTracer('t').startSpan('s'), 'CallAccepted', details);
      emitKpiEvent(logs.getLogger('t'), 'CallAccepted', details, { time: count, context: undefined });
      const delivery = {
        client: undefined, ready: undefined, readyTimeoutMillis: count, timeoutMillis: count,
        retry: { maxAttempts: count, initialBackoffMillis: count, maxBackoffMillis: count },
        maxConcurrentCalls: count, maxQueueSize: count, dataFormat: found.size > 0 ? ('json' as const) : undefined,
        outbox: { store: undefined, name: id, maxBytes: count, maxAgeMillis: count },
      };
      new CifDelivery(delivery);
      const exporter = { session: { conversationId: id }, customAttributes: undefined, maxEventsPerCall: count, eventName: undefined, eventFilter: undefined, correlationId: undefined };
      new CifSpanExporter({ ...delivery, ...exporter, delivery: undefined });
      new CifLogRecordExporter({ ...delivery, ...exporter });
      registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: undefined, correlationId: flag })] });
      installFakeCIFramework({}, new RecordingCifClient({ answer: id, onCall: undefined }), { startAfterMillis: count });
    `;
    expect(typeErrors(source, { exactOptionalPropertyTypes: true })).to.deep.equal([]);
  });
});
