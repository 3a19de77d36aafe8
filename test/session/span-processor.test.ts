import { context, diag, type Context, type ContextManager, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { StackContextManager, WebTracerProvider, addSpanNetworkEvents } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import {
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  setCifSession,
  withCifSession,
  type CifSession,
  type CifStartingSpan,
} from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag } from '../helpers/diag.js';
import { FIXED_TRACE_ID, TRACE_GUID } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';
const T2 = '2026-11-25T10:16:00.000Z';
const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const IDENTITY_ATTRIBUTES = { 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' };

type Provider = BasicTracerProvider | WebTracerProvider;

/** A provider wired as the README says: session processor first, then the exporter's processor. */
function setup(
  Provider: typeof BasicTracerProvider | typeof WebTracerProvider,
  contextManager: ContextManager,
) {
  context.setGlobalContextManager(contextManager.enable());
  const client = new RecordingCifClient();
  const exporter = new CifSpanExporter({ client });
  const provider: Provider = new Provider({
    idGenerator: FIXED_TRACE_ID,
    resource: resourceFromAttributes({ 'service.name': 'softphone' }),
    spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)],
  });
  return { client, exporter, provider, tracer: provider.getTracer('softphone') };
}

/** Records `CallAccepted` at T1 on a span started under `withCifSession(CALL)`. */
function recordAcceptedInSession(tracer: Tracer): void {
  withCifSession(CALL, () => {
    const span = tracer.startSpan('accept');
    recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
    span.end();
  });
}

describe('CifSessionSpanProcessor with the OpenTelemetry SDK', () => {
  let provider: Provider | undefined;
  afterEach(async () => {
    await provider?.shutdown();
    provider = undefined;
    context.disable();
    diag.disable();
  });

  it('stamps nothing without a context manager, as in Node with none registered: the KPI events drop as missing_identity', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client });
    provider = new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('softphone');
    recordAcceptedInSession(tracer);
    await provider.forceFlush();
    expect([client.calls, exporter.getStats().dropped.missing_identity]).to.deep.equal([[], 1]);
  });

  const contexts = [
    [BasicTracerProvider, () => new AsyncLocalStorageContextManager()],
    [WebTracerProvider, () => new StackContextManager()],
  ] as const;
  contexts.forEach(([Provider, makeContextManager]) =>
    it(`stamps the session on a span and its child spans started under withCifSession (${Provider.name}, ${makeContextManager().constructor.name})`, async () => {
      const s = setup(Provider, makeContextManager());
      provider = s.provider;
      const { client, tracer } = s;
      const { call, child } = withCifSession({ ...CALL, participantId: 'agent-7' }, () =>
        tracer.startActiveSpan('inbound call', (call) => {
          const child = tracer.startSpan('accept');
          recordKpiEvent(child, 'CallAccepted', { notificationResponseAction: 'accepted' }, new Date(T1));
          child.end();
          recordKpiEvent(call, 'CallEnded', undefined, new Date(T2));
          call.end();
          return { call, child };
        }),
      );
      await provider.forceFlush();

      expect((child as unknown as ReadableSpan).parentSpanContext?.spanId).to.equal(call.spanContext().spanId);
      const data = { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' };
      expect(client.calls).to.deep.equal([
        {
          data: {
            ...data,
            events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, notificationResponseAction: 'accepted' }],
          },
          eventName: 'CallAccepted',
          correlationId: TRACE_GUID,
        },
        {
          data: { ...data, events: [{ kpiEventName: 'CallEnded', eventTimestamp: T2 }] },
          eventName: 'CallEnded',
          correlationId: TRACE_GUID,
        },
      ]);
    }),
  );

  it("stamps the session as well when it comes after the exporter's processor in the provider", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const client = new RecordingCifClient();
    provider = new BasicTracerProvider({
      idGenerator: FIXED_TRACE_ID,
      spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter({ client })), new CifSessionSpanProcessor()],
    });
    const tracer = provider.getTracer('softphone');
    recordAcceptedInSession(tracer);
    await provider.forceFlush();
    expect(client.calls).to.deep.equal([
      { data: { ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }, eventName: 'CallAccepted', correlationId: TRACE_GUID },
    ]);
  });

  it('stamps the session on spans started after an await with AsyncLocalStorageContextManager', async () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = await withCifSession(CALL, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const span = s.tracer.startSpan('after await');
      span.end();
      return span;
    });
    expect(attributesOf(span)).to.deep.equal(IDENTITY_ATTRIBUTES);
  });

  it('loses the session after an await with StackContextManager, but not on spans started before it', async () => {
    const s = setup(WebTracerProvider, new StackContextManager());
    provider = s.provider;
    const [before, after] = await withCifSession(CALL, async () => {
      const before = s.tracer.startSpan('before await');
      await Promise.resolve();
      const after = s.tracer.startSpan('after await');
      recordKpiEvent(before, 'CallHold', undefined, new Date(T1));
      recordKpiEvent(after, 'CallUnhold', undefined, new Date(T2));
      before.end();
      after.end();
      return [before, after] as const;
    });
    await s.provider.forceFlush();
    expect([attributesOf(before), attributesOf(after)]).to.deep.equal([IDENTITY_ATTRIBUTES, {}]);
    expect(s.client.calls.map((c) => c.data)).to.deep.equal([
      { ...CALL, events: [{ kpiEventName: 'CallHold', eventTimestamp: T1 }] },
    ]);
    expect(s.exporter.getStats().dropped.missing_identity).to.equal(1);
  });

  it('keeps the session across an await with StackContextManager when the context is passed explicitly', async () => {
    const s = setup(WebTracerProvider, new StackContextManager());
    provider = s.provider;
    const [explicit, bound] = await withCifSession(CALL, async () => {
      const ctx = context.active();
      const startBound = context.bind(ctx, () => s.tracer.startSpan('bound'));
      await Promise.resolve();
      return [s.tracer.startSpan('explicit', {}, ctx), startBound()] as const;
    });
    explicit.end();
    bound.end();
    expect([attributesOf(explicit), attributesOf(bound)]).to.deep.equal([IDENTITY_ATTRIBUTES, IDENTITY_ATTRIBUTES]);
  });

  it('never overwrites an attribute the span was started with', () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = withCifSession({ ...CALL, participantId: 'agent-7' }, () =>
      s.tracer.startSpan('transfer', { attributes: { 'cif.conversation.id': 'conv-explicit', 'cif.participant.id': 'agent-own' } }),
    );
    span.end();
    expect(attributesOf(span)).to.deep.equal({
      'cif.conversation.id': 'conv-explicit',
      'cif.participant.id': 'agent-own',
      'cif.provider_session.id': 'prov-1',
    });
  });

  it('fills an id the span was started with as an empty string, which the mapping reads as absent', () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = withCifSession(CALL, () => s.tracer.startSpan('transfer', { attributes: { 'cif.conversation.id': '' } }));
    span.end();
    expect(attributesOf(span)).to.deep.equal({ 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' });
  });

  it('lets an attribute set after the start win over the session', () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = withCifSession(CALL, () => s.tracer.startSpan('call'));
    span.setAttribute('cif.provider_session.id', 'prov-later');
    span.end();
    expect(attributesOf(span)).to.deep.equal({ 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-later' });
  });

  it('stamps the merged session of nested withCifSession calls', () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = withCifSession(CALL, () =>
      withCifSession({ providerSessionId: 'prov-2', clientSessionId: 'tab-2' }, () => s.tracer.startSpan('consult')),
    );
    span.end();
    expect(attributesOf(span)).to.deep.equal({
      'cif.conversation.id': 'conv-1',
      'cif.provider_session.id': 'prov-2',
      'cif.client_session.id': 'tab-2',
    });
  });

  it("counts the KPI events of a nested session whose id is invalid, never sending them with the enclosing call's id in its place", async () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const messages = captureDiag();
    withCifSession(CALL, () =>
      // A telephony SDK's numeric call id, for a second call handled inside the first call's context.
      withCifSession({ conversationId: 'conv-2', providerSessionId: 4711 } as unknown as CifSession, () => {
        const span = s.tracer.startSpan('second call');
        recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
        span.end();
      }),
    );
    await provider.forceFlush();
    expect(s.client.calls).to.deep.equal([]);
    expect(s.exporter.getStats().dropped).to.include({ missing_identity: 1 });
    expect(messages).to.have.length(2);
    expect(messages[0]).to.match(/`session.providerSessionId` must be a string of at most 100 characters \(got 4711\)/);
    expect(messages[1]).to.match(/span 'second call' has no cif\.provider_session\.id\./);
  });

  it("stamps none of the ids on a span already at its attributeCountLimit, whose KPI events then drop as missing_identity unless the session option has them", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const bare = new RecordingCifClient();
    const withOption = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client: bare });
    const messages = captureDiag();
    provider = new BasicTracerProvider({
      spanLimits: { attributeCountLimit: 2 },
      spanProcessors: [
        new CifSessionSpanProcessor(),
        new SimpleSpanProcessor(exporter),
        new SimpleSpanProcessor(new CifSpanExporter({ client: withOption, session: CALL })),
      ],
    });
    withCifSession(CALL, () => {
      const span = provider!.getTracer('softphone').startSpan('call', { attributes: { 'call.queue': 'billing', 'call.kind': 'inbound' } });
      recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    expect(bare.calls).to.deep.equal([]);
    expect(exporter.getStats().dropped.missing_identity).to.equal(1);
    expect(exporter.getStats().droppedFields.sdk_attribute_limit).to.equal(2);
    const fieldsLost = 'opentelemetry-exporter-cif Fields lost: the SDK dropped attributes over spanLimits.attribute*CountLimit, or of a type it does not keep. Counted in getStats().droppedFields.sdk_attribute_limit; shown once.';
    // The ids' warning from the exporter without them; the SDK's drop from both exporters. The
    // processor's own warning that the SDK did not keep an id is once per page: the first test to stamp such a span has it.
    expect(messages.filter((message) => !message.includes('The SDK did not keep'))).to.deep.equal([
      "opentelemetry-exporter-cif KPI events dropped: span 'call' has no cif.conversation.id and cif.provider_session.id. Counted in getStats().dropped.missing_identity; shown once.",
      fieldsLost,
      fieldsLost,
    ]);
    expect(withOption.payloads()).to.deep.equal([{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }]);
  });

  it('reads the session from the parent context the span is started in, not only the active one', () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = s.tracer.startSpan('call', {}, setCifSession(context.active(), CALL));
    span.end();
    expect(attributesOf(span)).to.deep.equal(IDENTITY_ATTRIBUTES);
  });

  it('leaves spans started outside any session untouched, so they stay out of CIF', async () => {
    const s = setup(BasicTracerProvider, new AsyncLocalStorageContextManager());
    provider = s.provider;
    const span = s.tracer.startSpan('GET /crm');
    span.addEvent('click');
    span.end();
    await provider.forceFlush();
    expect(attributesOf(span)).to.deep.equal({});
    expect(s.client.calls).to.deep.equal([]);
    expect(s.exporter.getStats()).to.include({ spansSeen: 1, cifSpans: 0 });
  });

  it('sends no KPI events for the network timing events of an instrumented request under the session', async () => {
    const s = setup(WebTracerProvider, new StackContextManager());
    provider = s.provider;
    withCifSession(CALL, () => {
      // What the fetch and XHR instrumentations record on their spans.
      const request = s.tracer.startSpan('HTTP GET');
      const start = performance.now();
      addSpanNetworkEvents(request, {
        fetchStart: start,
        domainLookupStart: start + 1,
        domainLookupEnd: start + 2,
        connectStart: start + 3,
        secureConnectionStart: start + 4,
        connectEnd: start + 5,
        requestStart: start + 6,
        responseStart: start + 7,
        responseEnd: start + 8,
      });
      recordKpiEvent(request, 'CrmLookupDone', undefined, new Date(T1));
      request.end();
    });
    await s.provider.forceFlush();
    expect(s.client.calls.map((c) => c.data)).to.deep.equal([
      { ...CALL, events: [{ kpiEventName: 'CrmLookupDone', eventTimestamp: T1 }] },
    ]);
    expect(s.exporter.getStats()).to.include({ cifSpans: 1, kpiEventsSent: 1 });
  });
});

describe('CifSessionSpanProcessor', () => {
  afterEach(() => diag.disable());

  it('type-checks as the SDK SpanProcessor, and flushes and shuts down at once', async () => {
    const processor: SpanProcessor = new CifSessionSpanProcessor();
    const settled: unknown[] = [];
    processor.forceFlush().then((value) => settled.push(['forceFlush', value]));
    processor.shutdown().then((value) => settled.push(['shutdown', value]));
    // Resolved before any timer or I/O callback could run: nothing was waited for.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).to.deep.equal([
      ['forceFlush', undefined],
      ['shutdown', undefined],
    ]);
  });

  it('leaves a span that already carries a session attribute as it is, and adds the others', () => {
    const stamped: Array<[string, unknown]> = [];
    const span: CifStartingSpan = {
      attributes: { 'cif.conversation.id': 'conv-own' },
      setAttribute: (key, value) => stamped.push([key, value]),
    };
    const ctx = setCifSession(context.active(), { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' });
    new CifSessionSpanProcessor().onStart(span, ctx);
    expect(stamped).to.deep.equal([
      ['cif.provider_session.id', 'prov-1'],
      ['cif.participant.id', 'agent-7'],
    ]);
  });

  it('never throws into the span start, and reports through diag when a span cannot take attributes', () => {
    const messages = captureDiag();
    const span: CifStartingSpan = {
      attributes: {},
      setAttribute() {
        throw new Error('span is frozen');
      },
    };
    const ctx: Context = setCifSession(context.active(), { conversationId: 'conv-1' } satisfies CifSession);
    expect(() => new CifSessionSpanProcessor().onStart(span, ctx)).not.to.throw();
    expect(messages).to.have.length(1);
    expect(messages[0]).to.match(/^opentelemetry-exporter-cif could not stamp the CIF session on a span.*span is frozen/);
  });

  it('leaves a span started outside any CIF session untouched, and says nothing', () => {
    const messages = captureDiag();
    const stamped: unknown[] = [];
    const span: CifStartingSpan = { attributes: {}, setAttribute: (key) => stamped.push(key) };
    new CifSessionSpanProcessor().onStart(span, context.active());
    expect(stamped).to.deep.equal([]);
    expect(messages).to.deep.equal([]);
  });
});

function attributesOf(span: unknown): Record<string, unknown> {
  const { attributes } = span as { attributes: Record<string, unknown> };
  return Object.fromEntries(Object.entries(attributes).filter(([key]) => key.startsWith('cif.')));
}
