import { diag, DiagLogLevel } from '@opentelemetry/api';
import { expect } from 'chai';
import { recordKpiEvent, type CifSpanExporterOptions } from '../src/index.js';
import { CifInstrumentation } from '../src/instrumentation.js';
import { emitKpiEvent } from '../src/logs.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureDiag } from './helpers/diag.js';
import { spanPipeline } from './helpers/pipelines.js';
import { IDENTITY } from './helpers/spans.js';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** What the library writes to the console while `run` runs, method by method. */
async function consoleLines(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const saved = CONSOLE_METHODS.map((method) => [method, console[method]] as const);
  for (const method of CONSOLE_METHODS) console[method] = (...args: unknown[]) => void lines.push(`${method} ${args.map(String).join(' ')}`);
  try {
    await run();
  } finally {
    for (const [method, original] of saved) console[method] = original;
  }
  return lines;
}

/** A widget that loses KPI events for several reasons at once: a host that refuses, missing ids, a bad column, a cut value, an unknown option. */
async function troubledWidget(): Promise<void> {
  const client = new RecordingCifClient({ answer: () => Promise.reject(new Error('Provider not active')) });
  const { tracer, flush } = spanPipeline({ client, retry: { maxAttempts: 1 }, sessionn: {} } as CifSpanExporterOptions);
  for (const attributes of [IDENTITY, {}, { ...IDENTITY, 'cif.kpi.custom.MyColumn': 'x', 'cif.kpi.reason': 'r'.repeat(101) }]) {
    const span = tracer.startSpan('call', { attributes });
    recordKpiEvent(span, 'CallHold');
    span.end();
  }
  await flush().catch(() => {});
  recordKpiEvent(undefined, 'CallAccepted');
  emitKpiEvent(undefined, 'CallAccepted');
  new CifInstrumentation({ target: new EventTarget(), enabled: false, correlationID: true } as never);
}

// README.md, Quick start: "Set a diag logger first: the exporter warns only through it."
describe('where the library warns', () => {
  afterEach(() => diag.disable());

  it('writes nothing to the console with no diag logger set, for drops, host failures and unknown options it warns of through diag', async () => {
    const lines = await consoleLines(troubledWidget);
    expect(lines).to.deep.equal([]);
  });

  it('tells a diag logger of those same drops, failures and unknown options', async () => {
    // At DEBUG too: what warns once per page may have warned in an earlier test.
    const messages = captureDiag(DiagLogLevel.DEBUG);
    const lines = await consoleLines(troubledWidget);
    expect(lines).to.deep.equal([]);
    for (const said of ['Provider not active', 'missing_identity', 'invalid_custom_column', 'sessionn', 'correlationID', 'no span to record it on', 'no logger to emit it with']) {
      expect(messages.some((m) => m.includes(said)), said).to.equal(true);
    }
  });
});
