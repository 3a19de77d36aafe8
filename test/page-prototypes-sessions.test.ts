import { context, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import {
  CifSpanExporter,
  getCifSession,
  recordKpiEvent,
  recordedKpiEventsOnly,
  setCifSession,
  withCifSession,
} from '../src/index.js';
import { CifLogRecordExporter, emitKpiEvent } from '../src/logs.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureDiag } from './helpers/diag.js';
import { logPipeline, spanPipeline } from './helpers/pipelines.js';
import { shutDownAfterTest } from './helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** Adds enumerable `properties` to `Object.prototype`, as old page libraries (or a polluted deep merge) do; returns how to take them away. */
function polluteObjectPrototype(properties: Record<string, unknown>): () => void {
  Object.assign(Object.prototype, properties);
  return () => {
    for (const key of Object.keys(properties)) Reflect.deleteProperty(Object.prototype, key);
  };
}

describe('log records, sessions and recording on a page whose libraries added keys to Object.prototype', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  describe('cif.* keys only Object.prototype holds', () => {
    let restore: () => void = () => {};
    afterEach(() => restore());

    it("turns no plain log line of a session into a KPI event, and keeps eventFilter recordedKpiEventsOnly to emitKpiEvent's events, when only Object.prototype holds cif.kpi.name", async () => {
      const sent: Record<string, string[]> = {};
      for (const [name, eventFilter] of [['default', undefined], ['recordedKpiEventsOnly', recordedKpiEventsOnly]] as const) {
        const { client, logger, flush } = logPipeline(eventFilter ? { eventFilter } : {});
        restore = polluteObjectPrototype({ 'cif.kpi.name': 'page' });
        try {
          withCifSession(CALL, () => {
            logger.emit({ body: 'softphone: registering line 1' }); // a plain log line of the session: no eventName, no cif.kpi.name
            emitKpiEvent(logger, 'CallAccepted');
          });
          await flush();
        } finally {
          restore();
        }
        sent[name] = client.calls.map((call) => call.eventName);
      }
      expect(sent).to.deep.equal({ default: ['CallAccepted'], recordedKpiEventsOnly: ['CallAccepted'] });
    });

    it("stamps the session's ids on spans and log records, and sends none of Object.prototype's, when only Object.prototype holds cif.conversation.id", async () => {
      const spans = spanPipeline();
      const logs = logPipeline();
      restore = polluteObjectPrototype({ 'cif.conversation.id': 'page', 'cif.provider_session.id': 'page' });
      try {
        withCifSession(CALL, () => {
          const span = spans.tracer.startSpan('accept call');
          recordKpiEvent(span, 'CallAccepted');
          span.end();
          emitKpiEvent(logs.logger, 'CallAccepted');
        });
        await spans.flush();
        await logs.flush();
      } finally {
        restore();
      }
      const ids = (client: RecordingCifClient) => client.payloads().map(({ conversationId, providerSessionId }) => ({ conversationId, providerSessionId }));
      expect({ spans: ids(spans.client), logs: ids(logs.client) }).to.deep.equal({ spans: [CALL], logs: [CALL] });
    });
  });

  describe('session field names only Object.prototype holds', () => {
    let restore: () => void = () => {};
    afterEach(() => restore());

    it("counts a span lacking the ids as missing_identity rather than sending Object.prototype's ids through the exporter's session option", async () => {
      restore = polluteObjectPrototype({ conversationId: 'page', providerSessionId: 'page' });
      // The agent's participantId in the session option, as docs/session-context.md advises.
      const { client, exporter, tracer, flush } = spanPipeline({ session: { participantId: 'agent-7' } });
      try {
        const span = tracer.startSpan('offered', { attributes: { 'cif.client_session.id': 'cs-1' } });
        recordKpiEvent(span, 'CallOffered');
        span.end();
        await flush();
      } finally {
        restore();
      }
      expect([client.payloads(), exporter.getStats().dropped.missing_identity]).to.deep.equal([[], 1]);
    });

    it('constructs the exporters with a session option, without throwing, when Object.prototype holds a method named as a session field', () => {
      restore = polluteObjectPrototype({ clientSessionId: function clientSessionId() {} });
      const client = new RecordingCifClient();
      try {
        expect(() => shutDownAfterTest(new CifSpanExporter({ client, session: { participantId: 'agent-7' } }))).not.to.throw();
        expect(() => shutDownAfterTest(new CifLogRecordExporter({ client, session: { participantId: 'agent-7' } }))).not.to.throw();
      } finally {
        restore();
      }
    });

    it("keeps the enclosing session's clientSessionId in a nested session, and warns of no field the caller never gave, when Object.prototype holds a method of that name", () => {
      const messages = captureDiag();
      const outer = setCifSession(ROOT_CONTEXT, { ...CALL, clientSessionId: 'cs-1' });
      restore = polluteObjectPrototype({ clientSessionId: function clientSessionId() {} });
      let nested: unknown;
      try {
        nested = { ...getCifSession(setCifSession(outer, { participantId: 'agent-7' })) };
      } finally {
        restore();
      }
      expect({ nested, messages }).to.deep.equal({ nested: { ...CALL, clientSessionId: 'cs-1', participantId: 'agent-7' }, messages: [] });
    });
  });

});
