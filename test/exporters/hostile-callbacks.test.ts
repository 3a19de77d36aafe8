/**
 * What the page hands the exporters that they cannot trust: option callbacks that change what they
 * are shown, answer with promises or throw, and a diag logger that answers with promises; and
 * drops a user follows at DEBUG, one line each.
 */
import { context, diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import {
  CifSessionSpanProcessor,
  CifSpanExporter,
  recordKpiEvent,
  withCifSession,
  type CifKpiEvent,
} from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { payloadOf } from '../../src/testing/recording-client.js';
import { captureLevels } from '../helpers/diag.js';
import { FIXED_TRACE_ID, TRACE_GUID, event, makeSpan, IDENTITY } from '../helpers/spans.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { watchUnhandledRejections } from '../helpers/unhandled.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const T1 = '2026-11-25T10:15:30.123Z';

describe('option callbacks the page passes', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  /** A real tracer provider in front of `exporter`, with the session processor. */
  function tracerFor(exporter: CifSpanExporter) {
    const provider = shutDownAfterTest(
      new BasicTracerProvider({ idGenerator: FIXED_TRACE_ID, spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }),
    );
    return { provider, tracer: provider.getTracer('softphone') };
  }

  // Each changes the KPI event it is shown, as a widget might to namespace its KPI events, then answers or fails.
  const eventNames: Array<{ title: string; eventName: (kpiEvent: CifKpiEvent) => string; sentAs?: string; warned: string[] }> = [
    {
      title: 'answers from what it is shown',
      eventName: (kpiEvent) => {
        const name = `${kpiEvent.kpiEventName}/${kpiEvent.customData![0]!.value}`;
        kpiEvent.kpiEventName = `contoso.softphone.${kpiEvent.kpiEventName}`.repeat(5);
        kpiEvent.additionalData = 'x'.repeat(5000);
        kpiEvent.customData![0]!.value = 'y'.repeat(500);
        return name;
      },
      sentAs: 'CallAccepted/tier-2',
      warned: [],
    },
    {
      title: 'throws',
      eventName: (kpiEvent) => {
        kpiEvent.kpiEventName = `contoso.softphone.${kpiEvent.kpiEventName}`.repeat(5);
        throw new Error('eventName bug');
      },
      warned: ['warn The `eventName` callback threw: eventName bug; its default was used. Counted in getStats().callbackErrors; shown once.'],
    },
    {
      title: 'returns an empty string',
      eventName: (kpiEvent) => {
        (kpiEvent as unknown as Record<string, unknown>)['kpiEventName'] = 42;
        return '';
      },
      warned: ['warn The `eventName` callback returned an empty string; its default was used. Counted in getStats().callbackErrors; shown once.'],
    },
  ];
  eventNames.forEach(({ title, eventName, sentAs = 'CallAccepted', warned }) =>
    it(`sends the KPI event as mapped, under the name given or its own, when the eventName callback changes what it is shown and ${title}`, async () => {
      const lines = captureLevels();
      const client = new RecordingCifClient();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client, eventName }));
      const { provider, tracer } = tracerFor(exporter);
      withCifSession(CALL, () => {
        const span = tracer.startSpan('accept call');
        recordKpiEvent(span, 'CallAccepted', { customData: { msdyn_customattribute1: 'tier-2' } }, new Date(T1));
        span.end();
      });
      await provider.forceFlush();
      await exporter.forceFlush();
      // The callback changed a copy; a failed one's default reads the KPI event itself.
      expect(client.calls.map((call) => [call.eventName, payloadOf(call).events])).to.deep.equal([
        [sentAs, [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute1', value: 'tier-2' }] }]],
      ]);
      expect(exporter.getStats().callbackErrors).to.equal(warned.length);
      expect(lines).to.deep.equal(warned);
    }),
  );

  it('names the correlationId callback that failed, and sends the trace id as the GUID in its place', async () => {
    const lines = captureLevels();
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(
      new CifSpanExporter({
        client,
        correlationId: () => {
          throw new RangeError('no ticket id yet');
        },
      }),
    );
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], () => {});
    await exporter.forceFlush();
    expect(client.calls.map((call) => call.correlationId)).to.deep.equal([TRACE_GUID]);
    expect(lines).to.deep.equal(['warn The `correlationId` callback threw: no ticket id yet; its default was used. Counted in getStats().callbackErrors; shown once.']);
  });

  // A waiting call holds its correlationId: one such as `JSON.stringify(span.attributes)` of a large span would hold
  // more than any column of its payload, while the call waits.
  it('sends the trace id as the GUID in place of a correlationId answer over 100 characters, and keeps one of 100', async () => {
    const lines = captureLevels();
    const client = new RecordingCifClient();
    const answers = ['x'.repeat(101), 'y'.repeat(100)];
    const exporter = shutDownAfterTest(new CifSpanExporter({ client, correlationId: () => answers.shift()! }));
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] }), makeSpan({ attributes: IDENTITY, events: [event('CallEnded', T1)] })], () => {});
    await exporter.forceFlush();
    expect(client.calls.map((call) => call.correlationId)).to.deep.equal([TRACE_GUID, 'y'.repeat(100)]);
    expect(exporter.getStats().callbackErrors).to.equal(1);
    expect(lines).to.deep.equal(['warn The `correlationId` callback returned a string over 100 characters; its default was used. Counted in getStats().callbackErrors; shown once.']);
  });

  it('sends the ids it checked, whatever a correlationId callback does with the arguments it is given', async () => {
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(
      new CifLogRecordExporter({
        client,
        correlationId: ((_record: unknown, ...rest: unknown[]) => {
          // A generic helper that fills in whatever object it is handed.
          const extra = rest[0] as Record<string, unknown> | undefined;
          if (extra) extra['conversationId'] = 'y'.repeat(500);
          return 'c0ffee00-0000-4000-8000-000000000000';
        }) as (record: unknown) => string,
      }),
    );
    const provider = shutDownAfterTest(
      new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }),
    );
    withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', undefined, { time: new Date(T1) }));
    await provider.forceFlush();
    await exporter.forceFlush();
    // The ids are frozen: the write does nothing (a callback in strict code throws, and its default answers).
    expect(client.calls.map((call) => payloadOf(call).conversationId)).to.deep.equal(['conv-1']);
  });

  it("names a log record exporter's eventFilter that threw in its warning, and sends the record by the default", async () => {
    const lines = captureLevels();
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(
      new CifLogRecordExporter({
        client,
        eventFilter: () => {
          throw new Error('filter bug');
        },
      }),
    );
    const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
    withCifSession(CALL, () => emitKpiEvent(provider.getLogger('softphone'), 'CallAccepted', undefined, { time: new Date(T1) }));
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
    expect(lines).to.deep.equal(['warn The `eventFilter` callback threw: filter bug; its default was used. Counted in getStats().callbackErrors; shown once.']);
  });

  it('leaves no unhandled rejection in the page when an option callback is async and rejects, and says what it returned', async () => {
    const lines = captureLevels();
    const watch = watchUnhandledRejections();
    const client = new RecordingCifClient();
    const exporter = shutDownAfterTest(
      new CifSpanExporter({
        client,
        eventFilter: (async () => {
          throw new Error('eventFilter bug');
        }) as unknown as () => boolean,
      }),
    );
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], () => {});
    await exporter.forceFlush();
    const unhandled = await watch.stop();
    expect(exporter.getStats()).to.deep.include({ callbackErrors: 1, kpiEventsDelivered: 1 });
    expect(lines).to.deep.equal(['warn The `eventFilter` callback returned object, not boolean; its default was used. Counted in getStats().callbackErrors; shown once.']);
    expect(unhandled.map(String)).to.deep.equal([]);
  });

  it('says at DEBUG which option callback failed and what it threw', async () => {
    const lines = captureLevels();
    const exporter = shutDownAfterTest(
      new CifSpanExporter({
        client: new RecordingCifClient(),
        eventName: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'queue')");
        },
      }),
    );
    exporter.export([makeSpan({ attributes: IDENTITY, events: [event('CallAccepted', T1)] })], () => {});
    await exporter.forceFlush();
    expect(lines).to.deep.equal([
      "warn The `eventName` callback threw: Cannot read properties of undefined (reading 'queue'); its default was used. Counted in getStats().callbackErrors; shown once.",
    ]);
  });
});

describe('a diag logger that answers with promises', () => {
  afterEach(() => diag.disable());

  /**
   * A diag logger that sends the exporter's lines to a remote log sink and returns its promise,
   * which rejects while the sink is down (the API's own lines, which this library cannot catch, it keeps).
   */
  function installRemoteDiag(): void {
    const send = (namespace: unknown): Promise<void> | undefined =>
      namespace === 'opentelemetry-exporter-cif' ? Promise.reject(new Error('log sink unreachable')) : undefined;
    const logger: DiagLogger = { error: send, warn: send, info: send, debug: send, verbose: send };
    diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  }

  it('leaves no unhandled rejection in the page when the diag logger returns a promise that rejects, as recordKpiEvent warns', async () => {
    installRemoteDiag();
    const watch = watchUnhandledRejections();
    expect(() => recordKpiEvent(undefined, 'CallAccepted')).not.to.throw();
    const unhandled = await watch.stop();
    expect(unhandled.map(String)).to.deep.equal([]);
  });

  it('leaves no unhandled rejection in the page when the diag logger returns a promise that rejects, as an export warns', async () => {
    installRemoteDiag();
    const watch = watchUnhandledRejections();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    // No provider session id: the exporter warns, naming the span.
    exporter.export([makeSpan({ attributes: { 'cif.conversation.id': 'conv-1' }, events: [event('CallAccepted', T1)] })], () => {});
    await exporter.forceFlush();
    const unhandled = await watch.stop();
    expect(exporter.getStats().dropped.missing_identity).to.equal(1);
    expect(unhandled.map(String)).to.deep.equal([]);
  });
});

describe('each KPI event dropped for its time, at DEBUG', () => {
  beforeEach(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterEach(() => {
    context.disable();
    diag.disable();
  });

  it('names at DEBUG the span of each KPI event dropped for a time Dataverse cannot store, or says it cannot be read', async () => {
    const lines = captureLevels();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient() }));
    const spans = ['hold call', 'transfer call', 'unreadable'].map((name) =>
      makeSpan({ name, attributes: IDENTITY, events: [{ name: 'CallHold', time: [1_764_000_000_000_000, 0] }] }),
    );
    // A name that throws once read: the KPI event is still counted once, under its reason.
    Object.defineProperty(spans[2]!, 'name', {
      get() {
        throw new Error('revoked');
      },
    });
    exporter.export(spans, () => {});
    await exporter.forceFlush();
    expect(exporter.getStats().dropped).to.deep.include({ invalid_timestamp: 3, invalid_span: 0 });
    expect(lines.filter((line) => line.includes('invalid_timestamp'))).to.deep.equal([
      "warn KPI events dropped: span 'hold call' has 'CallHold' at a time Dataverse cannot store. Counted in getStats().dropped.invalid_timestamp; shown once.",
      "debug KPI events dropped: span 'transfer call' has 'CallHold' at a time Dataverse cannot store. Counted in getStats().dropped.invalid_timestamp.",
      "debug KPI events dropped: a source that cannot be read has 'CallHold' at a time Dataverse cannot store. Counted in getStats().dropped.invalid_timestamp.",
    ]);
  });

  it('names at DEBUG each log-based KPI event dropped for a time Dataverse cannot store', async () => {
    const lines = captureLevels();
    const exporter = shutDownAfterTest(new CifLogRecordExporter({ client: new RecordingCifClient() }));
    const provider = shutDownAfterTest(
      new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }),
    );
    const logger = provider.getLogger('softphone');
    // Microseconds taken for milliseconds, as a telephony SDK's timestamps may be.
    withCifSession(CALL, () => {
      emitKpiEvent(logger, 'CallHold', undefined, { time: 1_764_000_000_000_000 });
      emitKpiEvent(logger, 'CallResumed', undefined, { time: 1_764_000_060_000_000 });
    });
    await provider.forceFlush();
    await exporter.forceFlush();
    expect(exporter.getStats().dropped.invalid_timestamp).to.equal(2);
    const told = lines.filter((line) => line.includes('invalid_timestamp'));
    expect(
      ['CallHold', 'CallResumed'].map((name) => told.some((line) => line.includes(name))),
      `each KPI event named in ${JSON.stringify(told)}`,
    ).to.deep.equal([true, true]);
  });
});
