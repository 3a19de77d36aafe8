// Edges of the session processor beside a provider shut down, of dropped.sdk_event_limit for spans
// that are no CIF spans, of numbers given as `time`, of a timed-out call's DEBUG line and of export
// result callbacks answering with thenables: through the real trace and logs SDKs, wired as the README says.
import { context, diag, DiagLogLevel } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession } from '../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../src/logs.js';
import { RecordingCifClient } from '../src/testing/index.js';
import { captureLevels } from './helpers/diag.js';
import { hangs } from './helpers/fake-client.js';
import { unhandledRejectionsOf } from './helpers/unhandled.js';
import { shutDownAfterTest } from './helpers/shut-down.js';
import { IDENTITY } from './helpers/spans.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** A sampler that records spans for the page's own processors and samples none. */
const RECORD_ONLY: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' };

/** A tracer provider with `processor` (the session processor) first and its own exporter, sending each span as it ends. */
function provider(processor: CifSessionSpanProcessor, sampler?: Sampler) {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifSpanExporter({ client, outbox: false }));
  const tracers = shutDownAfterTest(new BasicTracerProvider({ ...(sampler && { sampler }), spanProcessors: [processor, new SimpleSpanProcessor(exporter)] }));
  return { client, exporter, provider: tracers, tracer: tracers.getTracer('softphone') };
}

describe('the session processor after its provider was shut down', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  // README: "Register it beside the processor of CifSpanExporter". One processor instance in two
  // providers (a widget's and its instrumentations'), one of them shut down, the other still
  // exporting; or, docs/page-lifecycle.md, a page restored from the back/forward cache whose widget
  // shut its provider down on pagehide and makes a new one on pageshow with its module-level processor.
  const liveBesideShutDown: Array<[what: string, live: (processor: CifSessionSpanProcessor) => Promise<ReturnType<typeof provider>>]> = [
    ['a live provider that shares the processor with one shut down', async (processor) => {
      const [first, second] = [provider(processor), provider(processor)];
      await first.provider.shutdown();
      return second;
    }],
    ['a new provider given the processor of one shut down on pagehide', async (processor) => {
      await provider(processor).provider.shutdown();
      return provider(processor);
    }],
  ];
  liveBesideShutDown.forEach(([what, live]) =>
    it(`does not say lost the KPI events of ${what}`, async () => {
      const widget = await live(new CifSessionSpanProcessor());
      const lines = captureLevels();
      withCifSession(CALL, () => {
        const span = widget.tracer.startSpan('call');
        recordKpiEvent(span, 'CallAccepted');
        span.end();
      });
      await widget.exporter.forceFlush();
      expect(widget.client.payloads().flatMap((data) => data.events).map((event) => event.kpiEventName), 'sent').to.deep.equal(['CallAccepted']);
      expect(lines.filter((line) => line.includes('lost'))).to.deep.equal([]);
    }),
  );

  // docs/session-context.md: the processor warns "unless `recordKpiEvent` said it".
  it('says once that the KPI event of an unsampled span of a shut-down provider is lost, recordKpiEvent having said it', async () => {
    const { provider: tracers, tracer } = provider(new CifSessionSpanProcessor(), RECORD_ONLY);
    await tracers.shutdown();
    const lines = captureLevels();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      recordKpiEvent(span, 'CallAccepted');
      span.end();
    });
    // Any level: recordKpiEvent's warning is once a page, later ones at DEBUG.
    expect(lines.filter((line) => line.includes('lost')), 'lines saying the KPI event is lost').to.have.length(1);
  });
});

describe('dropped.sdk_event_limit of spans that are no CIF spans', () => {
  afterEach(() => diag.disable());

  /** Spans the trace SDK ended, of a provider whose resource has the ids, none a CIF span: 'audio' with 129 plain events (one pushed off), 'quiet' with none. */
  function overLimit(): ReadableSpan[] {
    const memory = new InMemorySpanExporter();
    const tracers = new BasicTracerProvider({ resource: resourceFromAttributes(IDENTITY), spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = tracers.getTracer('another-library');
    const span = tracer.startSpan('audio');
    for (let i = 0; i < 129; i++) span.addEvent('audio level');
    span.end();
    tracer.startSpan('quiet').end();
    return memory.getFinishedSpans();
  }

  async function exportSpans(spans: ReadableSpan[]) {
    const lines = captureLevels();
    const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), outbox: false }));
    await new Promise((resolve) => exporter.export(spans, resolve));
    return { stats: exporter.getStats(), lines };
  }

  // Anything from outside the library is hostile input: a span of another library, handed over as a
  // wrapper whose fields cannot be read, is no CIF span, whatever the count of what the SDK dropped needs.
  for (const field of ['droppedEventsCount', 'resource']) {
    it(`leaves alone a span of another library whose ${field} cannot be read`, async () => {
      const spans = overLimit();
      Object.defineProperty(spans[0], field, { get: () => { throw new Error('a wrapper of another library'); } });
      const { stats, lines } = await exportSpans(spans);
      expect({ cifSpans: stats.cifSpans, invalid_span: stats.dropped.invalid_span }).to.deep.equal({ cifSpans: 0, invalid_span: 0 });
      expect(lines.filter((line) => line.includes('invalid_span'))).to.deep.equal([]);
    });
  }
});

describe('numbers given as time at their edges, both APIs', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  const T = Date.parse('2026-11-25T10:15:30.123Z');
  // Epoch milliseconds as docs/session-context.md has it, the rest of the millisecond dropped as
  // docs/mapping.md has it (before 1970 too: toward the earlier millisecond, where a Date rounds toward 1970); past Dataverse's range counted.
  const cases: Array<[what: string, time: number, sent: string | undefined]> = [
    ['half a millisecond', T + 0.5, '2026-11-25T10:15:30.123Z'],
    ['half a millisecond before 1800', Date.parse('1800-01-01T00:00:00.000Z') - 0.5, '1799-12-31T23:59:59.999Z'],
    ['Number.MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER, undefined],
    ['-1e300', -1e300, undefined],
  ];
  for (const [what, time, sent] of cases) {
    it(`sends or counts as invalid_timestamp a time of ${what} the same through recordKpiEvent and emitKpiEvent`, async () => {
      for (const api of ['recordKpiEvent', 'emitKpiEvent'] as const) {
        let client: RecordingCifClient;
        let exporter: CifSpanExporter | CifLogRecordExporter;
        if (api === 'recordKpiEvent') {
          const widget = provider(new CifSessionSpanProcessor());
          ({ client, exporter } = widget);
          withCifSession(CALL, () => {
            const span = widget.tracer.startSpan('call');
            recordKpiEvent(span, 'CallAccepted', undefined, time);
            span.end();
          });
          await exporter.forceFlush();
        } else {
          client = new RecordingCifClient();
          exporter = shutDownAfterTest(new CifLogRecordExporter({ client, outbox: false }));
          const loggers = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
          withCifSession(CALL, () => emitKpiEvent(loggers.getLogger('softphone'), 'CallAccepted', undefined, { time }));
          await loggers.forceFlush();
          await exporter.forceFlush();
        }
        const sentTimes = client.payloads().flatMap((data) => data.events).map((event) => event.eventTimestamp);
        expect({ sent: sentTimes, invalid_timestamp: exporter.getStats().dropped.invalid_timestamp }, api).to.deep.equal({ sent: sent ? [sent] : [], invalid_timestamp: sent ? 0 : 1 });
      }
    });
  }
});

describe("a timed-out call's DEBUG line", () => {
  afterEach(() => diag.disable());

  // docs/delivery.md: "with a timeoutMillis of 100 s or more, nothing is held; a page that slept
  // past it finds the slot free when it wakes". The DEBUG line says a call holds its slot.
  for (const [what, timeoutMillis, sleep] of [
    ['timeoutMillis of 120 s', 120_000, false],
    ['page that slept 200 s past the call', 15_000, true],
  ] as const) {
    it(`says no timed-out call holds its slot, nor a negative time, with a ${what}`, async () => {
      const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
      const lines: string[] = [];
      const keep = (...args: unknown[]) => lines.push(args.slice(1).map(String).join(' '));
      diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
      try {
        const exporter = new CifSpanExporter({ client: new RecordingCifClient({ answer: () => hangs() }), outbox: false, timeoutMillis });
        const tracers = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
        const span = tracers.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
        span.addEvent('CallAccepted');
        span.end();
        await clock.tickAsync(0);
        if (sleep) clock.jump(200_000);
        else await clock.tickAsync(timeoutMillis);
        await clock.tickAsync(0);
        expect(exporter.getStats()).to.include({ callsTimedOut: 1, callsAbandoned: 0 });
        expect(lines.filter((line) => line.includes('holds its slot'))).to.deep.equal([]);
        void tracers.shutdown();
        void exporter.shutdown();
        await clock.runAllAsync();
      } finally {
        clock.uninstall();
      }
    });
  }
});

describe('an export result callback that answers with a thenable', () => {
  afterEach(() => diag.disable());

  // The page's own callback (a test harness's, a wrapper processor's) may answer with a thenable
  // of another library: one whose then throws, or calls back twice, is told once through diag.
  const thenables: Array<[what: string, answer: () => unknown]> = [
    ['whose then throws', () => ({ then: () => { throw new Error('callback bug'); } })],
    ['whose then rejects twice', () => ({ then: (_: unknown, reject: (reason: unknown) => void) => { reject(new Error('callback bug')); reject(new Error('callback bug again')); } })],
    ['whose then cannot be read', () => ({ get then(): never { throw new Error('callback bug'); } })],
  ];
  for (const [what, answer] of thenables) {
    it(`tells once, and leaves no unhandled rejection, of a result callback answering with a thenable ${what}`, async () => {
      const lines = captureLevels();
      const exporter = shutDownAfterTest(new CifSpanExporter({ client: new RecordingCifClient(), outbox: false }));
      const spans = endedSpans();
      const unhandled = await unhandledRejectionsOf(async () => {
        exporter.export(spans, answer as () => void);
        await exporter.forceFlush();
        await new Promise((resolve) => setImmediate(resolve));
      });
      expect(lines.filter((line) => line.includes('export result callback threw'))).to.have.length(1);
      expect(lines.filter((line) => line.includes('callback bug again'))).to.deep.equal([]);
      expect(unhandled).to.deep.equal([]);
    });
  }
});

/** One span the trace SDK ended, with one KPI event and the ids. */
function endedSpans(): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracers = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const span = tracers.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
  span.addEvent('CallAccepted');
  span.end();
  return memory.getFinishedSpans();
}
