import { TraceFlags, type HrTime, type SpanContext } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { expect } from 'chai';
import { validate as validateUuid, version as uuidVersion } from 'uuid';
import type { CifLogRecordExporterOptions } from '../../src/exporters/log-record-exporter.js';
import {
  createLogRecordMappingStats,
  defaultLogRecordCorrelationId,
  defaultLogRecordFilter,
  logRecordsToCalls,
  type LogRecordMappingStats,
} from '../../src/mapping/log-records.js';
import { recordedKpiEventsOnly } from '../../src/index.js';
import { normalizeOptions } from '../../src/options.js';
import type { CifCall, CifKpiEvent, CifReadableLogRecord } from '../../src/types.js';
import { logPipeline } from '../helpers/pipelines.js';
import { IDENTITY, TRACE_GUID, TRACE_ID } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const T3 = '2026-11-25T10:17:00.000Z';
const SECRET = 'hunter2-password-of-the-customer';

function at(iso: string): HrTime {
  return millisToHrTime(Date.parse(iso));
}

const SPAN_CONTEXT: SpanContext = { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };

interface LogRecordOverrides {
  eventName?: string;
  attributes?: Record<string, unknown>;
  resource?: Record<string, string>;
  hrTime?: HrTime;
  hrTimeObserved?: HrTime;
  /** `null` for a record emitted outside any trace. */
  spanContext?: SpanContext | null;
  body?: unknown;
  droppedAttributesCount?: number;
  /** The instrumentation scope's name. */
  scope?: string;
}

/** A log record shaped as sdk-logs hands it to exporters: in a trace, carrying the CIF identity, with a body. */
function makeLogRecord(overrides: LogRecordOverrides = {}): CifReadableLogRecord {
  const record: Record<string, unknown> = {
    hrTime: overrides.hrTime ?? at(T1),
    hrTimeObserved: overrides.hrTimeObserved ?? at(T3),
    attributes: overrides.attributes ?? { ...IDENTITY },
    resource: resourceFromAttributes(overrides.resource ?? {}),
    instrumentationScope: { name: overrides.scope ?? 'softphone' },
    droppedAttributesCount: overrides.droppedAttributesCount ?? 0,
    body: overrides.body ?? `customer card: ${SECRET}`,
  };
  if (overrides.spanContext !== null) record['spanContext'] = overrides.spanContext ?? SPAN_CONTEXT;
  if ('eventName' in overrides) record['eventName'] = overrides.eventName;
  else record['eventName'] = 'CallAccepted';
  return record as unknown as CifReadableLogRecord;
}

function map(records: readonly CifReadableLogRecord[], options: CifLogRecordExporterOptions = {}) {
  const stats = createLogRecordMappingStats();
  const normalized = normalizeOptions(options, {
    name: 'CifLogRecordExporter',
    eventFilter: defaultLogRecordFilter,
    correlationId: defaultLogRecordCorrelationId,
  });
  const calls = logRecordsToCalls(records, normalized, stats);
  return { calls, stats };
}

type StatsPatch = {
  [K in keyof LogRecordMappingStats]?: LogRecordMappingStats[K] extends Record<string, number>
    ? Partial<LogRecordMappingStats[K]>
    : LogRecordMappingStats[K];
};

/** Every counter of a fresh mapping, with `patch` applied: compared whole, so no counter moves unnoticed. */
function statsWith(patch: StatsPatch): LogRecordMappingStats {
  const stats = createLogRecordMappingStats();
  return {
    ...stats,
    ...patch,
    dropped: { ...stats.dropped, ...patch.dropped },
    truncated: { ...stats.truncated, ...patch.truncated },
    droppedFields: { ...stats.droppedFields, ...patch.droppedFields },
  } as LogRecordMappingStats;
}

/** An object that holds itself, which has no JSON. */
function cyclic(): object {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}

/** A whole expected call with the default identity and the trace's correlation id. */
function call(events: CifKpiEvent[], eventName = events[0]!.kpiEventName): CifCall {
  return { data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events }, eventName, correlationId: TRACE_GUID };
}

interface Case {
  title: string;
  records: LogRecordOverrides[];
  options?: CifLogRecordExporterOptions;
  calls: CifCall[];
  stats: StatsPatch;
}

const cases: Case[] = [
  {
    title: 'turns a CIF log record with an eventName into one KPI event stamped with milliseconds',
    records: [{ eventName: 'CallAccepted' }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'names the KPI event by cif.kpi.name rather than the eventName',
    records: [{ eventName: 'accept clicked', attributes: { ...IDENTITY, 'cif.kpi.name': 'CallAccepted' } }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'makes a CIF record with cif.kpi.name and no eventName a KPI event',
    records: [{ eventName: undefined, attributes: { ...IDENTITY, 'cif.kpi.name': 'CallEnded' } }],
    calls: [call([{ kpiEventName: 'CallEnded', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'names the KPI event by an eventName of another type written as text, as a span event\'s name is',
    records: [{ eventName: 42 as unknown as string }, { eventName: { name: 'CallAccepted' } as unknown as string }],
    calls: [call([{ kpiEventName: '42', eventTimestamp: T1 }]), call([{ kpiEventName: '{"name":"CallAccepted"}', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2 },
  },
  {
    title: 'counts as missing its name a KPI event whose eventName or cif.kpi.name cannot be read, and no field as left out of it',
    records: [
      { eventName: cyclic() as unknown as string },
      { eventName: undefined, attributes: { ...IDENTITY, 'cif.kpi.name': [1n] as unknown as string } },
    ],
    calls: [],
    stats: { logRecordsSeen: 2, cifLogRecords: 2, dropped: { missing_kpi_name: 2 } },
  },
  {
    title: 'names the KPI event by eventName when cif.kpi.name cannot be read, and counts that value as left out',
    records: [{ eventName: 'CallAccepted', attributes: { ...IDENTITY, 'cif.kpi.name': [1n] as unknown as string } }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, droppedFields: { unserializable_value: 1 } },
  },
  {
    title: 'counts as missing its name a KPI event whose cif.kpi.name and eventName are empty, as emitKpiEvent(logger, "") emits it',
    records: [{ eventName: '', attributes: { ...IDENTITY, 'cif.kpi.name': '' } }, { eventName: undefined, attributes: { ...IDENTITY, 'cif.kpi.name': '' } }],
    calls: [],
    stats: { logRecordsSeen: 2, cifLogRecords: 2, dropped: { missing_kpi_name: 2 } },
  },
  {
    title: 'ignores a plain log line of a CIF session: no eventName, or one with no text (a bridge may write null), and no cif.kpi.name',
    records: [{ eventName: undefined }, { eventName: '' }, { eventName: null as unknown as string }],
    calls: [],
    stats: { logRecordsSeen: 3, cifLogRecords: 3 },
  },
  {
    title: 'ignores an event record that carries no cif. attribute, even with identity on the resource and session',
    records: [{ attributes: { 'http.method': 'GET' }, resource: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' } }],
    options: { session: { conversationId: 'conv-1', providerSessionId: 'prov-1' } },
    calls: [],
    stats: { logRecordsSeen: 1, cifLogRecords: 0 },
  },
  {
    title: 'writes every KPI field and cif.kpi.custom. column of the record',
    records: [
      {
        attributes: {
          ...IDENTITY,
          'cif.kpi.reason': 'inbound',
          'cif.kpi.additional_data': '{"queue":"billing"}',
          'cif.kpi.notification_response_action': 'accepted',
          'cif.kpi.external_correlation_id': 'ext-42',
          'cif.kpi.custom.msdyn_customattribute1': 'billing',
          'cif.kpi.custom.msdyn_customattribute2': 7,
        },
      },
    ],
    calls: [
      call([
        {
          kpiEventName: 'CallAccepted',
          eventTimestamp: T1,
          kpiEventReason: 'inbound',
          additionalData: '{"queue":"billing"}',
          notificationResponseAction: 'accepted',
          externalCorrelationId: 'ext-42',
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'billing' },
            { attribute: 'msdyn_customattribute2', value: '7' },
          ],
        },
      ]),
    ],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'maps existing attributes to custom columns by customAttributes, an explicit cif.kpi.custom. value winning',
    records: [
      {
        attributes: {
          ...IDENTITY,
          'call.queue': 'billing',
          'call.skill': 'fr',
          'cif.kpi.custom.msdyn_customattribute2': 'explicit',
        },
      },
    ],
    options: { customAttributes: { 'call.queue': 'msdyn_customattribute1', 'call.skill': 'msdyn_customattribute2' } },
    calls: [
      call([
        {
          kpiEventName: 'CallAccepted',
          eventTimestamp: T1,
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'billing' },
            { attribute: 'msdyn_customattribute2', value: 'explicit' },
          ],
        },
      ]),
    ],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'leaves out and counts a cif.kpi.custom. key that names no column',
    records: [{ attributes: { ...IDENTITY, 'cif.kpi.custom.Not A Column': 'x' } }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, droppedFields: { invalid_custom_column: 1 } },
  },
  {
    title: 'leaves out and counts a cif.kpi. key that names no field (misspelt)',
    records: [{ attributes: { ...IDENTITY, 'cif.kpi.additionaldata': 'x' } }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, droppedFields: { invalid_custom_column: 1 } },
  },
  {
    title: 'resolves identity per field: the record, then the resource, then the session option',
    records: [
      {
        attributes: { 'cif.conversation.id': 'conv-record' },
        resource: { 'cif.conversation.id': 'conv-resource', 'cif.provider_session.id': 'prov-resource' },
      },
    ],
    options: {
      session: { conversationId: 'conv-option', providerSessionId: 'prov-option', clientSessionId: 'client-option', participantId: 'agent-7' },
    },
    calls: [
      {
        data: {
          conversationId: 'conv-record',
          providerSessionId: 'prov-resource',
          clientSessionId: 'client-option',
          participantId: 'agent-7',
          events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }],
        },
        eventName: 'CallAccepted',
        correlationId: TRACE_GUID,
      },
    ],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'drops and counts the KPI event of a record with no provider session id anywhere',
    records: [{ attributes: { 'cif.conversation.id': 'conv-1' } }],
    calls: [],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, dropped: { missing_identity: 1 } },
  },
  {
    title: 'drops and counts the KPI event of a record whose id is longer than its column',
    records: [{ attributes: { ...IDENTITY, 'cif.participant.id': 'p'.repeat(101) } }, { eventName: 'CallHold', attributes: IDENTITY }],
    calls: [call([{ kpiEventName: 'CallHold', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2, dropped: { identity_too_long: 1 } },
  },
  {
    title: 'stamps the KPI event at the observed time when the record time is not a valid time',
    records: [{ hrTime: [Number.NaN, 0], hrTimeObserved: at(T2) }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'stamps the KPI event at the observed time when the record time is no pair of numbers',
    records: [{ hrTime: T1 as never, hrTimeObserved: at(T2) }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'prefers the record time over the observed time when both are valid',
    records: [{ hrTime: at(T1), hrTimeObserved: at(T2) }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'keeps a record time at the last millisecond a Date holds, and drops the KPI event as Dataverse cannot store it',
    records: [{ hrTime: [8.64e12, 0], hrTimeObserved: at(T2) }],
    calls: [],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, dropped: { invalid_timestamp: 1 } },
  },
  {
    title: 'stamps the KPI event at the observed time when the record time is a millisecond past what a Date holds',
    records: [{ hrTime: [8.64e12, 1e6], hrTimeObserved: at(T2) }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'drops and counts a KPI event when neither time is a valid date',
    records: [{ hrTime: [Number.NaN, 0], hrTimeObserved: [1e13, 0] }],
    calls: [],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, dropped: { invalid_timestamp: 1 } },
  },
  {
    title: 'leaves out the OpenTelemetry exception event by default',
    records: [{ eventName: 'exception', attributes: { ...IDENTITY, 'exception.message': 'boom' } }, { eventName: 'CallHold', hrTime: at(T2) }],
    calls: [call([{ kpiEventName: 'CallHold', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2 },
  },
  {
    title: 'sends an exception event that carries a cif.kpi. attribute, as emitKpiEvent(logger, "exception") emits it',
    records: [
      { eventName: 'exception', attributes: { ...IDENTITY, 'cif.kpi.name': 'exception' } },
      { eventName: 'exception', attributes: { ...IDENTITY, 'cif.kpi.reason': 'crash' }, hrTime: at(T2) },
    ],
    calls: [call([{ kpiEventName: 'exception', eventTimestamp: T1 }]), call([{ kpiEventName: 'exception', kpiEventReason: 'crash', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2 },
  },
  {
    title: 'leaves out the events of an instrumentation library by default, unless they carry a cif.kpi. attribute',
    records: [
      { eventName: 'browser.page_view', scope: '@opentelemetry/instrumentation-document-load' },
      { eventName: 'open', scope: '@opentelemetry/instrumentation-xml-http-request', attributes: { ...IDENTITY, 'cif.kpi.name': 'CallAccepted' }, hrTime: at(T2) },
      { eventName: 'open', scope: 'softphone', hrTime: at(T3) },
    ],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T2 }]), call([{ kpiEventName: 'open', eventTimestamp: T3 }])],
    stats: { logRecordsSeen: 3, cifLogRecords: 3 },
  },
  {
    title: 'drops and counts a KPI event whose time Dataverse cannot hold, rather than sending its observed time',
    records: [{ hrTime: [1_764_065_730_123, 0] }, { hrTime: [-7_000_000_000, 0] }],
    calls: [],
    stats: { logRecordsSeen: 2, cifLogRecords: 2, dropped: { invalid_timestamp: 2 } },
  },
  {
    title: 'keeps the exception event when an eventFilter of the user replaces the default',
    records: [{ eventName: 'exception' }],
    options: { eventFilter: () => true },
    calls: [call([{ kpiEventName: 'exception', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'keeps only the records the eventFilter option accepts, without counting an error',
    records: [{ eventName: 'CallAccepted' }, { eventName: 'debug.tick', hrTime: at(T2) }],
    options: { eventFilter: (record) => record.eventName !== 'debug.tick' },
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2 },
  },
  {
    title: 'names calls and correlates them with the eventName and correlationId options',
    records: [{ eventName: 'CallHold' }],
    options: {
      eventName: (kpi, record) => `${String(record.eventName)}:${kpi.kpiEventName}:${record.attributes['cif.conversation.id'] as string}`,
      correlationId: (record) => `corr-${record.attributes['cif.conversation.id'] as string}`,
    },
    calls: [{ ...call([{ kpiEventName: 'CallHold', eventTimestamp: T1 }], 'CallHold:CallHold:conv-1'), correlationId: 'corr-conv-1' }],
    stats: { logRecordsSeen: 1, cifLogRecords: 1 },
  },
  {
    title: 'falls back to each default, and counts it, when the callbacks throw or answer badly',
    records: [{ eventName: 'CallAccepted' }, { eventName: 'exception', hrTime: at(T2) }],
    options: {
      eventFilter: () => {
        throw new Error('filter bug');
      },
      eventName: () => '',
      correlationId: () => {
        throw new Error('id bug');
      },
    },
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    // Two filter throws, then one eventName and one correlationId failure for the record kept.
    stats: { logRecordsSeen: 2, cifLogRecords: 2, callbackErrors: 4 },
  },
  {
    title: 'counts an eventFilter answer that is not a boolean as a callback error and uses the default',
    records: [{ eventName: 'exception' }],
    options: { eventFilter: (() => 'yes') as unknown as () => boolean },
    calls: [],
    stats: { logRecordsSeen: 1, cifLogRecords: 1, callbackErrors: 1 },
  },
  {
    title: 'cuts every field to its column size and counts each cut',
    records: [
      {
        eventName: undefined,
        attributes: {
          ...IDENTITY,
          'cif.kpi.name': 'N'.repeat(150),
          'cif.kpi.reason': 'r'.repeat(101),
          'cif.kpi.additional_data': 'a'.repeat(2500),
          'cif.kpi.notification_response_action': 'n'.repeat(100),
          'cif.kpi.external_correlation_id': 'e'.repeat(120),
          'cif.kpi.custom.msdyn_customattribute1': 'c'.repeat(300),
        },
      },
    ],
    calls: [
      call([
        {
          kpiEventName: 'N'.repeat(100),
          eventTimestamp: T1,
          kpiEventReason: 'r'.repeat(100),
          additionalData: 'a'.repeat(2000),
          notificationResponseAction: 'n'.repeat(100),
          externalCorrelationId: 'e'.repeat(100),
          customData: [{ attribute: 'msdyn_customattribute1', value: 'c'.repeat(100) }],
        },
      ]),
    ],
    stats: {
      logRecordsSeen: 1,
      cifLogRecords: 1,
      truncated: { kpiEventName: 1, kpiEventReason: 1, additionalData: 1, externalCorrelationId: 1, customData: 1 },
    },
  },
  {
    title: 'groups KPI events sharing eventName, identity and correlation id up to maxEventsPerCall, in time order',
    records: [
      { eventName: 'Tick', hrTime: at(T3) },
      { eventName: 'Tick', hrTime: at(T1) },
      { eventName: 'CallHold', hrTime: at(T2) },
      { eventName: 'Tick', hrTime: at(T2) },
    ],
    options: { maxEventsPerCall: 2 },
    calls: [
      call([
        { kpiEventName: 'Tick', eventTimestamp: T1 },
        { kpiEventName: 'Tick', eventTimestamp: T2 },
      ]),
      call([{ kpiEventName: 'CallHold', eventTimestamp: T2 }]),
      call([{ kpiEventName: 'Tick', eventTimestamp: T3 }]),
    ],
    stats: { logRecordsSeen: 4, cifLogRecords: 4 },
  },
  {
    title: 'makes one call per KPI event by default, in time order',
    records: [
      { eventName: 'Tick', hrTime: at(T2) },
      { eventName: 'Tick', hrTime: at(T1) },
    ],
    calls: [call([{ kpiEventName: 'Tick', eventTimestamp: T1 }]), call([{ kpiEventName: 'Tick', eventTimestamp: T2 }])],
    stats: { logRecordsSeen: 2, cifLogRecords: 2 },
  },
  {
    title: 'adds the attributes the SDK dropped from a CIF record to droppedFields.sdk_attribute_limit, and none from other records',
    records: [{ droppedAttributesCount: 3 }, { eventName: undefined, droppedAttributesCount: 2 }, { attributes: { other: 'x' }, droppedAttributesCount: 5 }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
    stats: { logRecordsSeen: 3, cifLogRecords: 2, droppedFields: { sdk_attribute_limit: 3 } },
  },
];

describe('logRecordsToCalls', () => {
  cases.forEach((c) =>
    it(c.title, () => {
      const { calls, stats } = map(c.records.map(makeLogRecord), c.options);
      expect(calls).to.deep.equal(c.calls);
      expect(stats).to.deep.equal(statsWith(c.stats));
    }),
  );

  it("reads no field from a map attribute named '__proto__', which the SDK makes the prototype of the record's attributes", async () => {
    const { client, logger, flush } = logPipeline({ customAttributes: { 'call.queue': 'msdyn_customattribute1' } });
    const fromServer = JSON.parse('{"__proto__": {"cif.kpi.name": "Forged", "call.queue": "from the map"}}') as Record<string, unknown>;
    logger.emit({ eventName: 'CallAccepted', attributes: { ...IDENTITY, ...fromServer } as never });
    await flush();
    expect(client.payloads().flatMap((data) => data.events.map((kpiEvent) => [kpiEvent.kpiEventName, kpiEvent.customData]))).to.deep.equal([
      ['CallAccepted', undefined],
    ]);
  });

  it("is left out by recordedKpiEventsOnly when its cif.kpi.name only comes from a map attribute named '__proto__'", async () => {
    const { client, logger, flush } = logPipeline({ eventFilter: recordedKpiEventsOnly });
    const fromServer = JSON.parse('{"__proto__": {"cif.kpi.name": "CallAccepted"}}') as Record<string, unknown>;
    logger.emit({ eventName: 'other.library.event', attributes: { ...IDENTITY, ...fromServer } as never });
    await flush();
    expect(client.calls).to.deep.equal([]);
  });

  it('never puts the record body in any payload, and never reads it', () => {
    let bodyReads = 0;
    const records = [
      makeLogRecord({ body: { password: SECRET, card: '4111 1111 1111 1111' } }),
      makeLogRecord({ eventName: 'CallHold', body: SECRET }),
      makeLogRecord({ eventName: 'CallEnded' }),
    ];
    Object.defineProperty(records[2], 'body', {
      get: () => {
        bodyReads++;
        return SECRET;
      },
    });
    const { calls } = map(records, { maxEventsPerCall: 5 });
    expect(calls).to.have.length(3);
    for (const c of calls) {
      const json = JSON.stringify(c);
      expect(json).not.to.include(SECRET);
      expect(json).not.to.include('4111');
    }
    expect(bodyReads).to.equal(0);
  });

  it('uses the trace id of the span context as a GUID for the correlation id', () => {
    const { calls } = map([makeLogRecord({ spanContext: SPAN_CONTEXT })]);
    expect(calls.map((c) => c.correlationId)).to.deep.equal([TRACE_GUID]);
  });

  const traceless: Array<[string, SpanContext | null]> = [
    ['no span context', null],
    ['an all-zero trace id', { ...SPAN_CONTEXT, traceId: '0'.repeat(32) }],
  ];
  traceless.forEach(([what, spanContext]) =>
    it(`gives records with ${what} one v5 UUID per conversation, shared by the records of that conversation`, () => {
      const conv = (conversationId: string, eventName: string) =>
        makeLogRecord({ eventName, spanContext, attributes: { 'cif.conversation.id': conversationId, 'cif.provider_session.id': 'prov-1' } });
      const { calls } = map([conv('conv-1', 'A'), conv('conv-1', 'B'), conv('conv-2', 'C')]);
      const [a, b, c] = calls.map((x) => x.correlationId) as [string, string, string];
      expect(calls.map((x) => x.eventName)).to.deep.equal(['A', 'B', 'C']);
      expect(validateUuid(a), a).to.equal(true);
      expect(uuidVersion(a)).to.equal(5);
      expect(b).to.equal(a);
      expect(validateUuid(c)).to.equal(true);
      expect(uuidVersion(c)).to.equal(5);
      expect(c).not.to.equal(a);
      // Without state: a second mapping of the same conversation gives the same id.
      expect(map([conv('conv-1', 'D')]).calls[0]!.correlationId).to.equal(a);
    }),
  );

  it('gives different v5 UUIDs to records of one conversation under different provider sessions', () => {
    const record = (providerSessionId: string) =>
      makeLogRecord({ spanContext: null, attributes: { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': providerSessionId } });
    const { calls } = map([record('prov-1'), record('prov-2')]);
    expect(calls[0]!.correlationId).not.to.equal(calls[1]!.correlationId);
  });

  const hostile: Array<[string, () => unknown]> = [
    ['null', () => null],
    ['a revoked Proxy', () => {
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      return revocable.proxy;
    }],
    ['a record whose attributes getter throws', () =>
      Object.defineProperty(makeLogRecord(), 'attributes', { get: () => { throw new Error('attributes trap'); } })],
    ['a record whose resource getter throws', () =>
      Object.defineProperty(makeLogRecord(), 'resource', { get: () => { throw new Error('resource trap'); } })],
    ['a record whose eventName getter throws', () =>
      Object.defineProperty(makeLogRecord(), 'eventName', { get: () => { throw new Error('eventName trap'); } })],
    ['a record whose hrTime getter throws', () =>
      Object.defineProperty(makeLogRecord(), 'hrTime', { get: () => { throw new Error('hrTime trap'); } })],
  ];
  hostile.forEach(([what, make]) =>
    it(`counts ${what} as invalid_log_record and still maps the records around it`, () => {
      const records = [makeLogRecord({ eventName: 'Before' }), make(), makeLogRecord({ eventName: 'After', hrTime: at(T2) })];
      const { calls, stats } = map(records as CifReadableLogRecord[]);
      expect(calls).to.deep.equal([
        call([{ kpiEventName: 'Before', eventTimestamp: T1 }]),
        call([{ kpiEventName: 'After', eventTimestamp: T2 }]),
      ]);
      expect(stats.dropped).to.deep.equal(statsWith({ dropped: { invalid_log_record: 1 } }).dropped);
      expect(stats.logRecordsSeen).to.equal(3);
    }),
  );

  it('drops an attribute whose getter throws, not the record, and counts it as unserializable', () => {
    const attributes = { ...IDENTITY, 'cif.kpi.custom.msdyn_customattribute1': 'kept' };
    Object.defineProperty(attributes, 'cif.kpi.reason', { enumerable: true, get: () => { throw new Error('value trap'); } });
    const { calls, stats } = map([makeLogRecord({ attributes })]);
    expect(calls).to.deep.equal([
      call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute1', value: 'kept' }] }]),
    ]);
    expect(stats).to.deep.equal(statsWith({ logRecordsSeen: 1, cifLogRecords: 1, droppedFields: { unserializable_value: 1 } }));
  });

  it('tells the warning which ids a log record lacks, and which record it was', () => {
    const warnings: Array<[string, string]> = [];
    const stats = createLogRecordMappingStats();
    const options = normalizeOptions<CifReadableLogRecord, (record: CifReadableLogRecord) => boolean>(
      {},
      { name: 'CifLogRecordExporter', eventFilter: defaultLogRecordFilter, correlationId: defaultLogRecordCorrelationId },
    );
    logRecordsToCalls([makeLogRecord({ eventName: 'CallHold', attributes: { 'cif.participant.id': 'agent-7' } })], options, stats, (counter, message) =>
      warnings.push([counter, message]),
    );
    expect(warnings).to.deep.equal([
      ['dropped.missing_identity', "KPI events dropped: log record 'CallHold' has no cif.conversation.id and cif.provider_session.id."],
    ]);
  });
});
