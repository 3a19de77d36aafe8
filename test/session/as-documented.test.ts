import { context, diag, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanLimits, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifStartingSpan } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import type { stampSession } from '../../src/session/stamp.js';
import { captureLevels } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const T1 = '2026-11-25T10:15:30.123Z';
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

// docs/session-context.md, "Processor".
describe('CifSessionSpanProcessor, as docs/session-context.md describes it', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  const limits: Array<[what: string, spanLimits: SpanLimits, session: typeof CALL, attributes: Record<string, string>]> = [
    ['at its attributeCountLimit', { attributeCountLimit: 2 }, CALL, { 'call.queue': 'billing', 'call.kind': 'inbound' }],
    ['whose attributeValueLengthLimit cuts the id', { attributeValueLengthLimit: 4 }, { conversationId: 'conversation-1', providerSessionId: 'prov' }, {}],
  ];
  limits.forEach(([what, spanLimits, session, attributes]) =>
    it(`warns once that the SDK did not keep an id it set on a span ${what}, then tells each later span at DEBUG`, async () => {
      // A copy of the module of its own: the warning is once per page, and other tests may have used it.
      const copy = (await import(`../../src/session/stamp.ts?span-not-kept-${what.length}-${Date.now()}`)) as { stampSession: typeof stampSession };
      // What CifSessionSpanProcessor.onStart does, with that copy.
      const stamping = { onStart: (span: CifStartingSpan, ctx: Context) => copy.stampSession(span, ctx, 'span'), onEnd: () => {}, forceFlush: async () => {}, shutdown: async () => {} };
      const provider = shutDownAfterTest(new BasicTracerProvider({ spanLimits, spanProcessors: [stamping as SpanProcessor] }));
      const lines = captureLevels();
      for (let i = 0; i < 2; i++) withCifSession(session, () => provider.getTracer('softphone').startSpan('call', { attributes }).end());
      expect(lines).to.deep.equal([
        'warn The SDK did not keep cif.conversation.id on a span: raise its attributeCountLimit or attributeValueLengthLimit. Shown once.',
        'debug The SDK did not keep cif.conversation.id on a span: raise its attributeCountLimit or attributeValueLengthLimit.',
      ]);
    }),
  );

  it("sends the session's ids, stamped as span attributes, over the resource's and the exporter's session option", async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, outbox: false, session: { conversationId: 'conv-option', providerSessionId: 'prov-option', participantId: 'agent-option' } });
    const provider = shutDownAfterTest(
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'cif.conversation.id': 'conv-resource', 'cif.client_session.id': 'client-resource' }),
        spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)],
      }),
    );
    withCifSession({ ...CALL, clientSessionId: 'client-1' }, () => {
      const span = provider.getTracer('softphone').startSpan('accept');
      recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.payloads()).to.deep.equal([
      { conversationId: 'conv-1', providerSessionId: 'prov-1', clientSessionId: 'client-1', participantId: 'agent-option', events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] },
    ]);
  });
});
