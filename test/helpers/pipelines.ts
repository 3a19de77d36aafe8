import { diag } from '@opentelemetry/api';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import FakeTimers, { type Clock as InstalledClock, type FakeMethod } from '@sinonjs/fake-timers';
import { BasicTracerProvider, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { CifSessionSpanProcessor, CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, type CifLogRecordExporterOptions } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from './shut-down.js';
import { IDENTITY } from './spans.js';

/** A tracer provider wired as the README says (the session processor first), sending each span as it ends to a recording host, with no outbox. */
export function spanPipeline(options: CifSpanExporterOptions = {}, sampler?: Sampler) {
  const client = new RecordingCifClient();
  const exporter = new CifSpanExporter({ client, outbox: false, ...options });
  const provider = shutDownAfterTest(
    new BasicTracerProvider({ ...(sampler && { sampler }), spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }),
  );
  const flush = async () => {
    await provider.forceFlush();
    await exporter.forceFlush();
  };
  return { client, exporter, tracer: provider.getTracer('softphone'), flush };
}

/** A logger provider wired as the README says, sending each record as it is emitted to a recording host, with no outbox. */
export function logPipeline(options: CifLogRecordExporterOptions = {}) {
  const client = new RecordingCifClient();
  const exporter = new CifLogRecordExporter({ client, outbox: false, ...options });
  const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
  const flush = async () => {
    await provider.forceFlush();
    await exporter.forceFlush();
  };
  return { client, exporter, logger: provider.getLogger('softphone'), flush };
}

/** What a test shuts down itself, under its fake clock, once it is over. */
export type Closeables = Array<{ shutdown(): Promise<unknown> }>;

/**
 * A fake clock (`setTimeout`, `clearTimeout`, `Date` and `performance`, or what `toFake` names) for each test of the suite
 * it is called in. After each test, what it put in `closeables` is shut down under that clock, so
 * that no wait costs real time; then the clock and the diag logger go, and `cleanUp` runs.
 */
export function useFakeClock(
  cleanUp: () => void = () => {},
  now = 1_800_000_000_000,
  toFake: FakeMethod[] = ['setTimeout', 'clearTimeout', 'Date', 'performance'],
): { readonly clock: InstalledClock; readonly closeables: Closeables } {
  let clock: InstalledClock | undefined;
  const closeables: Closeables = [];
  beforeEach(() => {
    clock = FakeTimers.install({ toFake, now });
  });
  afterEach(async () => {
    try {
      const closing = Promise.all(closeables.splice(0).map((c) => c.shutdown().catch(() => {})));
      await clock!.runAllAsync();
      await closing;
    } finally {
      clock!.uninstall();
      diag.disable();
      cleanUp();
    }
  });
  return {
    get clock() {
      return clock!;
    },
    closeables,
  };
}

/**
 * A widget as the README wires it, calling the page's CIF library (or `options.client`): the
 * exporter behind a `SimpleSpanProcessor`, no outbox. `record` ends a span of one KPI event named
 * `name`. The provider and the exporter go to `closeables`.
 */
export function pageWidget(closeables: Closeables, options: CifSpanExporterOptions = {}) {
  const exporter = new CifSpanExporter({ outbox: false, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  closeables.push(provider, exporter);
  const tracer = provider.getTracer('softphone');
  return {
    exporter,
    provider,
    record(name: string) {
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent(name);
      span.end();
    },
  };
}
