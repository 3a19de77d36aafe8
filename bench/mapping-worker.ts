// One mapping contender in a worker thread of its own (see inWorker): it records the same spans
// as the main thread and times the contender named in workerData.
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { workerData } from 'node:worker_threads';
import { normalizeOptions } from '../src/options.js';
import  { createSpanMappingStats } from '../src/mapping/spans.js';
import { spansToCalls } from '../src/mapping/spans.js';
import { CIF_MAPPING, CIF_MAPPING_JSON, JSON_FLOOR, OTLP_JSON } from './mapping.js';
import { EXPORTER_OPTIONS, recordCallSpans } from './spans.js';
import { serveRounds } from './worker-runner.js';

const spans = await recordCallSpans();
const options = normalizeOptions(EXPORTER_OPTIONS);
const builtCalls = spansToCalls(spans, options, createSpanMappingStats());
let checksum = 0;

const contenders: Record<string, () => unknown> = {
  [CIF_MAPPING]: () => (checksum += spansToCalls(spans, options, createSpanMappingStats()).length),
  [CIF_MAPPING_JSON]: () => {
    for (const call of spansToCalls(spans, options, createSpanMappingStats())) checksum += JSON.stringify(call.data).length;
  },
  [OTLP_JSON]: () => (checksum += JsonTraceSerializer.serializeRequest(spans)?.length ?? 0),
  [JSON_FLOOR]: () => {
    for (const call of builtCalls) checksum += JSON.stringify(call.data).length;
  },
};

const name = (workerData as { name: string }).name;
const fn = contenders[name];
if (!fn) throw new Error(`no mapping contender named ${name}`);
serveRounds(name, () => {
  const before = checksum;
  fn();
  if (checksum === before) throw new Error(`${name} produced no output`);
});
