import { logs } from '@opentelemetry/api-logs';
import { context, diag, DiagLogLevel, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, setCifSession, withCifSession, type CifKpiEventDetails } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent, type CifEmitKpiEventOptions, type CifLogger } from '../../src/logs.js';
import { RecordingCifClient, type RecordedCifCall } from '../../src/testing/index.js';
import { captureDiag, captureLevels, installThrowingDiag } from '../helpers/diag.js';
import { FIXED_TRACE_ID, TRACE_ID } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';

describe('emitKpiEvent', () => {
  let provider: LoggerProvider;
  let memory: InMemoryLogRecordExporter;
  beforeEach(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    memory = new InMemoryLogRecordExporter();
    provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'softphone' }),
      processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: memory })],
    });
  });
  afterEach(async () => {
    await provider.shutdown();
    context.disable();
    diag.disable();
  });

  /** What the SDK exported: the parts of each record the exporter reads, and the body it must not send. */
  function emitted() {
    return memory.getFinishedLogRecords().map((r) => ({ eventName: r.eventName, attributes: r.attributes, body: r.body }));
  }

  const detailCases: Array<[string, CifKpiEventDetails | undefined, Record<string, unknown>]> = [
    ['no details', undefined, {}],
    [
      'every detail',
      {
        reason: 'inbound',
        additionalData: '{"queue":"billing"}',
        notificationResponseAction: 'accepted',
        externalCorrelationId: 'ext-42',
        customData: { msdyn_customattribute1: 'billing', msdyn_customattribute2: 7, msdyn_customattribute3: true },
      },
      {
        'cif.kpi.reason': 'inbound',
        'cif.kpi.additional_data': '{"queue":"billing"}',
        'cif.kpi.notification_response_action': 'accepted',
        'cif.kpi.external_correlation_id': 'ext-42',
        'cif.kpi.custom.msdyn_customattribute1': 'billing',
        'cif.kpi.custom.msdyn_customattribute2': 7,
        'cif.kpi.custom.msdyn_customattribute3': true,
      },
    ],
    ['only a reason', { reason: 'customer asked' }, { 'cif.kpi.reason': 'customer asked' }],
    ['details that are not an object', 'oops' as unknown as CifKpiEventDetails, {}],
    ['null details', null as unknown as CifKpiEventDetails, {}],
  ];
  detailCases.forEach(([what, details, attributes]) =>
    it(`emits one log-based event named by its KPI event, with cif.kpi.name and no body, given ${what}, saying nothing`, () => {
      const messages = captureDiag();
      emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', details);
      expect(emitted()).to.deep.equal([{ eventName: 'CallAccepted', attributes: { 'cif.kpi.name': 'CallAccepted', ...attributes }, body: undefined }]);
      expect(messages).to.deep.equal([]);
    }),
  );

  it('stamps the record at the time option', () => {
    emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', undefined, { time: new Date(T1) });
    expect(memory.getFinishedLogRecords().map((r) => r.hrTime)).to.deep.equal([millisToHrTime(Date.parse(T1))]);
  });

  it('emits in the context option: its span gives the trace id and its CIF session the ids', () => {
    const spanContext = { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
    const ctx = setCifSession(trace.setSpanContext(ROOT_CONTEXT, spanContext), { conversationId: 'conv-1', providerSessionId: 'prov-1' });
    emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', undefined, { context: ctx });
    const [record] = memory.getFinishedLogRecords();
    expect(record!.spanContext).to.deep.equal(spanContext);
    expect(record!.attributes).to.deep.equal({ 'cif.kpi.name': 'CallAccepted', 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' });
  });

  it('emits in the active context by default, linking the record to the active span', async () => {
    const tracerProvider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID });
    try {
      const span = tracerProvider.getTracer('softphone').startActiveSpan('inbound call', (span) => {
        emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted');
        span.end();
        return span;
      });
      const [record] = memory.getFinishedLogRecords();
      expect(record!.spanContext?.traceId).to.equal(TRACE_ID);
      expect(record!.spanContext?.spanId).to.equal(span.spanContext().spanId);
    } finally {
      await tracerProvider.shutdown();
    }
  });

  it('takes a context option of null, from an untyped caller, as none: the active span and its session both', async () => {
    const tracerProvider = new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID });
    try {
      withCifSession({ conversationId: 'conv-1', providerSessionId: 'prov-1' }, () =>
        tracerProvider.getTracer('softphone').startActiveSpan('inbound call', (span) => {
          emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', undefined, { context: null } as unknown as CifEmitKpiEventOptions);
          span.end();
        }),
      );
      const [record] = memory.getFinishedLogRecords();
      expect(record!.spanContext?.traceId).to.equal(TRACE_ID);
      expect(record!.attributes).to.deep.equal({ 'cif.kpi.name': 'CallAccepted', 'cif.conversation.id': 'conv-1', 'cif.provider_session.id': 'prov-1' });
    } finally {
      await tracerProvider.shutdown();
    }
  });

  it('emits a record with no span context outside any span', () => {
    emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted');
    expect(memory.getFinishedLogRecords()[0]!.spanContext).to.equal(undefined);
  });

  const noLoggers: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['an object without emit', {}],
    ['an object whose emit is not a function', { emit: 'no' }],
  ];
  noLoggers.forEach(([what, logger]) =>
    it(`says so and emits nothing, without throwing, when the logger is ${what}`, () => {
      const lines = captureLevels();
      expect(() => emitKpiEvent(logger as CifLogger, 'CallAccepted')).not.to.throw();
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^(warn|debug) KPI event 'CallAccepted' not emitted: there is no logger to emit it with/);
    }),
  );

  it('warns of the first KPI event with no logger to emit it with, and tells the later ones at DEBUG', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const url = new URL(`../../src/recording/emit-kpi-event.ts?absent-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { emitKpiEvent: typeof emitKpiEvent };
    const lines = captureLevels();
    for (const name of ['CallAccepted', 'CallHold']) copy.emitKpiEvent(undefined, name);
    expect(lines).to.deep.equal([
      "warn KPI event 'CallAccepted' not emitted: there is no logger to emit it with. Shown once.",
      "debug KPI event 'CallHold' not emitted: there is no logger to emit it with.",
    ]);
  });

  const droppingLoggers: Array<[string, () => Promise<CifLogger>]> = [
    ["the logs API's proxy logger, taken before any LoggerProvider is registered", async () => logs.getLogger('softphone')],
    [
      'of a LoggerProvider shut down',
      async () => {
        const logger = provider.getLogger('softphone');
        await provider.shutdown();
        return logger;
      },
    ],
  ];
  droppingLoggers.forEach(([what, take]) =>
    it(`says the KPI event is lost, without throwing, when the logger is ${what}`, async () => {
      const logger = await take();
      const messages = captureDiag(DiagLogLevel.DEBUG);
      expect(() => emitKpiEvent(logger, 'CallAccepted')).not.to.throw();
      expect(messages.filter((m) => m.includes("KPI event 'CallAccepted' lost: its logger is not enabled"))).to.have.length(1);
      expect(emitted()).to.deep.equal([]);
    }),
  );

  it('warns of the first KPI event lost to a logger not enabled, and tells the later ones at DEBUG', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const url = new URL(`../../src/recording/emit-kpi-event.ts?copy-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { emitKpiEvent: typeof emitKpiEvent };
    const logger = logs.getLogger('softphone');
    const lines = captureLevels();
    copy.emitKpiEvent(logger, 'CallAccepted');
    copy.emitKpiEvent(logger, 'CallEnded');
    expect(lines).to.deep.equal([
      "warn KPI event 'CallAccepted' lost: its logger is not enabled: no LoggerProvider is registered, or it is shut down or filters the record out. Shown once.",
      "debug KPI event 'CallEnded' lost: its logger is not enabled.",
    ]);
  });

  it("sends through the logs API's proxy logger, saying nothing, once a LoggerProvider is registered after the logger was taken", () => {
    const logger = logs.getLogger('softphone');
    logs.setGlobalLoggerProvider(provider);
    try {
      const messages = captureDiag(DiagLogLevel.DEBUG);
      emitKpiEvent(logger, 'CallAccepted');
      expect(emitted().map((r) => r.eventName)).to.deep.equal(['CallAccepted']);
      expect(messages.filter((m) => m.includes('opentelemetry-exporter-cif'))).to.deep.equal([]);
    } finally {
      logs.disable();
    }
  });

  it('takes a logger without enabled() as keeping the record, and says nothing', () => {
    const records: unknown[] = [];
    const messages = captureDiag(DiagLogLevel.DEBUG);
    emitKpiEvent({ emit: (record: unknown) => void records.push(record) }, 'CallAccepted');
    expect(records).to.have.length(1);
    expect(messages.filter((m) => m.includes('opentelemetry-exporter-cif'))).to.deep.equal([]);
  });

  it('takes a logger whose enabled throws as keeping the record, and says nothing', () => {
    const records: unknown[] = [];
    const logger = {
      emit: (record: unknown) => void records.push(record),
      enabled: (): boolean => {
        throw new Error('logger bug');
      },
    };
    const messages = captureDiag(DiagLogLevel.DEBUG);
    emitKpiEvent(logger, 'CallAccepted');
    expect(records).to.have.length(1);
    expect(messages.filter((m) => m.includes('opentelemetry-exporter-cif'))).to.deep.equal([]);
  });

  it('says at error level, without throwing, when the logger throws', () => {
    const messages = captureDiag();
    const logger: CifLogger = {
      emit: () => {
        throw new Error('logger shut down badly');
      },
    };
    expect(() => emitKpiEvent(logger, 'CallAccepted')).not.to.throw();
    expect(messages).to.have.length(1);
    expect(messages[0]).to.include("KPI event 'CallAccepted' may not be emitted");
    expect(messages[0]).to.include('logger shut down badly');
  });

  const hostileLoggers: Array<[string, () => unknown]> = [
    ['a Proxy whose every read throws', () => new Proxy({}, { get: () => { throw new Error('logger trap'); } })],
    ['a revoked Proxy', () => {
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      return revocable.proxy;
    }],
  ];
  hostileLoggers.forEach(([what, logger]) =>
    it(`says at error level, without throwing, when the logger is ${what}`, () => {
      const messages = captureDiag();
      expect(() => emitKpiEvent(logger() as CifLogger, 'CallAccepted')).not.to.throw();
      expect(messages).to.have.length(1);
      expect(messages[0]).to.include("KPI event 'CallAccepted' not emitted");
    }),
  );

  it('does not throw when the name cannot be written as a string, with or without a logger', () => {
    const messages = captureLevels();
    const name = { toString: () => { throw new Error('toString trap'); } } as unknown as string;
    expect(() => emitKpiEvent(undefined, name)).not.to.throw();
    expect(() => emitKpiEvent({ emit: () => { throw new Error('boom'); } }, name)).not.to.throw();
    expect(messages).to.have.length(2);
    expect(messages[0]).to.include("KPI event 'object' not emitted: there is no logger to emit it with.");
    expect(messages[1]).to.include("KPI event 'object' may not be emitted");
  });

  it('does not throw when the logger and the installed diag logger both throw', () => {
    const restore = installThrowingDiag();
    try {
      expect(() => emitKpiEvent({ emit: () => { throw new Error('boom'); } }, 'CallAccepted')).not.to.throw();
      expect(() => emitKpiEvent(undefined, 'CallAccepted')).not.to.throw();
    } finally {
      restore();
    }
  });

  const hostileDetails: Array<[string, () => CifKpiEventDetails]> = [
    ['a reason getter that throws', () => Object.defineProperty({}, 'reason', { get: () => { throw new Error('reason trap'); } })],
    ['a customData getter that throws', () => Object.defineProperty({}, 'customData', { get: () => { throw new Error('customData trap'); } })],
    ['customData that is a revoked Proxy', () => {
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      return { customData: revocable.proxy as Record<string, string> };
    }],
  ];
  hostileDetails.forEach(([what, make]) =>
    it(`emits nothing and says why at error level, without throwing, given details with ${what}`, () => {
      const messages = captureDiag();
      expect(() => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', make())).not.to.throw();
      expect(emitted()).to.deep.equal([]);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.include("KPI event 'CallAccepted' not emitted");
    }),
  );
});

describe('recordKpiEvent and emitKpiEvent under one rule', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  const IDS = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

  /** Records one KPI event through each authoring API and its exporter, and reads what came out. */
  interface Recorded {
    calls: RecordedCifCall[];
    missing: number;
    invalid: number;
    /** What the exporter warned of. */
    warnings: string[];
  }

  /** Reads what one authoring API's exporter sent, counted and warned of; `diag` collects the warnings meanwhile. */
  const outcome = (client: RecordingCifClient, { dropped }: { dropped: { missing_kpi_name: number; invalid_timestamp: number } }, warnings: string[]): Recorded => {
    diag.disable();
    return { calls: client.calls, missing: dropped.missing_kpi_name, invalid: dropped.invalid_timestamp, warnings };
  };

  /** Records one KPI event (at `time`, by default T1) through each authoring API and its exporter, and reads what came out. */
  const sources: Array<[api: string, record: (name: string, time?: number) => Promise<Recorded>]> = [
    [
      'recordKpiEvent',
      async (name, time = Date.parse(T1)) => {
        const client = new RecordingCifClient();
        const exporter = new CifSpanExporter({ client });
        const warnings = captureDiag();
        const tracerProvider = new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] });
        withCifSession(IDS, () => {
          const span = tracerProvider.getTracer('softphone').startSpan('call');
          recordKpiEvent(span, name, undefined, time);
          span.end();
        });
        await tracerProvider.shutdown();
        return outcome(client, exporter.getStats(), warnings);
      },
    ],
    [
      'emitKpiEvent',
      async (name, time = Date.parse(T1)) => {
        const client = new RecordingCifClient();
        const exporter = new CifLogRecordExporter({ client });
        const warnings = captureDiag();
        const loggerProvider = new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] });
        withCifSession(IDS, () => emitKpiEvent(loggerProvider.getLogger('softphone'), name, undefined, { time }));
        await loggerProvider.shutdown();
        return outcome(client, exporter.getStats(), warnings);
      },
    ],
  ];
  sources.forEach(([api, record]) => {
    it(`sends a KPI event named exception recorded with ${api}`, async () => {
      const { calls, missing } = await record('exception');
      expect([calls.map((c) => [c.data, c.eventName]), missing]).to.deep.equal([
        [[{ ...IDS, events: [{ kpiEventName: 'exception', eventTimestamp: T1 }] }, 'exception']],
        0,
      ]);
    });

    it(`counts a KPI event with an empty name recorded with ${api} as missing_kpi_name`, async () => {
      const { calls, missing } = await record('');
      expect([calls, missing]).to.deep.equal([[], 1]);
    });

    it(`counts a KPI event given no name (undefined, as from an untyped caller) with ${api} as missing_kpi_name`, async () => {
      const { calls, missing } = await record(undefined as unknown as string);
      expect([calls, missing]).to.deep.equal([[], 1]);
    });

    it(`warns that a time in microseconds, taken for milliseconds, given to ${api} is one Dataverse cannot store`, async () => {
      // A valid date in the year 58870, which Dataverse cannot hold.
      const { calls, invalid, warnings } = await record('CallAccepted', Date.parse(T1) * 1000);
      expect([calls, invalid, warnings]).to.deep.equal([
        [],
        1,
        [`opentelemetry-exporter-cif KPI events dropped: ${api === 'recordKpiEvent' ? "span 'call'" : "log record 'CallAccepted'"} has 'CallAccepted' at a time Dataverse cannot store. Counted in getStats().dropped.invalid_timestamp; shown once.`],
      ]);
    });
  });
});
