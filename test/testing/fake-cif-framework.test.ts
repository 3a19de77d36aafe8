import { expect } from 'chai';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { CifSpanExporter, recordKpiEvent, type CifAnalyticsClient } from '../../src/index.js';
import { RecordingCifClient, installFakeCIFramework } from '../../src/testing/index.js';
import { FIXED_TRACE_ID, IDENTITY, TRACE_GUID } from '../helpers/spans.js';

type Host = EventTarget & { Microsoft?: { CIFramework?: CifAnalyticsClient & Record<string, unknown> } & Record<string, unknown> };

describe('installFakeCIFramework', () => {
  it('defines Microsoft.CIFramework.logAnalyticsEvent on the target, answered by a RecordingCifClient', async () => {
    const target: Host = new EventTarget();
    const { client } = installFakeCIFramework(target);
    expect(client).to.be.instanceOf(RecordingCifClient);
    const answer = await target.Microsoft!.CIFramework!.logAnalyticsEvent({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'A', 'id');
    expect(answer).to.equal('ok');
    expect(client.calls).to.deep.equal([
      { data: { conversationId: 'c', providerSessionId: 'p', events: [] }, eventName: 'A', correlationId: 'id' },
    ]);
  });

  it('dispatches CIFInitDone on the target after the API is defined', () => {
    const target: Host = new EventTarget();
    const seen: Array<{ type: string; ready: boolean }> = [];
    target.addEventListener('CIFInitDone', (e) =>
      seen.push({ type: e.type, ready: typeof target.Microsoft?.CIFramework?.logAnalyticsEvent === 'function' }),
    );
    installFakeCIFramework(target);
    expect(seen).to.deep.equal([{ type: 'CIFInitDone', ready: true }]);
  });

  it('uses the client it is given', async () => {
    const client = new RecordingCifClient({ answer: 'from my client' });
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target, client);
    expect(fake.client).to.equal(client);
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A', 'id')).to.equal('from my client');
    expect(client.calls).to.deep.equal([{ data: '{}', eventName: 'A', correlationId: 'id' }]);
  });

  it('keeps what Microsoft and Microsoft.CIFramework already hold, and restores them on uninstall', async () => {
    const getFocusedSession = () => Promise.resolve('session-1');
    const original = () => Promise.resolve('real host');
    const cif = { getFocusedSession, logAnalyticsEvent: original };
    const microsoft = { Dynamic365: 'kept', CIFramework: cif };
    const target = { Microsoft: microsoft } as unknown as Host;
    const fake = installFakeCIFramework(target);
    expect(target.Microsoft).to.equal(microsoft);
    expect(target.Microsoft!['Dynamic365']).to.equal('kept');
    expect(await (target.Microsoft!.CIFramework!['getFocusedSession'] as typeof getFocusedSession)()).to.equal('session-1');
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A')).to.equal('ok');

    fake.uninstall();
    fake.uninstall();
    expect(target.Microsoft).to.equal(microsoft);
    expect(microsoft.CIFramework).to.equal(cif);
    expect(cif.logAnalyticsEvent).to.equal(original);
  });

  it('removes what it created on uninstall', () => {
    const target: Host = new EventTarget();
    installFakeCIFramework(target).uninstall();
    expect(Object.prototype.hasOwnProperty.call(target, 'Microsoft')).to.equal(false);
    const withMicrosoft = { Microsoft: {} } as Host;
    installFakeCIFramework(withMicrosoft).uninstall();
    expect(withMicrosoft.Microsoft).to.deep.equal({});
  });

  it('throws a TypeError when the target holds a Microsoft that is not an object', () => {
    expect(() => installFakeCIFramework({ Microsoft: 'x' })).to.throw(TypeError, /target.Microsoft must be an object/);
  });

  it('on globalThis, is what CifSpanExporter calls when it has no client option', async () => {
    const { client, uninstall } = installFakeCIFramework();
    const provider = new BasicTracerProvider({
      idGenerator: FIXED_TRACE_ID,
      resource: resourceFromAttributes({}),
      spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter())],
    });
    try {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallHold', undefined, new Date('2026-11-25T10:15:30.123Z'));
      span.end();
      await provider.forceFlush();
      expect(client.calls).to.deep.equal([
        {
          data: {
            conversationId: 'conv-1',
            providerSessionId: 'prov-1',
            events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:15:30.123Z' }],
          },
          eventName: 'CallHold',
          correlationId: TRACE_GUID,
        },
      ]);
    } finally {
      uninstall();
      await provider.shutdown();
    }
    expect(Object.prototype.hasOwnProperty.call(globalThis, 'Microsoft')).to.equal(false);
  });

  const notObjects: Array<[what: string, microsoft: unknown]> = [
    ['null', null],
    ['a string', 'Microsoft'],
  ];
  notObjects.forEach(([what, microsoft]) =>
    it(`throws a TypeError when target.Microsoft is ${what}`, () => {
      const target = { Microsoft: microsoft };
      expect(() => installFakeCIFramework(target)).to.throw(TypeError, /target\.Microsoft must be an object/);
      expect(target).to.deep.equal({ Microsoft: microsoft });
    }),
  );

  it('does nothing on a second uninstall, even after the target got a Microsoft of its own', () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    fake.uninstall();
    const own = { CIFramework: { logAnalyticsEvent: () => Promise.resolve('own') } };
    (target as unknown as Record<string, unknown>)['Microsoft'] = own;
    fake.uninstall();
    expect(target.Microsoft).to.equal(own);
    expect(own.CIFramework.logAnalyticsEvent).to.be.a('function');
  });
});
