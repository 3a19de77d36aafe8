import { context, diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { StackContextManager, WebTracerProvider } from '@opentelemetry/sdk-trace-web';
import { expect } from 'chai';
import { CifSpanExporter, traceIdToGuid, type CifSpanExporterOptions } from '../src/index.js';
import { recordingClient } from './helpers/fake-client.js';
import { IDENTITY, event, makeSpan } from './helpers/spans.js';

function exportOnce(exporter: CifSpanExporter, spans: ReturnType<typeof makeSpan>[]): Promise<ExportResult[]> {
  return new Promise((resolve) => {
    const results: ExportResult[] = [];
    exporter.export(spans, (result) => {
      results.push(result);
      // Give a second callback the chance to show up before resolving.
      setTimeout(() => resolve(results), 5);
    });
  });
}

const T1 = '2026-11-25T10:15:30.123Z';

describe('CifSpanExporter with the OpenTelemetry SDK', () => {
  const providers: Array<{ shutdown(): Promise<void> }> = [];
  function setup(
    Provider: typeof BasicTracerProvider | typeof WebTracerProvider,
    processor: 'simple' | 'batch',
    options: CifSpanExporterOptions = {},
  ) {
    const client = recordingClient();
    const exporter = new CifSpanExporter({ client, ...options });
    const spanProcessor = processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
    const provider = new Provider({
      resource: resourceFromAttributes({ 'service.name': 'softphone', 'cif.participant.id': 'agent-7' }),
      spanProcessors: [spanProcessor],
    });
    providers.push(provider);
    return { client, exporter, provider, tracer: provider.getTracer('softphone') };
  }
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.shutdown()));
  });

  const matrix = [
    [BasicTracerProvider, 'simple'],
    [BasicTracerProvider, 'batch'],
    [WebTracerProvider, 'simple'],
    [WebTracerProvider, 'batch'],
  ] as const;
  matrix.forEach(([Provider, processor]) =>
    it(`sends the KPI events of a call span through ${Provider.name} and a ${processor} span processor`, async () => {
      const { client, provider, tracer } = setup(Provider, processor);
      const span = tracer.startSpan('inbound call', {
        attributes: { ...IDENTITY, 'cif.kpi.reason': 'inbound' },
      });
      span.addEvent('CallAccepted', { 'cif.kpi.notification_response_action': 'accepted' }, new Date(T1));
      span.addEvent('CallHold', { 'cif.kpi.reason': 'customer asked' }, new Date('2026-11-25T10:16:00.000Z'));
      tracer.startSpan('GET /crm').end();
      span.end();
      await provider.forceFlush();

      const correlationId = traceIdToGuid(span.spanContext().traceId);
      const identity = { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7' };
      expect(client.calls).to.deep.equal([
        {
          data: {
            ...identity,
            events: [
              {
                kpiEventName: 'CallAccepted',
                eventTimestamp: T1,
                kpiEventReason: 'inbound',
                notificationResponseAction: 'accepted',
              },
            ],
          },
          eventName: 'CallAccepted',
          correlationId,
        },
        {
          data: {
            ...identity,
            events: [
              { kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:16:00.000Z', kpiEventReason: 'customer asked' },
            ],
          },
          eventName: 'CallHold',
          correlationId,
        },
      ]);
    }),
  );

  it('sends JSON text when dataFormat is json', async () => {
    const { client, provider, tracer } = setup(BasicTracerProvider, 'simple', { dataFormat: 'json' });
    const span = tracer.startSpan('call', { attributes: IDENTITY });
    span.addEvent('CallAccepted', {}, new Date(T1));
    span.end();
    await provider.forceFlush();
    expect(client.calls).to.have.length(1);
    expect(JSON.parse(client.calls[0]!.data as string)).to.deep.equal({
      conversationId: 'conv-1',
      providerSessionId: 'prov-1',
      participantId: 'agent-7',
      events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }],
    });
  });

  it('implements the SDK SpanExporter interface', () => {
    const exporter: SpanExporter = new CifSpanExporter({ client: recordingClient() });
    expect(exporter.forceFlush).to.be.a('function');
  });
});

describe('CifSpanExporter results', () => {
  afterEach(() => diag.disable());

  it('calls back SUCCESS once for an empty batch, without calling the host', async () => {
    const client = recordingClient();
    const exporter = new CifSpanExporter({ client });
    expect(await exportOnce(exporter, [])).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls).to.have.length(0);
  });

  it('calls back SUCCESS once without calling the host when no span is a CIF span', async () => {
    const client = recordingClient();
    const exporter = new CifSpanExporter({ client });
    const results = await exportOnce(exporter, [makeSpan({ events: [event('click', T1)] })]);
    expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
    expect(client.calls).to.have.length(0);
    expect(exporter.getStats()).to.include({ spansSeen: 1, cifSpans: 0, callsMade: 0 });
  });

  const rejections: Array<[string, () => Promise<string>, string]> = [
    ['an Error', () => Promise.reject(new Error('Provider not active')), 'Provider not active'],
    ['a Map holding message', () => Promise.reject(new Map([['message', 'Not allowed']])), 'Not allowed'],
    ['a string', () => Promise.reject('host busy'), 'host busy'],
    [
      'a synchronous throw',
      () => {
        throw new Error('sync failure');
      },
      'sync failure',
    ],
  ];
  rejections.forEach(([what, answer, message]) =>
    it(`calls back FAILED once with a readable Error when the host answers with ${what}`, async () => {
      const exporter = new CifSpanExporter({ client: recordingClient(answer) });
      const span = makeSpan({ attributes: IDENTITY, events: [event('A', T1), event('B', T1)] });
      const results = await exportOnce(exporter, [span]);
      expect(results).to.have.length(1);
      expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
      expect(results[0]!.error).to.be.instanceOf(Error);
      expect(results[0]!.error!.message).to.equal(`2 of 2 logAnalyticsEvent calls failed: ${message}`);
      expect(exporter.getStats()).to.include({ callsMade: 2, callsFailed: 2, kpiEventsSent: 2 });
      expect(exporter.getStats().dropped.host_error).to.equal(2);
    }),
  );

  it('fails with "CIF library not loaded" when there is no client and no Microsoft.CIFramework', async () => {
    const exporter = new CifSpanExporter();
    const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error!.message).to.match(/CIF library not loaded/);
    expect(exporter.getStats().dropped.cif_not_loaded).to.equal(1);
    expect(exporter.getStats().callsMade).to.equal(0);
  });

  it('uses Microsoft.CIFramework when it appears after the exporter was created', async () => {
    const exporter = new CifSpanExporter();
    const client = recordingClient();
    (globalThis as Record<string, unknown>)['Microsoft'] = { CIFramework: client };
    try {
      const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
      expect(results).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
      expect(client.calls).to.have.length(1);
    } finally {
      delete (globalThis as Record<string, unknown>)['Microsoft'];
    }
  });

  it('fails every export after shutdown, counting its KPI events as dropped', async () => {
    const client = recordingClient();
    const exporter = new CifSpanExporter({ client });
    await exporter.shutdown();
    await exporter.shutdown();
    const results = await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
    expect(results[0]!.error!.message).to.equal('CifSpanExporter is shut down');
    expect(client.calls).to.have.length(0);
    expect(exporter.getStats().dropped.after_shutdown).to.equal(1);
  });

  it('waits in forceFlush and shutdown for calls still in flight', async () => {
    let answer!: (value: string) => void;
    const exporter = new CifSpanExporter({ client: recordingClient(() => new Promise((r) => (answer = r))) });
    const done: ExportResult[] = [];
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })], (r) => done.push(r));
    let flushed = false;
    const flush = exporter.forceFlush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(flushed).to.equal(false);
    answer('ok');
    await flush;
    expect(done).to.deep.equal([{ code: ExportResultCode.SUCCESS }]);
  });

  it('never throws out of export, even when handed something that is not an array', async () => {
    const exporter = new CifSpanExporter({ client: recordingClient() });
    const results: ExportResult[] = [];
    expect(() => exporter.export(null as never, (r) => results.push(r))).to.not.throw();
    expect(results).to.have.length(1);
    expect(results[0]!.code).to.equal(ExportResultCode.FAILED);
  });

  it('survives a result callback that throws', async () => {
    const exporter = new CifSpanExporter({ client: recordingClient() });
    const span = makeSpan({ attributes: IDENTITY, events: [event('A', T1)] });
    let called = 0;
    exporter.export([span], () => {
      called++;
      throw new Error('callback bug');
    });
    await exporter.forceFlush();
    await new Promise((r) => setTimeout(r, 5));
    expect(called).to.equal(1);
  });

  it('warns once through diag, not once per span, when identity is missing', async () => {
    const warnings: string[] = [];
    const logger: DiagLogger = {
      error: () => {},
      warn: (...args: unknown[]) => warnings.push(args.join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    };
    diag.setLogger(logger, DiagLogLevel.WARN);
    const exporter = new CifSpanExporter({ client: recordingClient() });
    const orphan = () => makeSpan({ attributes: { 'cif.kpi.reason': 'x' }, events: [event('A', T1)] });
    await exportOnce(exporter, [orphan(), orphan()]);
    await exportOnce(exporter, [orphan()]);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/no conversation id or provider session id.*dropped\.missing_identity/);
    expect(exporter.getStats().dropped.missing_identity).to.equal(3);
  });

  it('calls the host with tracing suppressed, so instrumentation never traces the exporter', async () => {
    const contextManager = new StackContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const inner = recordingClient();
    let innerSpanRecording: boolean | undefined;
    const provider = new BasicTracerProvider({ spanProcessors: [] });
    const client = recordingClient(() => {
      innerSpanRecording = provider.getTracer('host').startSpan('postMessage').isRecording();
      return inner.logAnalyticsEvent({ conversationId: '', providerSessionId: '', events: [] }, 'x');
    });
    const exporter = new CifSpanExporter({ client });
    try {
      await exportOnce(exporter, [makeSpan({ attributes: IDENTITY, events: [event('A', T1)] })]);
      expect(innerSpanRecording).to.equal(false);
    } finally {
      context.disable();
    }
  });
});
