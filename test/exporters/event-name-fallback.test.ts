// What an option callback changes is not sent (docs/delivery.md#hostile-input), even when it fails after changing it.
import { context, diag } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifKpiEvent } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { payloadOf } from '../../src/testing/recording-client.js';
import { FIXED_TRACE_ID } from '../helpers/spans.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const T1 = '2026-11-25T10:15:30.123Z';

describe('an eventName callback that fails after changing what it is shown', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  const failures: Array<{ title: string; eventName: (kpiEvent: CifKpiEvent) => string }> = [
    {
      title: 'throws',
      eventName: (kpiEvent) => {
        kpiEvent.kpiEventName = `contoso.softphone.${kpiEvent.kpiEventName}`.repeat(5);
        throw new Error('eventName bug');
      },
    },
    {
      title: 'returns an empty string',
      eventName: (kpiEvent) => {
        (kpiEvent as unknown as Record<string, unknown>)['kpiEventName'] = 42;
        return '';
      },
    },
  ];
  failures.forEach(({ title, eventName }) =>
    it(`sends the call under the KPI event's own name when the callback ${title}`, async () => {
      const client = new RecordingCifClient();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client, eventName }));
      const provider = shutDownAfterTest(
        new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }),
      );
      const tracer = provider.getTracer('softphone');
      withCifSession(CALL, () => {
        const span = tracer.startSpan('accept call');
        recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
        span.end();
      });
      await provider.forceFlush();
      await exporter.forceFlush();
      expect(exporter.getStats().callbackErrors).to.equal(1);
      // The default answers from the KPI event as mapped, not from the copy the callback changed.
      expect(client.calls.map((call) => [call.eventName, payloadOf(call).events])).to.deep.equal([['CallAccepted', [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }]]]);
    }),
  );
});
