import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import { CifSessionSpanProcessor, CifSpanExporter, type CifSpanExporterOptions } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, type CifLogRecordExporterOptions } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from './shut-down.js';

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
