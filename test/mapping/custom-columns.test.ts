// The custom columns of msdyn_kpieventdata the mapping writes, and values nested in arrays, through
// the real SDKs.
import { expect } from 'chai';
import { CifSpanExporter, recordKpiEvent } from '../../src/index.js';
import { CifLogRecordExporter } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { logPipeline, spanPipeline } from '../helpers/pipelines.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { IDENTITY } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const IDS = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('custom columns of msdyn_kpieventdata', () => {
  // The reference and docs/mapping.md: the table's custom attribute columns are msdyn_customattribute1 to 5. An old host
  // writes `record[attribute] = value`: a column the table lacks fails the record, and with it the KPI event.
  ['msdyn_customattribute6', 'msdyn_customattribute0', 'msdyn_customattribute01', 'msdyn_customattribute12'].forEach((column) =>
    it(`leaves out cif.kpi.custom.${column}, which msdyn_kpieventdata does not have, and counts it`, async () => {
      const { client, exporter, tracer, flush } = spanPipeline();
      const span = tracer.startSpan('call', { attributes: IDENTITY });
      span.addEvent('CallAccepted', { [`cif.kpi.custom.${column}`]: 'lost with its record', 'cif.kpi.custom.msdyn_customattribute5': 'kept' }, new Date(T1));
      span.end();
      await flush();
      expect(client.payloads()).to.deep.equal([
        { ...IDS, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute5', value: 'kept' }] }] },
      ]);
      expect(exporter.getStats().droppedFields.invalid_custom_column).to.equal(1);
    }),
  );

  it('refuses customAttributes mapping onto msdyn_customattribute6 in each exporter constructor', () => {
    const accepted: string[] = [];
    for (const Exporter of [CifSpanExporter, CifLogRecordExporter]) {
      try {
        shutDownAfterTest(new Exporter({ client: new RecordingCifClient(), outbox: false, customAttributes: { 'call.queue': 'msdyn_customattribute6' } }));
        accepted.push(Exporter.name);
      } catch (error) {
        expect(error).to.be.instanceOf(TypeError);
      }
    }
    expect(accepted).to.deep.equal([]);
  });

  it('keeps a custom column of another Microsoft publisher prefix that starts msdyn (msdyncrm_), and a customer\'s', async () => {
    const { client, logger, flush } = logPipeline();
    logger.emit({
      eventName: 'CallAccepted',
      timestamp: new Date(T1),
      attributes: { ...IDENTITY, 'cif.kpi.custom.msdyncrm_queue': 'q', 'cif.kpi.custom.contoso_msdyn_copy': 'c' },
    });
    await flush();
    expect(client.payloads().map((p) => p.events[0]?.customData)).to.deep.equal([
      [
        { attribute: 'msdyncrm_queue', value: 'q' },
        { attribute: 'contoso_msdyn_copy', value: 'c' },
      ],
    ]);
  });
});

describe('the eventName argument', () => {
  it('counts a kpiEventName over 100 once, not again for the default eventName that repeats it, and sends both cut alike', async () => {
    const { client, exporter, tracer, flush } = spanPipeline();
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent(`${'n'.repeat(98)}👩‍👩‍👧`, new Date(T1));
    span.end();
    await flush();
    expect(client.calls.map((call) => [call.eventName, client.payloads()[0]?.events[0]?.kpiEventName])).to.deep.equal([['n'.repeat(98), 'n'.repeat(98)]]);
    expect(exporter.getStats().truncated.kpiEventName).to.equal(1);
  });
});

describe('numbers JSON cannot write, nested', () => {
  it('writes NaN and Infinity inside a map inside an array as they read, in the JSON recordKpiEvent makes of an object array', async () => {
    const { client, tracer, flush } = spanPipeline();
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    recordKpiEvent(span, 'Scored', { additionalData: [{ score: Number.NaN, limit: [Number.NEGATIVE_INFINITY] }] as unknown as string }, new Date(T1));
    span.end();
    await flush();
    expect(client.payloads()[0]?.events[0]?.additionalData).to.equal('[{"score":"NaN","limit":["-Infinity"]}]');
  });

  it('does not send a Map inside an array as {} unnoticed: its entries, as a Map alone is sent, or left out and counted', async () => {
    // recordKpiEvent writes a Map alone as the JSON of its entries (CIF's own APIs answer with Maps); one inside an array becomes {}.
    const { client, exporter, tracer, flush } = spanPipeline();
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    recordKpiEvent(span, 'Scored', { reason: [new Map([['score', Number.NaN]])] as unknown as string }, new Date(T1));
    span.end();
    await flush();
    const reason = client.payloads()[0]?.events[0]?.kpiEventReason;
    if (reason === undefined) expect(exporter.getStats().droppedFields.unserializable_value).to.equal(1);
    else expect(reason).to.equal('[[["score","NaN"]]]');
  });
});
