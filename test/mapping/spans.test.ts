import { PerformanceTimingNames } from '@opentelemetry/sdk-trace-web';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { CifSpanExporterOptions } from '../../src/options.js';
import { normalizeOptions } from '../../src/options.js';
import { createSpanMappingStats, defaultEventFilter, PERFORMANCE_TIMING_NAME, spansToCalls, type SpanMappingStats } from '../../src/mapping/spans.js';
import type { CifCall, CifTimedEvent } from '../../src/types.js';
import { IDENTITY, TRACE_GUID, at, event, makeSpan, type SpanOverrides } from '../helpers/spans.js';

function map(spans: SpanOverrides[], options: CifSpanExporterOptions = {}) {
  const stats = createSpanMappingStats();
  const calls = spansToCalls(spans.map(makeSpan), normalizeOptions(options), stats);
  return { calls, stats };
}

/** A whole expected call with the default identity and correlation id. */
function call(events: CifCall['data']['events'], eventName = events[0]!.kpiEventName): CifCall {
  return {
    data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events },
    eventName,
    correlationId: TRACE_GUID,
  };
}

const T1 = '2026-11-25T10:15:30.123Z';
/** A map attribute (OpenTelemetry JS 3.x) that refers to itself. */
const CYCLIC: Record<string, unknown> = {};
CYCLIC['self'] = CYCLIC;
const T2 = '2026-11-25T10:16:00.000Z';
const T3 = '2026-11-25T10:17:00.000Z';
const END = '2026-11-25T10:20:00.000Z';

interface Case {
  title: string;
  spans: SpanOverrides[];
  options?: CifSpanExporterOptions;
  calls: CifCall[];
  stats?: (stats: SpanMappingStats) => void;
}

const cases: Case[] = [
  {
    title: 'ignores a span with no cif. attribute',
    spans: [{ attributes: { 'http.method': 'GET' }, events: [event('click', T1)] }],
    calls: [],
    stats: (s) => expect(s.cifSpans).to.equal(0),
  },
  {
    title: 'turns each span event of a CIF span into one KPI event, stamped with milliseconds',
    spans: [{ attributes: IDENTITY, events: [event('CallAccepted', T1), event('CallHold', T2)] }],
    calls: [
      call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }]),
      call([{ kpiEventName: 'CallHold', eventTimestamp: T2 }]),
    ],
    stats: (s) => expect(s.cifSpans).to.equal(1),
  },
  {
    title: "keeps an event's own custom columns off the span's other KPI events",
    spans: [
      {
        attributes: { ...IDENTITY, 'cif.kpi.name': 'WrapUp', 'cif.kpi.custom.msdyn_customattribute1': 'span' },
        events: [
          event('A', T1, { 'call.queue': 'queue A' }),
          event('B', T2, { 'cif.kpi.custom.msdyn_customattribute1': 'B', 'cif.kpi.custom.msdyn_customattribute2': 'only B' }),
          event('C', T3),
        ],
      },
    ],
    options: { customAttributes: { 'call.queue': 'msdyn_customattribute3' } },
    calls: [
      call([
        {
          kpiEventName: 'A',
          eventTimestamp: T1,
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'span' },
            { attribute: 'msdyn_customattribute3', value: 'queue A' },
          ],
        },
      ]),
      call([
        {
          kpiEventName: 'B',
          eventTimestamp: T2,
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'B' },
            { attribute: 'msdyn_customattribute2', value: 'only B' },
          ],
        },
      ]),
      call([{ kpiEventName: 'C', eventTimestamp: T3, customData: [{ attribute: 'msdyn_customattribute1', value: 'span' }] }]),
      call([{ kpiEventName: 'WrapUp', eventTimestamp: END, customData: [{ attribute: 'msdyn_customattribute1', value: 'span' }] }]),
    ],
  },
  {
    title: 'treats a span as a CIF span when only one of its events has a cif. attribute',
    spans: [{ events: [event('CallAccepted', T1, { 'cif.kpi.reason': 'inbound' })] }],
    options: { session: { conversationId: 'conv-1', providerSessionId: 'prov-1' } },
    calls: [call([{ kpiEventName: 'CallAccepted', kpiEventReason: 'inbound', eventTimestamp: T1 }])],
  },
  {
    title: 'uses cif.kpi.name on an event instead of the event name',
    spans: [{ attributes: IDENTITY, events: [event('accept clicked', T1, { 'cif.kpi.name': 'CallAccepted' })] }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
  },
  {
    title: 'makes a span with cif.kpi.name one KPI event stamped at its end time',
    spans: [{ attributes: { ...IDENTITY, 'cif.kpi.name': 'WrapUp', 'cif.kpi.reason': 'done' } }],
    calls: [call([{ kpiEventName: 'WrapUp', kpiEventReason: 'done', eventTimestamp: END }])],
  },
  {
    title: 'writes every KPI field, with event-level values winning over span-level defaults',
    spans: [
      {
        attributes: {
          ...IDENTITY,
          'cif.kpi.reason': 'span reason',
          'cif.kpi.additional_data': 'span data',
          'cif.kpi.notification_response_action': 'accepted',
          'cif.kpi.external_correlation_id': 'ext-span',
          'cif.kpi.custom.msdyn_customattribute1': 'span 1',
          'cif.kpi.custom.msdyn_customattribute2': 'span 2',
        },
        events: [
          event('CallTransfer', T1, {
            'cif.kpi.reason': 'event reason',
            'cif.kpi.external_correlation_id': 'ext-event',
            'cif.kpi.custom.msdyn_customattribute2': 'event 2',
          }),
        ],
      },
    ],
    calls: [
      call([
        {
          kpiEventName: 'CallTransfer',
          kpiEventReason: 'event reason',
          eventTimestamp: T1,
          additionalData: 'span data',
          notificationResponseAction: 'accepted',
          externalCorrelationId: 'ext-event',
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'span 1' },
            { attribute: 'msdyn_customattribute2', value: 'event 2' },
          ],
        },
      ]),
    ],
  },
  {
    title: 'maps existing attributes to custom columns, an explicit cif.kpi.custom. value winning',
    spans: [
      {
        attributes: { ...IDENTITY, 'call.queue': 'billing', 'call.skill': 'fr' },
        events: [event('CallAccepted', T1, { 'cif.kpi.custom.msdyn_customattribute2': 'explicit' })],
      },
    ],
    options: {
      customAttributes: { 'call.queue': 'msdyn_customattribute1', 'call.skill': 'msdyn_customattribute2' },
    },
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
  },
  {
    title: "sets an event's mapped attribute over the column its span set explicitly: the event's value wins, column by column",
    spans: [
      {
        attributes: { ...IDENTITY, 'cif.kpi.custom.msdyn_customattribute2': 'span', 'cif.kpi.custom.msdyn_customattribute3': 'span' },
        events: [event('CallAccepted', T1, { 'call.skill': 'event' })],
      },
    ],
    options: { customAttributes: { 'call.skill': 'msdyn_customattribute2' } },
    calls: [
      call([
        {
          kpiEventName: 'CallAccepted',
          eventTimestamp: T1,
          customData: [
            { attribute: 'msdyn_customattribute2', value: 'event' },
            { attribute: 'msdyn_customattribute3', value: 'span' },
          ],
        },
      ]),
    ],
  },
  {
    title: 'resolves identity per field: span, then resource, then the session option',
    spans: [
      {
        attributes: { 'cif.conversation.id': 'conv-span' },
        resource: { 'cif.conversation.id': 'conv-res', 'cif.provider_session.id': 'prov-res' },
        events: [event('CallAccepted', T1)],
      },
    ],
    options: { session: { providerSessionId: 'prov-opt', clientSessionId: 'client-opt', participantId: 'agent-7' } },
    calls: [
      {
        data: {
          conversationId: 'conv-span',
          providerSessionId: 'prov-res',
          clientSessionId: 'client-opt',
          participantId: 'agent-7',
          events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }],
        },
        eventName: 'CallAccepted',
        correlationId: TRACE_GUID,
      },
    ],
  },
  {
    title: 'drops and counts the KPI events of a CIF span with no provider session id',
    spans: [{ attributes: { 'cif.conversation.id': 'conv-1' }, events: [event('A', T1), event('B', T2)] }],
    calls: [],
    stats: (s) => expect(s.dropped.missing_identity).to.equal(2),
  },
  {
    title: 'drops and counts the KPI events of a span whose id is longer than its column',
    spans: [{ attributes: { ...IDENTITY, 'cif.participant.id': 'p'.repeat(101) }, events: [event('A', T1)] }],
    calls: [],
    stats: (s) => expect(s.dropped.identity_too_long).to.equal(1),
  },
  {
    title: 'sends nothing and counts nothing as dropped for a CIF span with no events',
    spans: [{ attributes: IDENTITY }],
    calls: [],
    stats: (s) => {
      expect(s.cifSpans).to.equal(1);
      expect(Object.values(s.dropped).every((n) => n === 0)).to.equal(true);
    },
  },
  {
    title: 'leaves out the OpenTelemetry exception event by default',
    spans: [{ attributes: IDENTITY, events: [event('exception', T1, { 'exception.message': 'x' }), event('A', T2)] }],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T2 }])],
  },
  {
    title: 'sends an exception event that carries a cif. attribute, as recordKpiEvent(span, "exception") records it',
    spans: [{ attributes: IDENTITY, events: [event('exception', T1, { 'cif.kpi.name': 'exception', 'cif.kpi.reason': 'crash' })] }],
    calls: [call([{ kpiEventName: 'exception', kpiEventReason: 'crash', eventTimestamp: T1 }])],
  },
  {
    title: 'leaves out the events of a span made by a web instrumentation, and sends the KPI events recorded on it',
    spans: [
      {
        attributes: IDENTITY,
        scope: '@opentelemetry/instrumentation-xml-http-request',
        events: [event('open', T1), event('send', T1), event('loaded', T2), event('CallAccepted', T3, { 'cif.kpi.name': 'CallAccepted' })],
      },
    ],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T3 }])],
  },
  {
    title: 'leaves out the network timing events of the web instrumentations by default',
    spans: [
      {
        attributes: IDENTITY,
        events: [event('fetchStart', T1), event('responseEnd', T1, { 'http.status': 200 }), event('A', T2)],
      },
    ],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T2 }])],
  },
  {
    title: 'keeps a timing-named event that carries a cif. attribute',
    spans: [{ attributes: IDENTITY, events: [event('responseEnd', T1, { 'cif.kpi.reason': 'crm lookup' })] }],
    calls: [call([{ kpiEventName: 'responseEnd', eventTimestamp: T1, kpiEventReason: 'crm lookup' }])],
  },
  {
    title: 'keeps only the events the eventFilter option accepts',
    spans: [{ attributes: IDENTITY, events: [event('A', T1), event('debug', T2)] }],
    options: { eventFilter: (e) => e.name !== 'debug' },
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
  },
  {
    title: 'names calls with the eventName option',
    spans: [{ attributes: IDENTITY, events: [event('CallHold', T1)] }],
    options: { eventName: (kpi, span) => `${span.name}:${kpi.kpiEventName}` },
    calls: [call([{ kpiEventName: 'CallHold', eventTimestamp: T1 }], 'call:CallHold')],
  },
  {
    title: 'takes the correlationId option over the trace id',
    spans: [{ attributes: IDENTITY, events: [event('A', T1)] }],
    options: { correlationId: () => 'my-correlation' },
    calls: [{ ...call([{ kpiEventName: 'A', eventTimestamp: T1 }]), correlationId: 'my-correlation' }],
  },
  {
    title: 'falls back to the defaults, and counts it, when callbacks throw or return nothing',
    spans: [{ attributes: IDENTITY, events: [event('A', T1), event('exception', T2)] }],
    options: {
      eventFilter: () => {
        throw new Error('filter bug');
      },
      eventName: () => '',
      correlationId: () => {
        throw new Error('id bug');
      },
    },
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
    stats: (s) => expect(s.callbackErrors).to.equal(2 + 1 + 1),
  },
  {
    title: 'writes numbers and booleans with String() and arrays as JSON, omitting empty values',
    spans: [
      {
        attributes: { ...IDENTITY, 'cif.kpi.reason': '' },
        events: [
          event('A', T1, {
            'cif.kpi.additional_data': [1, 2, 3],
            'cif.kpi.external_correlation_id': 42,
            'cif.kpi.custom.msdyn_customattribute1': true,
            'cif.kpi.custom.msdyn_customattribute2': [],
            'cif.kpi.custom.msdyn_customattribute3': '',
            'cif.kpi.custom.msdyn_customattribute4': 0.5,
          }),
        ],
      },
    ],
    calls: [
      call([
        {
          kpiEventName: 'A',
          eventTimestamp: T1,
          additionalData: '[1,2,3]',
          externalCorrelationId: '42',
          customData: [
            { attribute: 'msdyn_customattribute1', value: 'true' },
            { attribute: 'msdyn_customattribute4', value: '0.5' },
          ],
        },
      ]),
    ],
  },
  {
    title: 'cuts long values to their column sizes and counts each cut',
    spans: [
      {
        attributes: IDENTITY,
        events: [
          event('n'.repeat(10_000), T1, {
            'cif.kpi.reason': 'r'.repeat(10_000),
            'cif.kpi.additional_data': 'd'.repeat(10_000),
            'cif.kpi.notification_response_action': 'a'.repeat(101),
            'cif.kpi.external_correlation_id': 'e'.repeat(101),
            'cif.kpi.custom.msdyn_customattribute1': 'c'.repeat(101),
          }),
        ],
      },
    ],
    calls: [
      call([
        {
          kpiEventName: 'n'.repeat(100),
          kpiEventReason: 'r'.repeat(100),
          eventTimestamp: T1,
          additionalData: 'd'.repeat(2000),
          notificationResponseAction: 'a'.repeat(100),
          externalCorrelationId: 'e'.repeat(100),
          customData: [{ attribute: 'msdyn_customattribute1', value: 'c'.repeat(100) }],
        },
      ]),
    ],
    stats: (s) =>
      expect(s.truncated).to.deep.equal({
        kpiEventName: 1,
        kpiEventReason: 1,
        additionalData: 1,
        notificationResponseAction: 1,
        externalCorrelationId: 1,
        customData: 1,
      }),
  },
  {
    title: 'keeps Unicode intact and never cuts a surrogate pair in half',
    spans: [
      {
        attributes: IDENTITY,
        events: [event('Appel transféré ☎', T1, { 'cif.kpi.reason': `${'x'.repeat(99)}😀` })],
      },
    ],
    calls: [call([{ kpiEventName: 'Appel transféré ☎', kpiEventReason: 'x'.repeat(99), eventTimestamp: T1 }])],
  },
  {
    title: 'leaves out and counts custom columns that are not Dataverse column names',
    spans: [
      {
        attributes: IDENTITY,
        events: [
          event('A', T1, {
            'cif.kpi.custom.__proto__': 'polluted',
            'cif.kpi.custom.constructor': 'polluted',
            'cif.kpi.custom.msdyn_customattribute5': 'kept',
          }),
        ],
      },
    ],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute5', value: 'kept' }] }])],
    stats: (s) => expect(s.droppedFields.invalid_custom_column).to.equal(2),
  },
  {
    title: 'leaves out and counts, once per KPI event, a cif.kpi. key that names no field (misspelt), on the span or an event, and sends the rest',
    spans: [
      {
        attributes: { ...IDENTITY, 'cif.kpi.reson': 'inbound', 'cif.kpi.reason': 'kept' },
        events: [event('A', T1), event('B', T2, { 'cif.kpi.additionaldata': 'lost', 'cif.kpi.name': 'Named' })],
      },
    ],
    calls: [call([{ kpiEventName: 'A', kpiEventReason: 'kept', eventTimestamp: T1 }]), call([{ kpiEventName: 'Named', kpiEventReason: 'kept', eventTimestamp: T2 }])],
    stats: (s) => expect(s.droppedFields.invalid_custom_column).to.equal(3),
  },
  {
    title: 'drops the nanoseconds below the millisecond',
    spans: [{ attributes: IDENTITY, events: [{ name: 'A', time: at(T1, 999_999) }] }],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
  },
  {
    title: 'orders the KPI events of a batch by time across spans',
    spans: [
      { attributes: IDENTITY, events: [event('Late', T2)] },
      { attributes: IDENTITY, events: [event('Early', T1)] },
    ],
    calls: [
      call([{ kpiEventName: 'Early', eventTimestamp: T1 }]),
      call([{ kpiEventName: 'Late', eventTimestamp: T2 }]),
    ],
  },
  {
    title: 'groups KPI events sharing eventName, identity and correlation id, up to maxEventsPerCall',
    spans: [
      {
        attributes: IDENTITY,
        events: [event('Hold', '2026-11-25T10:15:03.000Z'), event('Hold', '2026-11-25T10:15:01.000Z'), event('Other', T2)],
      },
      { attributes: IDENTITY, events: [event('Hold', '2026-11-25T10:15:02.000Z')] },
      { attributes: IDENTITY, traceId: 'a'.repeat(32), events: [event('Hold', '2026-11-25T10:15:04.000Z')] },
    ],
    options: { maxEventsPerCall: 2 },
    calls: [
      call([
        { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:01.000Z' },
        { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:02.000Z' },
      ]),
      call([{ kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:03.000Z' }]),
      {
        ...call([{ kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:04.000Z' }]),
        correlationId: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
      },
      call([{ kpiEventName: 'Other', eventTimestamp: T2 }]),
    ],
  },
  {
    title: 'keeps the calls of a batch in time order when it groups KPI events',
    spans: [
      {
        attributes: IDENTITY,
        events: [
          event('A', '2026-11-25T10:15:01.000Z'),
          event('A', '2026-11-25T10:15:02.000Z'),
          event('B', '2026-11-25T10:15:03.000Z'),
          event('A', '2026-11-25T10:15:04.000Z'),
        ],
      },
    ],
    options: { maxEventsPerCall: 2 },
    calls: [
      call([
        { kpiEventName: 'A', eventTimestamp: '2026-11-25T10:15:01.000Z' },
        { kpiEventName: 'A', eventTimestamp: '2026-11-25T10:15:02.000Z' },
      ]),
      call([{ kpiEventName: 'B', eventTimestamp: '2026-11-25T10:15:03.000Z' }]),
      call([{ kpiEventName: 'A', eventTimestamp: '2026-11-25T10:15:04.000Z' }]),
    ],
  },
  {
    title: 'names a KPI event after its span event when cif.kpi.name is empty',
    spans: [{ attributes: IDENTITY, events: [event('CallAccepted', T1, { 'cif.kpi.name': '' })] }],
    calls: [call([{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }])],
  },
  {
    // As on a log record: a `cif.kpi.name` that is there marks a KPI event, and one with no text is counted, not lost unsaid.
    title: 'counts as missing its name the KPI event of a span whose cif.kpi.name is empty',
    spans: [{ attributes: { ...IDENTITY, 'cif.kpi.name': '' }, events: [event('A', T1)] }, { attributes: { ...IDENTITY, 'cif.kpi.name': [] } }],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
    stats: (s) => expect(s.dropped.missing_kpi_name).to.equal(2),
  },
  {
    title: 'does not make a span a KPI event when its cif.kpi.name is undefined',
    spans: [{ attributes: { ...IDENTITY, 'cif.kpi.name': undefined }, events: [event('A', T1)] }],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
    stats: (s) => expect(s.dropped.missing_kpi_name).to.equal(0),
  },
  {
    title: 'falls back to the default filter, and counts it, when eventFilter returns something other than a boolean',
    spans: [{ attributes: IDENTITY, events: [event('A', T1, { 'cif.kpi.reason': 'x' }), event('exception', T2)] }],
    options: { eventFilter: ((e: { attributes?: Record<string, unknown> }) => e.attributes?.['cif.kpi.reason']) as never },
    calls: [call([{ kpiEventName: 'A', kpiEventReason: 'x', eventTimestamp: T1 }])],
    stats: (s) => expect(s.callbackErrors).to.equal(2),
  },
  {
    title: 'drops and counts a KPI event with no name at all',
    spans: [{ attributes: IDENTITY, events: [event('', T1), event('B', T2)] }],
    calls: [call([{ kpiEventName: 'B', eventTimestamp: T2 }])],
    stats: (s) => expect(s.dropped.missing_kpi_name).to.equal(1),
  },
  {
    title: 'drops and counts a KPI event whose time is past what a Date can hold',
    spans: [{ attributes: IDENTITY, events: [{ name: 'A', time: [1e13, 0] }, event('B', T2)] }],
    calls: [call([{ kpiEventName: 'B', eventTimestamp: T2 }])],
    stats: (s) => expect(s.dropped.invalid_timestamp).to.equal(1),
  },
  {
    title: 'drops and counts a KPI event whose time is no pair of numbers: an ISO string, or [null, null]',
    spans: [
      {
        attributes: IDENTITY,
        events: [
          { name: 'A', time: T1 as never },
          { name: 'B', time: [null, null] as never },
          { name: 'C', time: [1.8e9, null] as never },
          { name: 'D', time: [null, 5e8] as never },
          event('E', T2),
        ],
      },
    ],
    calls: [call([{ kpiEventName: 'E', eventTimestamp: T2 }])],
    stats: (s) => expect(s.dropped.invalid_timestamp).to.equal(4),
  },
  {
    title: 'leaves out and counts a value JSON cannot write, and still sends the KPI event',
    spans: [{ attributes: IDENTITY, events: [event('A', T1, { 'cif.kpi.additional_data': CYCLIC as never })] }],
    calls: [call([{ kpiEventName: 'A', eventTimestamp: T1 }])],
    stats: (s) => expect(s.droppedFields.unserializable_value).to.equal(1),
  },
];

describe('spansToCalls', () => {
  cases.forEach((c) =>
    it(c.title, () => {
      const { calls, stats } = map(c.spans, c.options);
      expect(calls).to.deep.equal(c.calls);
      c.stats?.(stats);
    }),
  );

  /** The scopes of the four web instrumentations and the events each adds besides the network timing ones. */
  const instrumentations: Array<[scope: string, events: string[]]> = [
    ['@opentelemetry/instrumentation-xml-http-request', ['open', 'send', 'loaded', 'error', 'abort', 'timeout']],
    ['@opentelemetry/instrumentation-fetch', []],
    ['@opentelemetry/instrumentation-document-load', ['firstPaint', 'firstContentfulPaint']],
    ['@opentelemetry/instrumentation-user-interaction', []],
  ];
  const filterCases: Array<[what: string, name: string, attributes: Record<string, string> | undefined, scope: string | undefined, kept: boolean]> = [
    ...instrumentations.flatMap(([scope, names]) =>
      [...names, 'fetchStart', 'CallAccepted'].map((name): [string, string, undefined, string, boolean] => [`'${name}' on a span of ${scope}`, name, undefined, scope, false]),
    ),
    ...instrumentations.map(([scope]): [string, string, Record<string, string>, string, boolean] => [`an event with a cif. attribute on a span of ${scope}`, 'open', { 'cif.kpi.name': 'CallAccepted' }, scope, true]),
    ["an event named 'loaded' on the widget's own span", 'loaded', undefined, 'softphone', true],
    ["the widget's own event on its own span", 'CallAccepted', undefined, 'softphone', true],
    ["an event with other attributes on a span of @opentelemetry/instrumentation-fetch", 'CallAccepted', { 'http.url': '/x' }, '@opentelemetry/instrumentation-fetch', false],
    ['an event on a span of a scope that only resembles an instrumentation', 'open', undefined, 'opentelemetry/instrumentation-xml-http-request', true],
    ['an event on a span with no instrumentation scope (older SDKs, foreign spans)', 'open', undefined, undefined, true],
    ["the exception event on the widget's own span", 'exception', undefined, 'softphone', false],
    ['an exception event with a cif. attribute', 'exception', { 'cif.kpi.reason': 'crash' }, 'softphone', true],
  ];
  filterCases.forEach(([what, name, attributes, scope, kept]) =>
    it(`by default ${kept ? 'keeps' : 'leaves out'} ${what}`, () => {
      const span = makeSpan({ attributes: IDENTITY, ...(scope === undefined ? {} : { scope }) });
      const spanWithoutScope = scope === undefined ? { ...span, instrumentationScope: undefined } : span;
      expect(defaultEventFilter(event(name, T1, attributes), spanWithoutScope)).to.equal(kept);
    }),
  );

  it("maps a bag whose prototype cannot be read: its own keys alone are read, never its prototype's", () => {
    const own = { ...IDENTITY, 'cif.kpi.reason': 'inbound' };
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const bags = [
      Object.create(revoked, Object.getOwnPropertyDescriptors(own)) as Record<string, string>,
      new Proxy(own, { getPrototypeOf: () => { throw new Error('no prototype'); } }),
    ];
    for (const attributes of bags) {
      const { calls, stats } = map([{ attributes, events: [event('A', T1)] }]);
      expect([calls, stats.dropped.invalid_span]).to.deep.equal([[call([{ kpiEventName: 'A', eventTimestamp: T1, kpiEventReason: 'inbound' }])], 0]);
    }
  });

  it('maps every custom column of 200 keys, twice over, and counts a key that names none each time, remembering at most 64 keys', () => {
    const attributes: Record<string, string> = { ...IDENTITY, 'cif.kpi.custom.NotAColumn': 'x' };
    for (let i = 0; i < 200; i++) attributes[`cif.kpi.custom.new_k${i}`] = `v${i}`;
    const set = Map.prototype.set;
    let remembered = 0;
    Map.prototype.set = function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
      if (String(key).startsWith('cif.')) remembered++;
      return set.call(this, key, value);
    };
    let mapped: ReturnType<typeof map>;
    try {
      mapped = map([{ attributes, events: [event('A', T1)] }, { attributes, events: [event('B', T2)] }]);
    } finally {
      Map.prototype.set = set;
    }
    const customData = Array.from({ length: 200 }, (_, i) => ({ attribute: `new_k${i}`, value: `v${i}` }));
    expect(mapped.calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1, customData }]), call([{ kpiEventName: 'B', eventTimestamp: T2, customData }])]);
    expect(mapped.stats.droppedFields.invalid_custom_column).to.equal(2);
    expect(remembered).to.be.at.most(64);
  });

  [500, 1000].forEach((columns) =>
    it(`maps a span with ${columns} custom columns in linear time: one keyed write per column, no scan of those set before`, () => {
      const attributes: Record<string, string> = { ...IDENTITY };
      for (let i = 0; i < columns; i++) attributes[`cif.kpi.custom.new_c${i}`] = `v${i}`;
      const set = Map.prototype.set;
      let writes = 0;
      Map.prototype.set = function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
        // Writes by column; those by attribute key remember which column a key names.
        if (!String(key).startsWith('cif.')) writes++;
        return set.call(this, key, value);
      };
      let calls: CifCall[];
      try {
        calls = map([{ attributes, events: [event('A', T1)] }]).calls;
      } finally {
        Map.prototype.set = set;
      }
      const customData = Array.from({ length: columns }, (_, i) => ({ attribute: `new_c${i}`, value: `v${i}` }));
      expect([writes, calls]).to.deep.equal([columns, [call([{ kpiEventName: 'A', eventTimestamp: T1, customData }])]]);
    }),
  );

  it('knows the same network timing event names as @opentelemetry/sdk-trace-web, and no other', () => {
    const names: string[] = Object.values(PerformanceTimingNames);
    // Every head of a name (cut at a capital) joined to every tail of a name: the near misses.
    const cuts = names.flatMap((name) => [...name.matchAll(/[A-Z]/g)].map((m) => [name.slice(0, m.index), name.slice(m.index)]));
    const candidates = new Set([...names, ...cuts.flatMap(([head]) => cuts.map(([, tail]) => head! + tail!)), 'x', '']);
    for (const name of names) candidates.add(`${name}x`).add(`x${name}`).add(name.toLowerCase());
    const matched = [...candidates].filter((name) => PERFORMANCE_TIMING_NAME.test(name)).sort();
    expect(matched).to.deep.equal([...names].sort());
    expect(matched).to.have.length(23);
  });

  it('gives each call of a span with an all-zero trace id one fresh v4 correlation id', () => {
    const { calls } = map([{ attributes: IDENTITY, traceId: '0'.repeat(32), events: [event('A', T1), event('B', T2)] }]);
    expect(calls).to.have.length(2);
    expect(calls[0]!.correlationId).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(calls[1]!.correlationId).to.equal(calls[0]!.correlationId);
  });

  it('skips and counts a malformed span without losing the rest of the batch', () => {
    const stats = createSpanMappingStats();
    const broken = { ...makeSpan({ attributes: IDENTITY }), events: null } as unknown as ReturnType<typeof makeSpan>;
    const good = makeSpan({ attributes: IDENTITY, events: [event('A', T1)] });
    const calls = spansToCalls([broken, good], normalizeOptions(), stats);
    expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1 }])]);
    expect(stats.dropped.invalid_span).to.equal(1);
  });

  it('sends none of the KPI events of a span that breaks half way, and counts the span', () => {
    const stats = createSpanMappingStats();
    const unreadable = { name: 'B', time: at(T2), get attributes(): never { throw new Error('gone'); } };
    const broken = makeSpan({ attributes: IDENTITY, events: [event('A', T1), unreadable] });
    const good = makeSpan({ attributes: IDENTITY, events: [event('C', T2)] });
    const calls = spansToCalls([broken, good], normalizeOptions(), stats);
    expect(calls).to.deep.equal([call([{ kpiEventName: 'C', eventTimestamp: T2 }])]);
    expect(stats.dropped.invalid_span).to.equal(1);
  });

  it('maps a span with 200 000 KPI events, more than fit in the arguments of one function call', function () {
    // CPU-bound: about 2 s idle, several times that on a busy core.
    this.timeout(60_000);
    const stats = createSpanMappingStats();
    const events = Array.from({ length: 200_000 }, () => ({ name: 'K', time: at(T1) }));
    const calls = spansToCalls([makeSpan({ attributes: IDENTITY, events })], normalizeOptions({ maxEventsPerCall: 1000 }), stats);
    expect(calls).to.have.length(200);
    expect(calls.reduce((sum, c) => sum + c.data.events.length, 0)).to.equal(200_000);
    expect(stats.dropped.invalid_span).to.equal(0);
  });

  it('never groups KPI events whose ids differ, whatever characters the ids contain', () => {
    const spans = [
      { attributes: { 'cif.conversation.id': 'a\u0000b', 'cif.provider_session.id': 'c' }, events: [event('A', T1)] },
      { attributes: { 'cif.conversation.id': 'a', 'cif.provider_session.id': 'b\u0000c' }, events: [event('A', T2)] },
      { attributes: { 'cif.conversation.id': 'a","b', 'cif.provider_session.id': 'c' }, events: [event('A', T2)] },
      { attributes: { 'cif.conversation.id': 'a', 'cif.provider_session.id': 'b","c' }, events: [event('A', T2)] },
    ];
    const { calls } = map(spans, { maxEventsPerCall: 10 });
    expect(calls.map((c) => [c.data.conversationId, c.data.providerSessionId])).to.deep.equal([
      ['a\u0000b', 'c'],
      ['a', 'b\u0000c'],
      ['a","b', 'c'],
      ['a', 'b","c'],
    ]);
  });

  it('counts the events and attributes the SDK dropped from CIF spans, and nothing for other spans', () => {
    const stats = createSpanMappingStats();
    const cif = { ...makeSpan({ attributes: IDENTITY, events: [{ ...event('A', T1), droppedAttributesCount: 2 }] }), droppedEventsCount: 5, droppedAttributesCount: 1 };
    const other = { ...makeSpan({ events: [event('B', T1)] }), droppedEventsCount: 7, droppedAttributesCount: 7 };
    const odd = { ...makeSpan({ attributes: IDENTITY }), droppedEventsCount: Number.NaN, droppedAttributesCount: '3' as never };
    const calls = spansToCalls([cif, other, odd], normalizeOptions(), stats);
    expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1 }])]);
    expect(stats.dropped.sdk_event_limit).to.equal(5);
    expect(stats.droppedFields.sdk_attribute_limit).to.equal(3);
  });

  it('counts no SDK drops from a negative, fractional or unsafe count', () => {
    const stats = createSpanMappingStats();
    const negative = { ...makeSpan({ attributes: IDENTITY, events: [event('A', T1)] }), droppedEventsCount: -1, droppedAttributesCount: -2 };
    const fractional = { ...makeSpan({ attributes: IDENTITY, events: [event('B', T1)] }), droppedEventsCount: 1.5, droppedAttributesCount: 2 ** 53 };
    spansToCalls([negative, fractional], normalizeOptions(), stats);
    expect([stats.dropped.sdk_event_limit, stats.droppedFields.sdk_attribute_limit]).to.deep.equal([0, 0]);
  });

  it('treats an empty id in the session as missing', () => {
    const spans = [{ attributes: { 'cif.provider_session.id': 'prov-1' }, events: [event('A', T1)] }];
    const { calls, stats } = map(spans, { session: { conversationId: '' } });
    expect(calls).to.deep.equal([]);
    expect(stats.dropped.missing_identity).to.equal(1);
  });

  it('drops an attribute value that cannot be read, not the span', () => {
    const revoked = Proxy.revocable([1], {});
    revoked.revoke();
    const attributes = { ...IDENTITY, 'cif.kpi.additional_data': revoked.proxy as never };
    Object.defineProperty(attributes, 'cif.kpi.reason', { get: () => { throw new Error('trap'); }, enumerable: true });
    const eventAttributes = { 'cif.kpi.custom.msdyn_customattribute1': { toJSON: () => { throw new Error('trap'); } } as never };
    const { calls, stats } = map([{ attributes, events: [event('A', T1, eventAttributes)] }]);
    expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1 }])]);
    expect(stats.droppedFields.unserializable_value).to.equal(3);
    expect(stats.dropped.invalid_span).to.equal(0);
  });

  const absentBags: Array<[what: string, span: () => object]> = [
    ['a resource without attributes', () => ({ ...makeSpan({ attributes: IDENTITY, events: [event('A', T1)] }), resource: {} })],
    ['a resource whose attributes are null', () => ({ ...makeSpan({ attributes: IDENTITY, events: [event('A', T1)] }), resource: { attributes: null } })],
    ['no attributes of its own, its ids in the session option', () => ({ ...makeSpan({ events: [event('A', T1, { 'cif.kpi.reason': 'r' })] }), attributes: undefined })],
  ];
  absentBags.forEach(([what, span]) =>
    it(`reads a foreign span with ${what} as having no such values, and counts none as unserializable`, () => {
      const stats = createSpanMappingStats();
      const options = normalizeOptions({ session: { conversationId: 'conv-1', providerSessionId: 'prov-1' }, customAttributes: { 'call.queue': 'msdyn_customattribute1' } });
      const calls = spansToCalls([span() as never], options, stats);
      const reason = what.startsWith('no attributes') ? { kpiEventReason: 'r' } : {};
      expect([calls, stats.droppedFields, stats.dropped.invalid_span]).to.deep.equal([
        [call([{ kpiEventName: 'A', ...reason, eventTimestamp: T1 }])],
        { invalid_custom_column: 0, unserializable_value: 0, sdk_attribute_limit: 0 },
        0,
      ]);
    }),
  );

  it('counts each KPI event under one reason when a later event of the span cannot be read', () => {
    const stats = createSpanMappingStats();
    const time = Object.defineProperty([0, 0], 0, { get: () => { throw new Error('trap'); } });
    const span = makeSpan({ attributes: IDENTITY, events: [event('', T1), { name: 'B', time } as never, event('C', T2)] });
    const calls = spansToCalls([span], normalizeOptions(), stats);
    expect(calls).to.deep.equal([call([{ kpiEventName: 'C', eventTimestamp: T2 }])]);
    expect(stats.dropped).to.include({ missing_kpi_name: 1, invalid_timestamp: 1, invalid_span: 0 });
  });

  // A name that is not a string is read as an attribute value is: none for a Symbol or an empty object (also one whose
  // every value JSON leaves out, such as a function), else its JSON.
  const oddNames: Array<[what: string, name: unknown, sent: string[], missingName: number]> = [
    ['a Symbol', Symbol('CallOffered'), ['CallAccepted'], 1],
    ['an object with no prototype', Object.create(null), ['CallAccepted'], 1],
    ['an object whose toString throws', { toString: () => { throw new Error('trap'); } }, ['CallAccepted'], 1],
    ['an object with a value', { step: 1, toString: () => { throw new Error('trap'); } }, ['{"step":1}', 'CallAccepted'], 0],
  ];
  oddNames.forEach(([what, name, sent, missingName]) =>
    it(`sends the other KPI events of a span whose event is named by ${what}`, async () => {
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      span.addEvent(name as never, at(T1));
      span.addEvent('CallAccepted', at(T2));
      span.end();
      const stats = createSpanMappingStats();
      const calls = spansToCalls(memory.getFinishedSpans(), normalizeOptions(), stats);
      await provider.shutdown();
      expect(calls.map((c) => c.eventName)).to.deep.equal(sent);
      expect(stats.dropped).to.include({ missing_kpi_name: missingName, invalid_span: 0 });
    }),
  );

  it('counts only the callbacks the user passed in callbackErrors, and a span the defaults cannot read as invalid', () => {
    const stats = createSpanMappingStats();
    const unreadable = { ...makeSpan({ attributes: IDENTITY, events: [event('A', T1)] }), spanContext: () => { throw new Error('trap'); } };
    const nameless = makeSpan({ attributes: IDENTITY, events: [Object.defineProperty({ time: at(T1) }, 'name', { get: () => { throw new Error('trap'); } }) as never] });
    expect(spansToCalls([unreadable, nameless], normalizeOptions(), stats)).to.deep.equal([]);
    expect(stats).to.include({ callbackErrors: 0, spansSeen: 2 });
    expect(stats.dropped.invalid_span).to.equal(2);
  });

  it('tells the mapping which ids a span lacks, and on which span', () => {
    const warnings: Array<[string, string]> = [];
    spansToCalls(
      [makeSpan({ name: 'wrap-up', attributes: { 'cif.conversation.id': 'c' }, events: [event('A', T1)] })],
      normalizeOptions(),
      createSpanMappingStats(),
      (counter, message) => warnings.push([counter, message]),
    );
    expect(warnings).to.deep.equal([['dropped.missing_identity', "KPI events dropped: span 'wrap-up' has no cif.provider_session.id."]]);
  });

  const kpiFields: Array<[attribute: string, field: 'kpiEventReason' | 'additionalData' | 'notificationResponseAction' | 'externalCorrelationId']> = [
    ['cif.kpi.reason', 'kpiEventReason'],
    ['cif.kpi.additional_data', 'additionalData'],
    ['cif.kpi.notification_response_action', 'notificationResponseAction'],
    ['cif.kpi.external_correlation_id', 'externalCorrelationId'],
  ];
  const precedence: Array<[where: string, span: string | undefined, event: string | undefined, sent: string]> = [
    ['only the span sets', 'from span', undefined, 'from span'],
    ['only the event sets', undefined, 'from event', 'from event'],
    ['both the span and the event set', 'from span', 'from event', 'from event'],
  ];
  kpiFields.forEach(([attribute, field]) =>
    precedence.forEach(([where, spanValue, eventValue, sent]) =>
      it(`sends the ${where} value of ${attribute} as ${field}`, () => {
        const spanAttributes = spanValue === undefined ? IDENTITY : { ...IDENTITY, [attribute]: spanValue };
        const eventAttributes = eventValue === undefined ? undefined : { [attribute]: eventValue };
        const { calls } = map([{ attributes: spanAttributes, events: [event('A', T1, eventAttributes)] }]);
        expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1, [field]: sent }])]);
      }),
    ),
  );

  const customPrecedence: Array<{ title: string; span: Record<string, string>; event: Record<string, string>; options?: CifSpanExporterOptions; sent: Array<[string, string]> }> = [
    {
      title: 'keeps the span custom columns when the event has none',
      span: { 'cif.kpi.custom.msdyn_customattribute1': 'span 1' },
      event: {},
      sent: [['msdyn_customattribute1', 'span 1']],
    },
    {
      title: 'sends the event custom columns when the span has none',
      span: {},
      event: { 'cif.kpi.custom.msdyn_customattribute1': 'event 1' },
      sent: [['msdyn_customattribute1', 'event 1']],
    },
    {
      title: 'adds the event custom columns after the span ones, the event winning on a shared column',
      span: { 'cif.kpi.custom.msdyn_customattribute1': 'span 1', 'cif.kpi.custom.msdyn_customattribute2': 'span 2' },
      event: { 'cif.kpi.custom.msdyn_customattribute2': 'event 2', 'cif.kpi.custom.msdyn_customattribute3': 'event 3' },
      sent: [
        ['msdyn_customattribute1', 'span 1'],
        ['msdyn_customattribute2', 'event 2'],
        ['msdyn_customattribute3', 'event 3'],
      ],
    },
    {
      title: 'lets an explicit cif.kpi.custom. column on the event win over a mapped attribute on the same event',
      span: {},
      event: { 'call.queue': 'mapped', 'cif.kpi.custom.msdyn_customattribute1': 'explicit' },
      options: { customAttributes: { 'call.queue': 'msdyn_customattribute1' } },
      sent: [['msdyn_customattribute1', 'explicit']],
    },
    {
      title: 'lets an explicit cif.kpi.custom. column on the span win over a mapped attribute on the same span',
      span: { 'cif.kpi.custom.msdyn_customattribute1': 'explicit', 'call.queue': 'mapped' },
      event: {},
      options: { customAttributes: { 'call.queue': 'msdyn_customattribute1' } },
      sent: [['msdyn_customattribute1', 'explicit']],
    },
    {
      title: 'lets a mapped attribute on the event win over an explicit cif.kpi.custom. column on the span',
      span: { 'cif.kpi.custom.msdyn_customattribute1': 'explicit on span' },
      event: { 'call.queue': 'mapped on event' },
      options: { customAttributes: { 'call.queue': 'msdyn_customattribute1' } },
      sent: [['msdyn_customattribute1', 'mapped on event']],
    },
  ];
  customPrecedence.forEach((c) =>
    it(c.title, () => {
      const { calls } = map([{ attributes: { ...IDENTITY, ...c.span }, events: [event('A', T1, c.event)] }], c.options);
      const customData = c.sent.map(([attribute, value]) => ({ attribute, value }));
      expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1, customData }])]);
    }),
  );

  const identities: Array<[differs: string, attributes: Record<string, string>, data: Omit<CifCall['data'], 'events'>]> = [
    ['conversation id', { 'cif.conversation.id': 'conv-2', 'cif.provider_session.id': 'prov-1' }, { conversationId: 'conv-2', providerSessionId: 'prov-1' }],
    ['provider session id', { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-2' }, { conversationId: 'conv-1', providerSessionId: 'prov-2' }],
    ['client session id', { ...IDENTITY, 'cif.client_session.id': 'client-2' }, { conversationId: 'conv-1', providerSessionId: 'prov-1', clientSessionId: 'client-2' }],
    ['participant id', { ...IDENTITY, 'cif.participant.id': 'agent-2' }, { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-2' }],
    ['ids that read the same run together', { 'cif.conversation.id': 'conv-1p', 'cif.provider_session.id': 'rov-1' }, { conversationId: 'conv-1p', providerSessionId: 'rov-1' }],
  ];
  identities.forEach(([differs, attributes, data]) =>
    it(`keeps KPI events apart in their own calls when only their ${differs} differs, with maxEventsPerCall above 1`, () => {
      const { calls } = map(
        [
          { attributes: IDENTITY, events: [event('Hold', '2026-11-25T10:15:01.000Z'), event('Hold', '2026-11-25T10:15:03.000Z')] },
          { attributes, events: [event('Hold', '2026-11-25T10:15:02.000Z'), event('Hold', '2026-11-25T10:15:04.000Z')] },
        ],
        { maxEventsPerCall: 10 },
      );
      expect(calls).to.deep.equal([
        call([
          { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:01.000Z' },
          { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:03.000Z' },
        ]),
        {
          data: {
            ...data,
            events: [
              { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:02.000Z' },
              { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:04.000Z' },
            ],
          },
          eventName: 'Hold',
          correlationId: TRACE_GUID,
        },
      ]);
    }),
  );

  it('keeps KPI events apart in their own calls when only their eventName differs, with maxEventsPerCall above 1', () => {
    const { calls } = map(
      [
        { name: 'inbound', attributes: IDENTITY, events: [event('Hold', '2026-11-25T10:15:01.000Z'), event('Hold', '2026-11-25T10:15:03.000Z')] },
        { name: 'outbound', attributes: IDENTITY, events: [event('Hold', '2026-11-25T10:15:02.000Z')] },
      ],
      { maxEventsPerCall: 10, eventName: (kpi, span) => `${span.name} ${kpi.kpiEventName}` },
    );
    expect(calls).to.deep.equal([
      call(
        [
          { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:01.000Z' },
          { kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:03.000Z' },
        ],
        'inbound Hold',
      ),
      call([{ kpiEventName: 'Hold', eventTimestamp: '2026-11-25T10:15:02.000Z' }], 'outbound Hold'),
    ]);
  });

  const missingIdentity: Array<[what: string, span: SpanOverrides, options?: CifSpanExporterOptions]> = [
    ['no conversation id', { attributes: { 'cif.provider_session.id': 'prov-1' } }],
    ['no provider session id', { attributes: { 'cif.conversation.id': 'conv-1' } }],
    ['neither id, only a client session and a participant', { attributes: { 'cif.client_session.id': 'c', 'cif.participant.id': 'p' } }],
    ['an empty conversation id everywhere', { attributes: { 'cif.conversation.id': '', 'cif.provider_session.id': 'prov-1' }, resource: { 'cif.conversation.id': '' } }, { session: { conversationId: '' } }],
    ['a conversation id only in the session option, and no provider session id', { attributes: { 'cif.kpi.reason': 'x' } }, { session: { conversationId: 'conv-1' } }],
  ];
  missingIdentity.forEach(([what, span, options]) =>
    it(`drops and counts as missing_identity the KPI events of a CIF span with ${what}`, () => {
      const { calls, stats } = map([{ ...span, events: [event('A', T1), event('B', T2)] }], options);
      expect(calls).to.deep.equal([]);
      expect(stats.dropped).to.deep.include({ missing_identity: 2, identity_too_long: 0 });
    }),
  );

  const identitySources: Array<[what: string, span: SpanOverrides, options?: CifSpanExporterOptions]> = [
    ['an empty span attribute falls back to the resource', { attributes: { 'cif.conversation.id': '', 'cif.provider_session.id': 'prov-1', 'cif.kpi.reason': 'x' }, resource: { 'cif.conversation.id': 'conv-1' } }],
    ['an empty resource attribute falls back to the session option', { attributes: { 'cif.provider_session.id': 'prov-1', 'cif.kpi.reason': 'x' }, resource: { 'cif.conversation.id': '' } }, { session: { conversationId: 'conv-1' } }],
  ];
  identitySources.forEach(([what, span, options]) =>
    it(`resolves identity where ${what}`, () => {
      const { calls } = map([{ ...span, events: [event('A', T1)] }], options);
      expect(calls).to.deep.equal([call([{ kpiEventName: 'A', kpiEventReason: 'x', eventTimestamp: T1 }])]);
    }),
  );

  it('sends an id of exactly 100 characters and drops one of 101 as identity_too_long', () => {
    const { calls, stats } = map([
      { attributes: { ...IDENTITY, 'cif.client_session.id': 'c'.repeat(100) }, events: [event('A', T1)] },
      { attributes: { ...IDENTITY, 'cif.conversation.id': 'c'.repeat(101) }, events: [event('B', T2)] },
    ]);
    expect(calls).to.deep.equal([
      {
        data: { conversationId: 'conv-1', providerSessionId: 'prov-1', clientSessionId: 'c'.repeat(100), events: [{ kpiEventName: 'A', eventTimestamp: T1 }] },
        eventName: 'A',
        correlationId: TRACE_GUID,
      },
    ]);
    expect(stats.dropped).to.deep.include({ identity_too_long: 1, missing_identity: 0 });
  });

  const callbackFailures: Array<[option: string, failure: string, options: CifSpanExporterOptions, errors: number]> = [
    ['eventFilter', 'throws', { eventFilter: () => { throw new Error('filter bug'); } }, 2],
    ['eventFilter', 'returns undefined', { eventFilter: (() => undefined) as never }, 2],
    ['eventFilter', 'returns a truthy string', { eventFilter: (() => 'yes') as never }, 2],
    ['eventFilter', 'returns 1', { eventFilter: (() => 1) as never }, 2],
    ['eventName', 'throws', { eventName: () => { throw new Error('name bug'); } }, 1],
    ['eventName', "returns ''", { eventName: () => '' }, 1],
    ['eventName', 'returns undefined', { eventName: (() => undefined) as never }, 1],
    ['eventName', 'returns a number', { eventName: (() => 42) as never }, 1],
    ['correlationId', 'throws', { correlationId: () => { throw new Error('id bug'); } }, 1],
    ['correlationId', "returns ''", { correlationId: () => '' }, 1],
    ['correlationId', 'returns undefined', { correlationId: (() => undefined) as never }, 1],
    ['correlationId', 'returns a number', { correlationId: (() => 7) as never }, 1],
  ];
  callbackFailures.forEach(([option, failure, options, errors]) =>
    it(`uses the default ${option}, and counts it in callbackErrors, when the callback ${failure}`, () => {
      const { calls, stats } = map([{ attributes: IDENTITY, events: [event('A', T1), event('exception', T2)] }], options);
      expect(calls).to.deep.equal([call([{ kpiEventName: 'A', eventTimestamp: T1 }])]);
      expect(stats.callbackErrors).to.equal(errors);
    }),
  );

  it('honours an eventFilter that returns false, without counting an error', () => {
    const { calls, stats } = map([{ attributes: IDENTITY, events: [event('A', T1), event('B', T2)] }], {
      eventFilter: (e) => e.name === 'B',
    });
    expect(calls).to.deep.equal([call([{ kpiEventName: 'B', eventTimestamp: T2 }])]);
    expect(stats.callbackErrors).to.equal(0);
  });

  const changingFilters: Array<[what: string, change: (event: CifTimedEvent, events: CifTimedEvent[]) => void]> = [
    ['removes the event it is asked about from the span', (event, events) => events.splice(events.indexOf(event), 1)],
    ['removes every event from the span', (_event, events) => (events.length = 0)],
    // At most 10, so that a mapping that asks about the events added ends all the same.
    ['adds an event to the span each time it is asked', (_event, events) => events.length < 10 && events.push(event(`Added${events.length}`, T2))],
  ];
  changingFilters.forEach(([what, change]) =>
    it(`asks eventFilter once about each event the span had when exported, and sends those, when the filter ${what}`, () => {
      const asked: string[] = [];
      const { calls, stats } = map([{ attributes: IDENTITY, events: [event('A', T1), event('B', T1), event('C', T1)] }], {
        eventFilter: (e, span) => {
          asked.push(e.name);
          change(e, span.events as CifTimedEvent[]);
          return true;
        },
      });
      expect([asked, calls.map((c) => c.eventName), stats.callbackErrors]).to.deep.equal([['A', 'B', 'C'], ['A', 'B', 'C'], 0]);
    }),
  );

  it('sends a value exactly at its column size whole, without counting a cut', () => {
    const { calls, stats } = map([
      { attributes: IDENTITY, events: [event('n'.repeat(100), T1, { 'cif.kpi.reason': 'r'.repeat(100), 'cif.kpi.additional_data': 'd'.repeat(2000) })] },
    ]);
    expect(calls).to.deep.equal([
      call([{ kpiEventName: 'n'.repeat(100), kpiEventReason: 'r'.repeat(100), eventTimestamp: T1, additionalData: 'd'.repeat(2000) }]),
    ]);
    expect(Object.values(stats.truncated)).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });

  const dataverseRange: Array<[what: string, millis: number, sent: string | undefined]> = [
    ['the first millisecond of 1753, the start of the Dataverse DateTime range', Date.UTC(1753, 0, 1), '1753-01-01T00:00:00.000Z'],
    ['the last millisecond of 9999, the end of the Dataverse DateTime range', Date.UTC(9999, 11, 31, 23, 59, 59, 999), '9999-12-31T23:59:59.999Z'],
    ['the last millisecond of 1752', Date.UTC(1753, 0, 1) - 1, undefined],
    ['the first millisecond of 10000', Date.UTC(10000, 0, 1), undefined],
    ['a time in microseconds taken for milliseconds (+058889-...)', Date.parse(T1) * 1000, undefined],
    ['a negative year', Date.UTC(-1, 0, 1), undefined],
    ['the latest time a Date can hold', 8.64e15, undefined],
  ];
  dataverseRange.forEach(([what, millis, sent]) =>
    it(`${sent ? 'sends' : 'drops as invalid_timestamp'} a KPI event stamped at ${what}`, () => {
      const time: [number, number] = [Math.floor(millis / 1000), (millis % 1000 + 1000) % 1000 * 1e6];
      const { calls, stats } = map([{ attributes: IDENTITY, events: [{ name: 'A', time }] }]);
      expect([calls, stats.dropped.invalid_timestamp]).to.deep.equal(sent ? [[call([{ kpiEventName: 'A', eventTimestamp: sent }])], 0] : [[], 1]);
    }),
  );

  it('calls no option callback for a CIF span that has no KPI event', () => {
    const called: string[] = [];
    const { calls, stats } = map([{ attributes: IDENTITY }], {
      eventName: () => (called.push('eventName'), 'x'),
      correlationId: () => (called.push('correlationId'), 'x'),
    });
    expect([calls, called, stats.callbackErrors]).to.deep.equal([[], [], 0]);
  });
});
