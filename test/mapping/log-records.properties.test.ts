import { TraceFlags, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { expect } from 'chai';
import fc from 'fast-check';
import { validate as validateUuid } from 'uuid';
import type { CifLogRecordExporterOptions } from '../../src/exporters/log-record-exporter.js';
import {
  createLogRecordMappingStats,
  defaultLogRecordCorrelationId,
  defaultLogRecordFilter,
  logRecordsToCalls,
} from '../../src/mapping/log-records.js';
import { normalizeOptions } from '../../src/options.js';
import type { CifCall, CifReadableLogRecord } from '../../src/types.js';
import { TRACE_GUID, TRACE_ID } from '../helpers/spans.js';
import { hostileValues, plainValues } from '../helpers/attribute-values.js';


/** What one attribute holds: a plain value, a hostile value, or a getter that throws. */
type ValuePlan = { plain: unknown } | { hostile: number } | { throws: true };

const plainValue = fc.oneof(
  ...plainValues,
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);
const valuePlan: fc.Arbitrary<ValuePlan> = fc.oneof(
  { weight: 8, arbitrary: plainValue.map((plain) => ({ plain })) },
  { weight: 1, arbitrary: fc.nat(hostileValues.length - 1).map((hostile) => ({ hostile })) },
  { weight: 1, arbitrary: fc.constant({ throws: true as const }) },
);
const attributeKey = fc.constantFrom(
  'cif.conversation.id',
  'cif.provider_session.id',
  'cif.client_session.id',
  'cif.participant.id',
  'cif.kpi.reason',
  'cif.kpi.additional_data',
  'cif.kpi.notification_response_action',
  'cif.kpi.external_correlation_id',
  'cif.kpi.custom.msdyn_customattribute1',
  'cif.kpi.custom.Not A Column',
  'call.queue',
  'other.key',
);
/** `cif.kpi.name`, planned apart because it decides whether the record is a KPI event. */
const kpiNamePlan = fc.option(
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 130 }).map((plain): ValuePlan => ({ plain })),
    fc.nat(hostileValues.length - 1).map((hostile): ValuePlan => ({ hostile })),
    fc.constant<ValuePlan>({ throws: true }),
  ),
  { nil: undefined },
);
const identity = fc.option(
  fc.record({ 'cif.conversation.id': fc.string({ maxLength: 110 }), 'cif.provider_session.id': fc.string({ maxLength: 110 }) }),
  { nil: undefined },
);
const time = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: 0, max: 999_999_999 })),
  fc.constant<[number, number]>([Number.NaN, 0]),
  fc.constant<[number, number]>([1e13, 0]),
  // A Date holds them, Dataverse does not: before 1753, after 9999, and microseconds taken for milliseconds.
  fc.constantFrom<[number, number]>([-7_000_000_000, 0], [-62_198_755_200, 0], [253_402_300_800, 0], [1_800_000_000_000, 0]),
);
const logRecord = fc.record({
  eventName: fc.oneof(fc.constant(undefined), fc.constant(''), fc.constant('exception'), fc.string({ minLength: 1, maxLength: 120 })),
  kpiName: kpiNamePlan,
  identity,
  attributes: fc.array(fc.tuple(attributeKey, valuePlan), { maxLength: 6 }),
  hrTime: time,
  hrTimeObserved: time,
  trace: fc.constantFrom('valid', 'zero', 'none'),
  droppedAttributesCount: fc.nat(3),
  broken: fc.constantFrom(undefined, undefined, undefined, undefined, 'null', 'revoked', 'attributes', 'resource'),
});
type LogRecordPlan = typeof logRecord extends fc.Arbitrary<infer T> ? T : never;

function setValue(bag: Record<string, unknown>, key: string, plan: ValuePlan): void {
  if ('throws' in plan) {
    Object.defineProperty(bag, key, { get: () => { throw new Error('getter trap'); }, enumerable: true, configurable: true });
  } else {
    Object.defineProperty(bag, key, { value: 'hostile' in plan ? hostileValues[plan.hostile]!() : plan.plain, enumerable: true, configurable: true, writable: true });
  }
}

function buildLogRecord(plan: LogRecordPlan): unknown {
  if (plan.broken === 'null') return null;
  if (plan.broken === 'revoked') return hostileValues[0]!();
  const attributes: Record<string, unknown> = { ...plan.identity };
  for (const [key, value] of plan.attributes) setValue(attributes, key, value);
  if (plan.kpiName !== undefined) setValue(attributes, 'cif.kpi.name', plan.kpiName);
  const record: Record<string, unknown> = {
    eventName: plan.eventName,
    hrTime: plan.hrTime as HrTime,
    hrTimeObserved: plan.hrTimeObserved as HrTime,
    attributes,
    resource: resourceFromAttributes({ 'service.name': 'softphone' }),
    body: 'secret body',
    droppedAttributesCount: plan.droppedAttributesCount,
  };
  if (plan.trace !== 'none') {
    record['spanContext'] = { traceId: plan.trace === 'valid' ? TRACE_ID : '0'.repeat(32), spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
  }
  const trap = (what: string) => ({ get: () => { throw new Error(`${what} trap`); } });
  if (plan.broken === 'attributes') Object.defineProperty(record, 'attributes', trap('attributes'));
  if (plan.broken === 'resource') Object.defineProperty(record, 'resource', trap('resource'));
  return record;
}

/**
 * How the default mapping must account for one record, by the documented rules: skipped as
 * unreadable, not a KPI event, left out by the default filter, or one KPI event that ends in a
 * call or under one drop reason.
 */
function expectedOutcome(plan: LogRecordPlan): 'invalid' | 'ignored' | 'filtered' | 'kpi' {
  if (plan.broken === 'null' || plan.broken === 'revoked' || plan.broken === 'attributes') return 'invalid';
  const keys = [...Object.keys(plan.identity ?? {}), ...plan.attributes.map(([key]) => key), ...(plan.kpiName ? ['cif.kpi.name'] : [])];
  if (!keys.some((key) => key.startsWith('cif.'))) return 'ignored';
  const named = plan.kpiName !== undefined || (plan.eventName !== undefined && plan.eventName !== '');
  if (!named) return 'ignored';
  if (plan.eventName === 'exception' && !keys.some((key) => key.startsWith('cif.kpi.'))) return 'filtered';
  return plan.broken === 'resource' ? 'invalid' : 'kpi';
}

const FIELD_SIZES: Record<string, number> = {
  kpiEventName: 100,
  kpiEventReason: 100,
  additionalData: 2000,
  notificationResponseAction: 100,
  externalCorrelationId: 100,
};
const IDENTITY_FIELDS = ['conversationId', 'providerSessionId', 'clientSessionId', 'participantId'];

/** Every field of the call is a known one, a non-empty string within its Dataverse column. */
function expectWithinColumns(call: CifCall, maxEventsPerCall: number): void {
  const { events, ...ids } = call.data;
  for (const [field, value] of Object.entries(ids)) {
    expect(IDENTITY_FIELDS, field).to.include(field);
    expect(value, field).to.be.a('string').with.length.within(1, 100);
  }
  expect(events.length).to.be.within(1, maxEventsPerCall);
  for (const event of events) {
    for (const [field, value] of Object.entries(event)) {
      if (field === 'eventTimestamp') {
        expect(new Date(value as string).toISOString()).to.equal(value);
        expect(value >= '1753-01-01' && value <= '9999-12-31T23:59:59.999Z', `${value} is in Dataverse's range`).to.equal(true);
      } else if (field === 'customData') {
        for (const item of value as Array<{ attribute: string; value: string }>) {
          expect(item.attribute).to.match(/^[a-z][a-z0-9]{1,7}_[a-z0-9_]+$/);
          expect(item.value).to.be.a('string').with.length.within(1, 100);
        }
      } else {
        expect(FIELD_SIZES, field).to.have.property(field);
        expect(value, field).to.be.a('string').with.length.within(1, FIELD_SIZES[field]!);
      }
    }
  }
  expect(call.eventName).to.equal(events[0]!.kpiEventName);
  expect(call.correlationId === TRACE_GUID || validateUuid(call.correlationId), call.correlationId).to.equal(true);
}

function map(records: unknown[], options: CifLogRecordExporterOptions) {
  const stats = createLogRecordMappingStats();
  const normalized = normalizeOptions(options, {
    name: 'CifLogRecordExporter',
    eventFilter: defaultLogRecordFilter,
    correlationId: defaultLogRecordCorrelationId,
  });
  return { calls: logRecordsToCalls(records as CifReadableLogRecord[], normalized, stats), stats };
}

describe('logRecordsToCalls properties', () => {
  it('never throws on random and hostile log records, and sends only known fields within their columns, never the body', () => {
    fc.assert(
      fc.property(fc.array(logRecord, { maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (plans, maxEventsPerCall) => {
        let mapped: ReturnType<typeof map> | undefined;
        expect(() => (mapped = map(plans.map(buildLogRecord), { maxEventsPerCall }))).not.to.throw();
        for (const call of mapped!.calls) {
          expectWithinColumns(call, maxEventsPerCall);
          expect(JSON.stringify(call)).not.to.include('secret body');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('accounts for every KPI-event-carrying record: in a call, or under exactly one drop reason', () => {
    fc.assert(
      fc.property(fc.array(logRecord, { maxLength: 8 }), fc.integer({ min: 1, max: 3 }), (plans, maxEventsPerCall) => {
        const { calls, stats } = map(plans.map(buildLogRecord), { maxEventsPerCall });
        const outcomes = plans.map(expectedOutcome);
        const count = (outcome: string) => outcomes.filter((o) => o === outcome).length;
        const sent = calls.reduce((sum, call) => sum + call.data.events.length, 0);
        const { missing_identity, identity_too_long, missing_kpi_name, invalid_timestamp, invalid_log_record } = stats.dropped;
        expect(sent + missing_identity + identity_too_long + missing_kpi_name + invalid_timestamp, 'KPI events').to.equal(count('kpi'));
        expect(invalid_log_record, 'invalid_log_record').to.equal(count('invalid'));
        expect(stats.logRecordsSeen).to.equal(plans.length);
        expect(stats.cifLogRecords).to.be.at.least(count('kpi') + count('filtered'));
        expect(stats.callbackErrors).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });

  it('counts every cut in truncated and sends nothing longer than its column, whatever the lengths', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 2200 }), { minLength: 5, maxLength: 5 }), ([name, reason, data, action, custom]) => {
        const record = buildLogRecord({
          eventName: undefined,
          kpiName: { plain: name },
          identity: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' },
          attributes: [
            ['cif.kpi.reason', { plain: reason }],
            ['cif.kpi.additional_data', { plain: data }],
            ['cif.kpi.notification_response_action', { plain: action }],
            ['cif.kpi.custom.msdyn_customattribute1', { plain: custom }],
          ],
          hrTime: [1_800_000_000, 0],
          hrTimeObserved: [1_800_000_000, 0],
          trace: 'valid',
          droppedAttributesCount: 0,
          broken: undefined,
        });
        const { calls, stats } = map([record], {});
        expect(calls).to.have.length(1);
        expectWithinColumns(calls[0]!, 1);
        expect(stats.truncated).to.deep.equal({
          kpiEventName: Number(name!.length > 100),
          kpiEventReason: Number(reason!.length > 100),
          additionalData: Number(data!.length > 2000),
          notificationResponseAction: Number(action!.length > 100),
          externalCorrelationId: 0,
          customData: Number(custom!.length > 100),
        });
      }),
      { numRuns: 200 },
    );
  });
});
