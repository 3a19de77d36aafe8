// The session processors keep an id a span or log record already has in another type that the
// mapping sends (a number, zero, false, a non-empty array): never overwritten with the session's.
// Through the real trace and logs SDKs, wired as the README says.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

describe('the session processors and an id of another type the widget set', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  // docs/session-context.md: "It never overwrites an id the span was started with, but fills one the
  // mapping reads as absent". Each of these the mapping sends as text, so none is absent.
  const ids: Array<[what: string, id: number | boolean | string[], sent: string]> = [
    ['a number', 4711, '4711'],
    ['zero', 0, '0'],
    ['false', false, 'false'],
    ['a non-empty array', ['conv-a'], '["conv-a"]'],
  ];
  ids.forEach(([what, id, sent]) => {
    it(`keeps a conversation id a span was started with as ${what}, and sends it`, async () => {
      const client = new RecordingCifClient();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
      const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
      withCifSession(CALL, () => {
        const span = provider.getTracer('softphone').startSpan('call', { attributes: { 'cif.conversation.id': id } });
        recordKpiEvent(span, 'CallAccepted');
        span.end();
      });
      await provider.forceFlush();
      await exporter.forceFlush();
      expect(client.payloads().map((data) => [data.conversationId, data.providerSessionId])).to.deep.equal([[sent, 'prov-1']]);
    });

    it(`keeps a conversation id a log record was emitted with as ${what}, and sends it`, async () => {
      const client = new RecordingCifClient();
      const exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
      const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
      withCifSession(CALL, () => provider.getLogger('softphone').emit({ eventName: 'CallAccepted', attributes: { 'cif.kpi.name': 'CallAccepted', 'cif.conversation.id': id } }));
      await provider.forceFlush();
      await exporter.forceFlush();
      expect(client.payloads().map((data) => [data.conversationId, data.providerSessionId])).to.deep.equal([[sent, 'prov-1']]);
    });
  });
});
