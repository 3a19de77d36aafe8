import { diag, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { runInNewContext } from 'node:vm';
import { CifDelivery, CifSpanExporter, recordKpiEvent, withCifSession, type CifSession, type CifSpanExporterOptions } from '../src/index.js';
import { shutDownDeliveryAfterTest } from './helpers/shut-down-delivery.js';
import { captureDiag } from './helpers/diag.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { IDENTITY } from './helpers/spans.js';

const client = { logAnalyticsEvent: () => Promise.resolve('ok') };

describe('Exporter options as pages give them: Maps, misspelt session fields, getters, extreme retries', () => {
  afterEach(() => diag.disable());

  it('retries a rejected call up to retry.maxAttempts, past 1024 attempts, with initialBackoffMillis 0, then drops it as host_error', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
    let attempts = 0;
    const rejecting = { logAnalyticsEvent: () => (attempts++, Promise.reject(new Error('Provider not active'))) };
    const exporter = new CifSpanExporter({ client: rejecting, outbox: false, retry: { maxAttempts: 1030, initialBackoffMillis: 0 } });
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes(IDENTITY), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      const span: Span = provider.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallAccepted');
      span.end();
      await clock.runAllAsync();
      const stats = exporter.getStats();
      // Every attempt made, then the KPI event counted under a reason: never left pending for good.
      expect({ attempts, callsMade: stats.callsMade, pending: stats.kpiEventsPending, hostError: stats.dropped.host_error }).to.deep.equal({
        attempts: 1030,
        callsMade: 1030,
        pending: 0,
        hostError: 1,
      });
    } finally {
      // Shut down under the fake clock, so that a call left waiting holds no real time.
      const closing = provider.shutdown();
      await clock.runAllAsync();
      await closing;
      clock.uninstall();
    }
  });

  it('warns at construction that a misspelt session field is unknown and ignored, naming it and the object it was given to', () => {
    const messages = captureDiag();
    shutDownAfterTest(new CifSpanExporter({ client, session: { conversationID: 'conv-1', providerSessionId: 'prov-1' } } as CifSpanExporterOptions));
    expect(messages).to.deep.equal(['opentelemetry-exporter-cif CifSpanExporter: option `session.conversationID` is unknown and ignored.']);
  });

  it('says nothing of the other keys of a session given to withCifSession, which may be given a larger object at every call', () => {
    const messages = captureDiag();
    withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1', sessionId: 'session-1' } as CifSession, () => {});
    expect(messages).to.deep.equal([]);
  });

  // Microsoft.CIFramework.getSession answers with a Map (Microsoft's own sample reads it with .get()).
  const maps: Array<[string, CifSpanExporterOptions, RegExp]> = [
    ['session', { session: new Map([['conversationId', 'conv-1'], ['providerSessionId', 'prov-1']]) as never }, /^CifSpanExporter: option `session` /],
    ['customAttributes', { customAttributes: new Map([['call.queue', 'msdyn_customattribute1']]) as never }, /^CifSpanExporter: option `customAttributes` /],
  ];
  maps.forEach(([option, options, message]) =>
    it(`rejects a Map given as ${option} with a TypeError, rather than taking it as empty in silence`, () => {
      expect(() => shutDownAfterTest(new CifSpanExporter({ client, ...options }))).to.throw(TypeError, message);
    }),
  );

  it('rejects a Map of another frame given as session or customAttributes, as one of this frame', () => {
    for (const option of ['session', 'customAttributes']) {
      const map: unknown = runInNewContext("new Map([['conversationId', 'conv-1']])");
      expect(() => shutDownAfterTest(new CifSpanExporter({ client, [option]: map }))).to.throw(TypeError, `CifSpanExporter: option \`${option}\` must be a plain object`);
    }
  });

  it('reads `delivery` once, as every option, so that a getter that makes a CifDelivery makes one', () => {
    const made: CifDelivery[] = [];
    shutDownAfterTest(
      new CifSpanExporter({
        get delivery() {
          return made[made.push(shutDownDeliveryAfterTest(new CifDelivery({ client }))) - 1];
        },
      }),
    );
    expect(made).to.have.length(1);
  });

  it('reads a delivery option given beside a shared delivery once, as every option, so that a getter cannot answer the check and the exporter apart', () => {
    const delivery = shutDownDeliveryAfterTest(new CifDelivery({ client }));
    let reads = 0;
    const options = {
      delivery,
      // A page's getter: the first read finds nothing yet, the next one a value.
      get maxQueueSize() {
        return reads++ === 0 ? undefined : 5;
      },
    };
    shutDownAfterTest(new CifSpanExporter(options));
    expect(reads).to.equal(1);
    const answering = { delivery, get maxQueueSize() { return 5; } };
    expect(() => shutDownAfterTest(new CifSpanExporter(answering))).to.throw(
      TypeError,
      'CifSpanExporter: option `maxQueueSize` belongs to the CifDelivery passed as `delivery` (got 5).',
    );
  });
});
