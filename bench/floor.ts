import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CifSpanExporter, type CifAnalyticsClient, type CifAnalyticsData, type CifKpiEvent } from '../src/index.js';
import { createSpanMappingStats, spansToCalls } from '../src/mapping/spans.js';
import { normalizeOptions } from '../src/options.js';
import { RecordingCifClient } from '../src/testing/index.js';
import type { CifCall } from '../src/types.js';
import { SteppedHost, nextTask } from './workload.js';

/**
 * The calls of this workload's spans, written by hand for them: what a mapper that knows its
 * input must do at least. `checkFloor` proves it builds the same payloads as the exporter.
 */
export function handWrittenCalls(spans: readonly ReadableSpan[]): CifCall[] {
  const calls: CifCall[] = [];
  for (const span of spans) {
    const attributes = span.attributes as Record<string, string>;
    const traceId = span.spanContext().traceId;
    const correlationId = `${traceId.slice(0, 8)}-${traceId.slice(8, 12)}-${traceId.slice(12, 16)}-${traceId.slice(16, 20)}-${traceId.slice(20)}`;
    for (const spanEvent of span.events) {
      const eventAttributes = spanEvent.attributes as Record<string, string | undefined>;
      const event: CifKpiEvent = {
        kpiEventName: spanEvent.name,
        eventTimestamp: isoTimestamp(spanEvent.time[0] * 1000 + Math.floor(spanEvent.time[1] / 1e6)),
        kpiEventReason: attributes['cif.kpi.reason'],
        additionalData: eventAttributes['cif.kpi.additional_data'],
      };
      const action = eventAttributes['cif.kpi.notification_response_action'];
      if (action !== undefined) event.notificationResponseAction = action;
      event.externalCorrelationId = eventAttributes['cif.kpi.external_correlation_id'];
      event.customData = [{ attribute: 'msdyn_customattribute1', value: attributes['cif.kpi.custom.msdyn_customattribute1']! }];
      const hold = eventAttributes['cif.kpi.custom.msdyn_customattribute3'];
      if (hold !== undefined) event.customData.push({ attribute: 'msdyn_customattribute3', value: hold });
      const data: CifAnalyticsData = {
        conversationId: attributes['cif.conversation.id']!,
        providerSessionId: attributes['cif.provider_session.id']!,
        clientSessionId: attributes['cif.client_session.id']!,
        participantId: span.resource.attributes['cif.participant.id'] as string,
        events: [event],
      };
      calls.push({ data, eventName: spanEvent.name, correlationId });
    }
  }
  return calls;
}

let minute = Number.NaN;
let prefix = '';

/**
 * `Date#toISOString` for times after 1970, asking `Date` once per minute seen, as the library does:
 * a `Date` per KPI event costs more than the rest of a payload.
 */
function isoTimestamp(millis: number): string {
  const sinceMinute = millis % 60_000;
  if (millis - sinceMinute !== minute) {
    minute = millis - sinceMinute;
    prefix = new Date(minute).toISOString().slice(0, 17);
  }
  const seconds = Math.floor(sinceMinute / 1000);
  const ms = sinceMinute % 1000;
  return `${prefix}${seconds < 10 ? '0' : ''}${seconds}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

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
