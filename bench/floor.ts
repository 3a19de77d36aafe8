import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CifSpanExporter, type CifAnalyticsClient } from '../src/index.js';
import { createSpanMappingStats, spansToCalls } from '../src/mapping/spans.js';
import { normalizeOptions } from '../src/options.js';
import { RecordingCifClient } from '../src/testing/index.js';
import type { CifCall } from '../src/types.js';
import { handWrittenCalls } from './floor-calls.js';
import { SteppedHost, nextTask } from './workload.js';

/** How the floor sends: the same concurrency as the exporter, and the calls its bound admits. */
export interface FloorSending {
  /** `maxConcurrentCalls`: calls at the host at once; each answer starts the next. */
  concurrency: number;
  /** How many of the calls the exporter makes (its queue bound may drop the rest of a burst). */
  count: number;
  dataFormat: 'object' | 'json';
  /** SHA-256 of the floor's calls for the batch `checkFloor` proved: each timed step checks its own batch is that one (`checkProvenBatch`). */
  payloads: string;
}

function digest(calls: readonly CifCall[]): string {
  return createHash('sha256').update(JSON.stringify(calls)).digest('hex');
}

/**
 * Throws unless the floor's calls for `spans` are those `checkFloor` proved in its own process:
 * a step's timed batch is then the proven one, not one like it.
 */
export function checkProvenBatch(spans: readonly ReadableSpan[], floor: FloorSending): void {
  strictEqual(digest(handWrittenCalls(spans)), floor.payloads, 'this step recorded another batch than the one whose floor was proven');
}

/** The floor's delivery: one host call per payload, `concurrency` at a time, nothing else. */
export async function sendCalls(client: CifAnalyticsClient, calls: readonly CifCall[], sending: Omit<FloorSending, 'payloads'>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < sending.count) {
      const call = calls[next++]!;
      const data = sending.dataFormat === 'json' ? JSON.stringify(call.data) : call.data;
      await client.logAnalyticsEvent(data, call.eventName, call.correlationId);
    }
  };
  await Promise.all(Array.from({ length: sending.concurrency }, lane));
}

/**
 * Throws unless every export `exporter` timed delivered all `count` calls, one KPI event each, and
 * dropped, failed or retried none: an exporter that dropped or failed calls while timed would look
 * faster than the floor that makes them all, and nothing else would tell.
 */
export function checkDelivered(exporter: CifSpanExporter, count: number, name: string): void {
  const s = exporter.getStats();
  const dropped = Object.entries(s.dropped).filter(([, n]) => n > 0);
  if (s.callsMade === 0 || s.callsMade % count !== 0 || s.kpiEventsDelivered !== s.callsMade || s.callsFailed + s.callsRetried + s.kpiEventsPending > 0 || dropped.length > 0) {
    throw new Error(`${name}: the timed exports did not deliver every call: ${JSON.stringify({ callsMade: s.callsMade, delivered: s.kpiEventsDelivered, failed: s.callsFailed, retried: s.callsRetried, pending: s.kpiEventsPending, dropped })}`);
  }
}

/** `export()` until its callback, which comes once every call is answered or dropped; never rejects. */
export function exportOnce(exporter: CifSpanExporter, spans: ReadableSpan[]): Promise<unknown> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

/**
 * The calls at the host once the task that started `send` has run, and the most at once until
 * all are answered; the host copies each payload and answers one call per task, oldest first.
 */
async function callsAtOnce(send: (host: SteppedHost) => Promise<unknown>): Promise<{ afterFirstTask: number; most: number }> {
  let open = 0;
  let most = 0;
  const host = new SteppedHost();
  const call = host.logAnalyticsEvent.bind(host);
  host.logAnalyticsEvent = (data) => {
    most = Math.max(most, ++open);
    return call(data).finally(() => open--);
  };
  const done = send(host);
  await nextTask();
  const afterFirstTask = open;
  while (host.answerOne()) await nextTask();
  await done;
  return { afterFirstTask, most };
}

/**
 * Proves the floor builds and sends what the exporter does, with default options: its payloads
 * equal the library's mapping of the whole batch, field order included; its host calls
 * (arguments and order) equal the exporter's, in both data formats; and as many calls are at the
 * host at once, after the first task and at most, as the exporter's. Returns how many calls the
 * exporter makes, and a digest of the floor's payloads for the timed steps to check their batch by.
 */
export async function checkFloor(spans: ReadableSpan[], concurrency: number): Promise<{ count: number; payloads: string }> {
  const calls = handWrittenCalls(spans);
  const mapped = spansToCalls(spans, normalizeOptions(), createSpanMappingStats());
  deepStrictEqual(calls, mapped);
  strictEqual(JSON.stringify(calls), JSON.stringify(mapped), 'the floor writes the fields of a payload in another order');
  let count = 0;
  for (const dataFormat of ['object', 'json'] as const) {
    const exporterHost = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client: exporterHost, dataFormat });
    await exportOnce(exporter, spans);
    await exporter.shutdown();
    const floorHost = new RecordingCifClient();
    await sendCalls(floorHost, calls, { concurrency, count: exporterHost.calls.length, dataFormat });
    deepStrictEqual(floorHost.calls, exporterHost.calls);
    count = exporterHost.calls.length;
  }
  const exporterAtOnce = await callsAtOnce((host) => {
    const stepped = new CifSpanExporter({ client: host });
    return exportOnce(stepped, spans).finally(() => stepped.shutdown());
  });
  const floorAtOnce = await callsAtOnce((host) => sendCalls(host, calls, { concurrency, count, dataFormat: 'object' }));
  deepStrictEqual(floorAtOnce, exporterAtOnce, 'the floor has another number of calls at the host at once than the exporter');
  const atOnce = Math.min(concurrency, count);
  deepStrictEqual(exporterAtOnce, { afterFirstTask: atOnce, most: atOnce }, `the exporter has not ${atOnce} calls at the host at once`);
  return { count, payloads: digest(calls) };
}
