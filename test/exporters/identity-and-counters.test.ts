/**
 * What the README's attribute table and docs/log-based-events.md say of ids and counters, held
 * through the real trace and logs SDKs.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent, recordedKpiEventsOnly, type CifSession, type CifSpanExporterOptions } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:20:00.000Z';
const BASE_ATTRIBUTES = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };
/** The ids every case gives in the session option, so that each KPI event can be sent. */
const BASE: CifSession = { conversationId: 'conv-option', providerSessionId: 'prov-option' };

const IDS: Array<[field: keyof CifSession, key: string]> = [
  ['conversationId', 'cif.conversation.id'],
  ['providerSessionId', 'cif.provider_session.id'],
  ['clientSessionId', 'cif.client_session.id'],
  ['participantId', 'cif.participant.id'],
];
type Source = 'the source' | 'the resource' | 'the session option';
const SOURCES: Source[] = ['the source', 'the resource', 'the session option'];

/** The attributes of the span or record, of the resource, and the session option, for an id given by `source` and every source after it. */
function offered(field: keyof CifSession, key: string, source: Source) {
  const from = SOURCES.indexOf(source);
  return {
    own: from <= 0 ? { [key]: 'from-source' } : {},
    resource: from <= 1 ? { [key]: 'from-resource' } : {},
    session: { ...BASE, [field]: 'from-option' },
    expected: { ...BASE, [field]: ['from-source', 'from-resource', 'from-option'][from] },
  };
}

/** The payloads a span exporter sends for one KPI event recorded on a span with `own` attributes. */
async function sentFromSpan(own: Record<string, string>, resource: Record<string, string>, session: CifSession) {
  const client = new RecordingCifClient();
  const provider = shutDownAfterTest(
    new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter({ client, outbox: false, session }))] }),
  );
  const span = provider.getTracer('softphone').startSpan('call', { attributes: own });
  recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
  span.end();
  await provider.forceFlush();
  return client.payloads();
}

/** The payloads a log record exporter sends for one KPI event emitted as a record with `own` attributes. */
async function sentFromLogRecord(own: Record<string, string>, resource: Record<string, string>, session: CifSession) {
  const client = new RecordingCifClient();
  const exporter = new CifLogRecordExporter({ client, outbox: false, session });
  const provider = shutDownAfterTest(new LoggerProvider({ resource: resourceFromAttributes(resource), processors: [new SimpleLogRecordProcessor({ exporter })] }));
  provider.getLogger('softphone').emit({ eventName: 'CallAccepted', timestamp: new Date(T1), attributes: { ...own, 'cif.kpi.name': 'CallAccepted' } });
  await provider.forceFlush();
  await exporter.forceFlush();
  return client.payloads();
}

describe('where each of the four ids comes from, as the README attribute table says', () => {
  const exporters: Array<[what: string, send: typeof sentFromSpan]> = [
    ['a span', sentFromSpan],
    ['a log record', sentFromLogRecord],
  ];
  for (const [what, send] of exporters) {
    for (const [field, key] of IDS) {
      for (const source of SOURCES) {
        it(`takes ${field} of ${what} from ${source === 'the source' ? `the ${what.slice(2)}'s own ${key}` : source}${source === 'the session option' ? '' : ' over every source after it'}`, async () => {
          const { own, resource, session, expected } = offered(field, key, source);
          expect(await send(own, resource, session)).to.deep.equal([{ ...expected, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }]);
        });
      }
    }
  }
});

describe('the KPI event of a span itself, as docs/mapping.md says', () => {
  const filters: Array<[what: string, eventFilter: CifSpanExporterOptions['eventFilter'], events: string[]]> = [
    ['an eventFilter that keeps no event', () => false, ['WrapUp']],
    ['recordedKpiEventsOnly', recordedKpiEventsOnly, ['CallAccepted', 'WrapUp']],
  ];
  filters.forEach(([what, eventFilter, events]) =>
    it(`sends the KPI event of a span with cif.kpi.name, dated at its end, under ${what}, which picks only among its events`, async () => {
      const client = new RecordingCifClient();
      const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter({ client, outbox: false, eventFilter }))] }));
      const span = provider.getTracer('softphone').startSpan('wrap-up', { attributes: { ...BASE_ATTRIBUTES, 'cif.kpi.name': 'WrapUp' }, startTime: new Date(T1) });
      span.addEvent('ui.click', {}, new Date(T1));
      recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
      span.end(new Date(T2));
      await provider.forceFlush();
      const sent = client.payloads().flatMap((data) => data.events.map((e) => [e.kpiEventName, e.eventTimestamp]));
      expect(sent).to.deep.equal(events.map((name) => [name, name === 'WrapUp' ? T2 : T1]));
    }),
  );
});

describe("the counters of CifLogRecordExporter, as docs/log-based-events.md says", () => {
  it('has those of CifSpanExporter, with logRecordsSeen and cifLogRecords for spansSeen and cifSpans, and invalid_log_record for invalid_span and sdk_event_limit', async () => {
    const client = new RecordingCifClient();
    const spanExporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
    const logExporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { spansSeen, cifSpans, dropped: { invalid_span, sdk_event_limit, ...dropped }, ...common } = spanExporter.getStats();
    expect(logExporter.getStats()).to.deep.equal({ logRecordsSeen: 0, cifLogRecords: 0, ...common, dropped: { invalid_log_record: 0, ...dropped } });
  });
});
