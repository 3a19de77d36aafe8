import { expect } from 'chai';
import { recordKpiEvent } from '../../src/index.js';
import { formatCifCall } from '../../src/testing/index.js';
import { spanPipeline } from '../helpers/pipelines.js';

// `format()` returns every call as text for people to read, one field a line. additionalData is
// often JSON text, which a widget may well write indented.
describe('RecordingCifClient.format: one field a line, also for a value with line breaks', () => {
  it('prints an indented JSON additionalData a widget recorded on the one line of its field', async () => {
    const { client, tracer, flush } = spanPipeline({ session: { conversationId: 'conv-42', providerSessionId: 'CA42' } });
    const additionalData = JSON.stringify({ queue: 'sales', skills: ['french'] }, null, 2);
    const span = tracer.startSpan('accept call');
    recordKpiEvent(span, 'CallAccepted', { additionalData });
    span.end();
    await flush();

    expect(client.payloads()[0]?.events[0]?.additionalData).to.equal(additionalData);
    const lines = client.format().split('\n');
    // The header, conversationId, providerSessionId, events[0], kpiEventName, eventTimestamp, additionalData.
    expect(lines).to.have.length(7);
    const field = lines.find((line) => line.trimStart().startsWith('additionalData'));
    expect(field).to.include('sales').and.to.include('french');
  });

  it('prints an event name with a line break on the header line, as JSON text', () => {
    const printed = formatCifCall({ data: { conversationId: 'c', providerSessionId: 'p', events: [] }, eventName: 'Call\nAccepted', correlationId: undefined });
    expect(printed.split('\n')[0]).to.equal(`logAnalyticsEvent '"Call\\nAccepted"'  correlationId (none)`);
  });

  it('prints a value with a line or paragraph separator (U+2028, U+2029) on its one line, escaped as JSON text', () => {
    const data = { conversationId: 'conv-1', providerSessionId: 'p', events: [{ kpiEventName: 'CallEnded', eventTimestamp: 't', kpiEventReason: 'customer\u2028hung\u2029up' }] };
    const printed = formatCifCall({ data, eventName: 'CallEnded', correlationId: undefined });
    expect(printed.split(/\r\n|[\n\r\u2028\u2029]/)).to.deep.equal([
      "logAnalyticsEvent 'CallEnded'  correlationId (none)",
      '  conversationId     conv-1',
      '  providerSessionId  p',
      '  events[0]',
      '    kpiEventName    CallEnded',
      '    eventTimestamp  t',
      '    kpiEventReason  "customer\\u2028hung\\u2029up"',
    ]);
  });

  it('keeps a value holding line breaks on its line also when JSON cannot write it (a cycle, which the clone keeps)', () => {
    const value: unknown[] = ['before\u2028after\nend'];
    value.push(value);
    const text = formatCifCall({
      data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: 'E1', eventTimestamp: '2026-11-25T10:15:30.123Z', kpiEventReason: value }] },
      eventName: 'E1',
      correlationId: 'c',
    } as never);
    expect(text).to.not.match(/[\u2028\u2029]/);
    expect(text.split('\n').find((line) => line.includes('kpiEventReason'))).to.include('before\\u2028after\\u000aend');
  });
});
