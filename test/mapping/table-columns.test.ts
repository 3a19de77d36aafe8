import { expect } from 'chai';
import { CifSpanExporter } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { logPipeline, spanPipeline } from '../helpers/pipelines.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const IDS = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/**
 * Columns of msdyn_kpieventdata that the payload's own fields fill, and its primary key
 * (/work/shared/reference/cif-analytics.md): an old host wrote each customData item as
 * `record[attribute] = value`, so an item naming one of them overwrites the KPI event's id, name or
 * time, or fails the record (text in a DateTime or a GUID column).
 */
const BUILT_IN_COLUMNS = [
  'msdyn_kpieventdataid',
  'msdyn_eventtimestamp',
  'msdyn_conversationid',
  'msdyn_providersessionid',
  'msdyn_kpieventname',
  'msdyn_additionaldata',
];

describe('custom columns that msdyn_kpieventdata already fills', () => {
  // A DateTime column, the primary key, and an id the call's own identity sets.
  ['msdyn_eventtimestamp', 'msdyn_kpieventdataid', 'msdyn_conversationid'].forEach((column) =>
    it(`leaves a cif.kpi.custom.${column} value out of the KPI event of a span, and counts it in droppedFields.invalid_custom_column`, async () => {
      const { client, exporter, tracer, flush } = spanPipeline();
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted', { [`cif.kpi.custom.${column}`]: 'not a column of yours', 'cif.kpi.custom.msdyn_customattribute1': 'kept' }, new Date(T1));
      span.end();
      await flush();
      expect(client.payloads()).to.deep.equal([
        { ...IDS, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute1', value: 'kept' }] }] },
      ]);
      const stats = exporter.getStats();
      expect(stats.droppedFields.invalid_custom_column).to.equal(1);
      expectBalanced(stats);
    }),
  );

  it('refuses, in each exporter constructor, customAttributes that map a key onto a column the payload fields fill or the primary key', () => {
    const accepted: string[] = [];
    for (const Exporter of [CifSpanExporter, CifLogRecordExporter]) {
      for (const column of BUILT_IN_COLUMNS) {
        try {
          shutDownAfterTest(new Exporter({ client: new RecordingCifClient(), outbox: false, customAttributes: { 'call.queue': column } }));
          accepted.push(`${Exporter.name} ${column}`);
        } catch (error) {
          expect(error).to.be.instanceOf(TypeError).with.property('message').that.matches(/customAttributes\['call\.queue'\]/);
        }
      }
    }
    expect(accepted).to.deep.equal([]);
  });

  it('leaves a cif.kpi.custom.msdyn_eventtimestamp value out of the KPI event of a log record too', async () => {
    const { client, exporter, logger, flush } = logPipeline();
    logger.emit({ eventName: 'CallAccepted', timestamp: new Date(T1), attributes: { ...IDENTITY, 'cif.kpi.custom.msdyn_eventtimestamp': 'yesterday' } });
    await flush();
    expect(client.payloads().map((p) => p.events)).to.deep.equal([[{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }]]);
    expect(exporter.getStats().droppedFields.invalid_custom_column).to.equal(1);
  });
});

/** Whether `text` holds no surrogate without its other half. */
const wellFormed = (text: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);

describe('the eventName argument at the column it is stored in', () => {
  // The old host stored the eventName argument as msdyn_kpieventname, 100 characters, as the mapping cuts kpiEventName.
  const answers: Array<[what: string, spanName: string]> = [
    ['a span name of 120 characters', 'n'.repeat(120)],
    ['a surrogate pair across the 100th character', `${'n'.repeat(97)}😀😀`],
  ];
  answers.forEach(([what, spanName]) =>
    it(`never passes an eventName over 100 characters from an eventName callback, and counts what it cut or refused (${what})`, async () => {
      const { client, exporter, tracer, flush } = spanPipeline({ eventName: (kpi, span) => `${span.name}:${kpi.kpiEventName}` });
      const span = tracer.startSpan(spanName, { attributes: IDENTITY });
      span.addEvent('CallAccepted', new Date(T1));
      span.end();
      await flush();
      expect(client.calls).to.have.length(1);
      const { eventName } = client.calls[0]!;
      expect(eventName.length, eventName).to.be.at.most(100);
      expect(wellFormed(eventName), 'no half of a surrogate pair').to.equal(true);
      const stats = exporter.getStats();
      expect(stats.truncated.kpiEventName + stats.callbackErrors, 'counted as a cut or as a bad answer').to.equal(1);
    }),
  );

  it('never passes an eventName over 100 characters from the eventName callback of the log record exporter', async () => {
    const { client, exporter, logger, flush } = logPipeline({ eventName: (kpi) => `widget.softphone.${'x'.repeat(100)}.${kpi.kpiEventName}` });
    logger.emit({ eventName: 'CallAccepted', timestamp: new Date(T1), attributes: IDENTITY });
    await flush();
    expect(client.calls.map((call) => call.eventName.length)).to.have.length(1).and.satisfy((lengths: number[]) => lengths.every((n) => n <= 100));
    const stats = exporter.getStats();
    expect(stats.truncated.kpiEventName + stats.callbackErrors).to.equal(1);
  });
});

describe('where a value over its column is cut', () => {
  // docs/mapping.md promises no cut inside a surrogate pair; a cut inside a grapheme changes the last character unseen.
  const values: Array<[what: string, value: string, sent: string]> = [
    ['an e and its combining acute accent', `${'a'.repeat(99)}e\u0301zz`, 'a'.repeat(99)],
    ['a flag, two regional indicators', `${'a'.repeat(98)}🇫🇷`, 'a'.repeat(98)],
    ['a family emoji joined by zero-width joiners', `${'a'.repeat(95)}👩‍👩‍👧`, 'a'.repeat(95)],
  ];
  values.forEach(([what, value, sent]) =>
    it(`cuts before ${what} that straddles the 100th character, not inside it, and counts the cut`, async () => {
      const { client, exporter, tracer, flush } = spanPipeline();
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted', { 'cif.kpi.reason': value }, new Date(T1));
      span.end();
      await flush();
      expect(client.payloads()).to.deep.equal([{ ...IDS, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, kpiEventReason: sent }] }]);
      expect(exporter.getStats().truncated.kpiEventReason).to.equal(1);
    }),
  );
});

describe('numbers JSON cannot write, inside an array', () => {
  it('does not send the NaN and Infinity of a number array as null unnoticed: written as a number alone is, or left out and counted', async () => {
    const { client, exporter, tracer, flush } = spanPipeline();
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    // The trace SDK takes a number array as it is; alone, NaN is sent as 'NaN'.
    span.addEvent('CallAccepted', { 'cif.kpi.reason': [1, Number.NaN, Number.POSITIVE_INFINITY], 'cif.kpi.additional_data': Number.NaN }, new Date(T1));
    span.end();
    await flush();
    const [sent] = client.payloads().flatMap((p) => p.events);
    expect(sent?.additionalData).to.equal('NaN');
    if (sent?.kpiEventReason === undefined) expect(exporter.getStats().droppedFields.unserializable_value).to.equal(1);
    else expect(sent.kpiEventReason).not.to.include('null');
  });
});
