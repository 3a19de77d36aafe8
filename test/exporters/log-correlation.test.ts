import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { withCifSession } from '../../src/index.js';
import { emitKpiEvent } from '../../src/logs.js';
import { logPipeline } from '../helpers/pipelines.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { FIXED_TRACE_ID, TRACE_GUID } from '../helpers/spans.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

// docs/log-based-events.md, "correlationId".
describe('the correlationId of log-based events, as docs/log-based-events.md says', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => context.disable());

  [
    { what: 'by default: the span trace id as a GUID, and a v5 UUID outside any trace', options: {}, inSpan: TRACE_GUID, traceless: /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/ },
    { what: 'the correlationId option in place of both', options: { correlationId: () => 'corr-widget' }, inSpan: 'corr-widget', traceless: /^corr-widget$/ },
  ].forEach(({ what, options, inSpan, traceless }) =>
    it(`gives a record emitted in a span and one outside any trace ${what}`, async () => {
      const { client, logger, flush } = logPipeline(options);
      const tracer = shutDownAfterTest(new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID })).getTracer('softphone');
      withCifSession(CALL, () => {
        tracer.startActiveSpan('accept call', (span) => {
          emitKpiEvent(logger, 'CallAccepted');
          span.end();
        });
        context.with(trace.deleteSpan(context.active()), () => emitKpiEvent(logger, 'CallEnded'));
      });
      await flush();
      const [accepted, ended] = client.calls;
      expect([accepted?.eventName, accepted?.correlationId, ended?.eventName]).to.deep.equal(['CallAccepted', inSpan, 'CallEnded']);
      expect(ended?.correlationId).to.match(traceless);
    }),
  );
});
