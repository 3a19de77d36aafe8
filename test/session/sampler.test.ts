import { ROOT_CONTEXT, SpanKind, TraceFlags, context, defaultTextMapSetter, diag, DiagLogLevel, trace, type Attributes, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { createLoggerConfigurator, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { expect } from 'chai';
import { CifSampler, CifSessionSpanProcessor, CifSpanExporter, setCifSession, withCifSession, type CifWrappedSampler } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import type * as RecordKpiEventModule from '../../src/recording/record-kpi-event.js';
import { RecordingCifClient, type RecordedCifCall } from '../../src/testing/index.js';
import { captureDiag, installActingDiag } from '../helpers/diag.js';

const CALL = { conversationId: 'conv-1', providerSessionId: 'prov-1' };
const KPI_EVENTS = 200;

/** Copies of the module loaded so far: each call loads a new one, also when a test runs again in one process. */
let copies = 0;

/**
 * `recordKpiEvent` warns once per page: each test that checks the warning loads its own copy of
 * the module, so that no earlier test, nor an earlier run of the same test, has used up the warning.
 */
async function freshRecordKpiEvent(copy: string): Promise<typeof RecordKpiEventModule.recordKpiEvent> {
  const url = new URL(`../../src/recording/record-kpi-event.js?${copy}-${++copies}`, import.meta.url);
  return ((await import(url.href)) as typeof RecordKpiEventModule).recordKpiEvent;
}

/** Trace ids spread evenly over the range `TraceIdRatioBasedSampler` compares, so that its share is the ratio. */
function spreadTraceIds(): IdGenerator {
  let trace = 0;
  let span = 0;
  return {
    generateTraceId: () => `${(trace++ * 21_474_836).toString(16).padStart(8, '0')}${'0'.repeat(23)}1`,
    generateSpanId: () => (++span).toString(16).padStart(16, '0'),
  };
}

/** A provider as the README wires it, with `sampler`; KPI events go to `client`. */
function setup(sampler: Sampler) {
  const client = new RecordingCifClient();
  const provider = new BasicTracerProvider({
    sampler,
    idGenerator: spreadTraceIds(),
    spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter({ client }))],
  });
  return { client, provider, tracer: provider.getTracer('softphone') };
}

/** The KPI event names of the calls, in order. */
function names(calls: readonly RecordedCifCall[]): string[] {
  return calls.map((call) => call.eventName);
}

const expectedNames = Array.from({ length: KPI_EVENTS }, (_, i) => `Call${i}`);

describe('CifSampler', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());
  afterEach(() => diag.disable());

  const samplers: Array<[what: string, make: () => Sampler]> = [
    ['ParentBasedSampler with a TraceIdRatioBasedSampler(0.25) root', () => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })],
    ['AlwaysOffSampler', () => new AlwaysOffSampler()],
    ['TraceIdRatioBasedSampler(0)', () => new TraceIdRatioBasedSampler(0)],
  ];
  samplers.forEach(([what, make]) =>
    it(`delivers all ${KPI_EVENTS} KPI events recorded under a CIF session around a ${what}`, async () => {
      const recordKpiEvent = await freshRecordKpiEvent(`delivers-${what}`);
      const messages = captureDiag();
      const { client, provider, tracer } = setup(new CifSampler(make()));
      for (const name of expectedNames) {
        withCifSession(CALL, () => {
          const span = tracer.startSpan('call');
          recordKpiEvent(span, name, undefined, new Date('2026-11-25T10:15:30.000Z'));
          span.end();
        });
      }
      await provider.forceFlush();
      expect(names(client.calls)).to.deep.equal(expectedNames);
      expect(client.calls[0]!.data).to.deep.equal({ ...CALL, events: [{ kpiEventName: 'Call0', eventTimestamp: '2026-11-25T10:15:30.000Z' }] });
      expect(messages).to.deep.equal([]);
      await provider.shutdown();
    }),
  );

  it('loses KPI events on spans a ParentBasedSampler with a ratio root drops, and warns once naming CifSampler', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('warns');
    const messages = captureDiag();
    const { client, provider, tracer } = setup(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) }));
    for (const name of expectedNames) {
      withCifSession(CALL, () => {
        const span = tracer.startSpan('call');
        recordKpiEvent(span, name);
        span.end();
      });
    }
    await provider.forceFlush();
    expect(client.calls.length).to.be.within(1, KPI_EVENTS - 1);
    expect(messages).to.have.length(1);
    expect(messages[0]).to.match(/^opentelemetry-exporter-cif KPI event 'Call\d+' lost: its span is not exported.*new CifSampler\(yourSampler\).*Shown once\.$/);
    await provider.shutdown();
  });

  it('says each later KPI event lost on a span that is not exported in a debug line', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('debug');
    const lines: string[] = [];
    const keep = (level: string) => (...args: unknown[]) => lines.push(`${level} ${args.join(' ')}`);
    diag.setLogger({ error: keep('error'), warn: keep('warn'), info: keep('info'), debug: keep('debug'), verbose: () => {} }, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    const { provider, tracer } = setup(new AlwaysOffSampler());
    recordKpiEvent(tracer.startSpan('call'), 'CallAccepted');
    recordKpiEvent(tracer.startSpan('call'), 'CallHold');
    const ours = lines.filter((line) => line.includes('opentelemetry-exporter-cif'));
    expect(ours.map((line) => line.replace(/(?<=exported): .+/, ': …'))).to.deep.equal([
      "warn opentelemetry-exporter-cif KPI event 'CallAccepted' lost: its span is not exported: …",
      "debug opentelemetry-exporter-cif KPI event 'CallHold' lost: its span is not exported.",
    ]);
    await provider.shutdown();
  });

  it('warns once of KPI events lost on spans not exported, to a diag logger that records a KPI event at the warning', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('acting');
    const { provider, tracer } = setup(new AlwaysOffSampler());
    const warnings: string[] = [];
    const restore = installActingDiag((level, line) => {
      if (level !== 'warn' || !line.includes('lost')) return;
      warnings.push(line);
      // At most a few, so that a warning repeated at every KPI event shows as such, not as a stack overflow.
      if (warnings.length < 4) recordKpiEvent(tracer.startSpan('diag'), 'Warned');
    });
    try {
      recordKpiEvent(tracer.startSpan('call'), 'CallAccepted');
    } finally {
      restore();
    }
    expect(warnings).to.have.length(1);
    await provider.shutdown();
  });

  it('warns of a KPI event lost on a span recorded but not sampled, which no span processor exports', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('record-only');
    const messages = captureDiag();
    const { client, provider, tracer } = setup({ shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnly' });
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      recordKpiEvent(span, 'CallAccepted');
      span.end();
    });
    await provider.forceFlush();
    expect(client.calls).to.deep.equal([]);
    // recordKpiEvent's line (the session processor's, of the span, follows: it shares no module with this fresh copy).
    expect(messages.filter((message) => message.includes("KPI event 'CallAccepted'"))).to.have.length(1);
    expect(messages[0]).to.match(/^opentelemetry-exporter-cif KPI event 'CallAccepted' lost: its span is not exported: a trace sampler dropped it, .*Shown once\.$/);
    await provider.shutdown();
  });

  it("warns of a KPI event lost on a remote parent's span, sampled but recording nothing", async () => {
    const recordKpiEvent = await freshRecordKpiEvent('remote');
    const messages = captureDiag();
    const remote = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    recordKpiEvent(remote, 'CallAccepted');
    expect(messages).to.have.length(1);
    expect(messages[0]).to.match(/^opentelemetry-exporter-cif KPI event 'CallAccepted' lost: its span is not exported: .*Shown once\.$/);
  });

  it('takes a span that cannot say whether it records as exported, and records on it without a warning', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('cannot-say');
    const messages = captureDiag();
    const events: string[] = [];
    const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.NONE });
    span.addEvent = (name: string) => (events.push(name), span);
    span.isRecording = () => {
      throw new Error('span bug');
    };
    recordKpiEvent(span, 'CallAccepted');
    expect([events, messages]).to.deep.equal([['CallAccepted'], []]);
  });

  it('leaves a KPI event recorded on a span that has ended to the SDK, which warns, and keeps its one warning for the sampler', async () => {
    const recordKpiEvent = await freshRecordKpiEvent('ended');
    const messages = captureDiag();
    const { provider, tracer } = setup(new AlwaysOnSampler());
    const ended = tracer.startSpan('call');
    ended.end();
    recordKpiEvent(ended, 'CallAccepted');
    const { provider: sampling, tracer: dropping } = setup(new AlwaysOffSampler());
    recordKpiEvent(dropping.startSpan('call'), 'CallHold');
    expect(messages.map((m) => m.replace(/ \{traceId: .*/, '').replace(/(not exported): .*/, '$1'))).to.deep.equal([
      'Cannot execute the operation on ended Span',
      "opentelemetry-exporter-cif KPI event 'CallHold' lost: its span is not exported",
    ]);
    await Promise.all([provider.shutdown(), sampling.shutdown()]);
  });

  it('delivers log-based KPI events emitted in spans the trace sampler dropped: trace sampling does not touch log records', async () => {
    const { provider, tracer } = setup(new AlwaysOffSampler());
    const client = new RecordingCifClient();
    const loggerProvider = new LoggerProvider({
      processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter: new CifLogRecordExporter({ client }) })],
    });
    withCifSession(CALL, () =>
      tracer.startActiveSpan('call', (span) => {
        emitKpiEvent(loggerProvider.getLogger('softphone'), 'CallAccepted', undefined, { time: new Date('2026-11-25T10:15:30.000Z') });
        span.end();
        return span.isRecording();
      }),
    );
    await loggerProvider.forceFlush();
    expect(client.calls.map((c) => c.data)).to.deep.equal([{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.000Z' }] }]);
    await Promise.all([loggerProvider.shutdown(), provider.shutdown()]);
  });

  it('loses log-based KPI events emitted in unsampled spans when a loggerConfigurator sets traceBased: true, before any processor sees them', async () => {
    const { provider, tracer } = setup(new AlwaysOffSampler());
    const client = new RecordingCifClient();
    const seen: string[] = [];
    const loggerProvider = new LoggerProvider({
      loggerConfigurator: createLoggerConfigurator([{ pattern: '*', config: { traceBased: true } }]),
      processors: [
        { onEmit: (record) => void seen.push(String(record.eventName)), forceFlush: () => Promise.resolve(), shutdown: () => Promise.resolve() },
        new CifSessionLogRecordProcessor(),
        new SimpleLogRecordProcessor({ exporter: new CifLogRecordExporter({ client }) }),
      ],
    });
    // At DEBUG: emitKpiEvent warns once per page, and an earlier test may have had that warning.
    const messages = captureDiag(DiagLogLevel.DEBUG);
    withCifSession(CALL, () =>
      tracer.startActiveSpan('call', (span) => {
        emitKpiEvent(loggerProvider.getLogger('softphone'), 'CallAccepted');
        span.end();
      }),
    );
    await loggerProvider.forceFlush();
    expect([seen, client.calls]).to.deep.equal([[], []]);
    expect(messages.filter((m) => m.includes("KPI event 'CallAccepted' lost: its logger is not enabled"))).to.have.length(1);
    await Promise.all([loggerProvider.shutdown(), provider.shutdown()]);
  });

  it('loses a child under a CIF session whose parent was not sampled when CifSampler is inside a ParentBasedSampler, which never asks it', async () => {
    const cif = new CifSampler(new AlwaysOffSampler());
    const asked: string[] = [];
    const inner: Sampler = { shouldSample: (...args: Parameters<Sampler['shouldSample']>) => (asked.push(args[2]), cif.shouldSample(...args)), toString: () => cif.toString() };
    const { client, provider, tracer } = setup(new ParentBasedSampler({ root: inner }));
    const page = tracer.startSpan('page load');
    withCifSession(CALL, () => {
      const call = tracer.startSpan('call', {}, trace.setSpan(context.active(), page));
      call.addEvent('CallAccepted');
      call.end();
    });
    page.end();
    await provider.forceFlush();
    expect([asked, client.calls]).to.deep.equal([['page load'], []]);
    await provider.shutdown();
  });

  it('records a child under a CIF session whose parent the wrapped ParentBasedSampler did not sample', async () => {
    const { client, provider, tracer } = setup(new CifSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() })));
    const page = tracer.startSpan('page load');
    withCifSession(CALL, () => {
      const call = tracer.startSpan('call', {}, trace.setSpan(context.active(), page));
      call.addEvent('CallAccepted', undefined, new Date('2026-11-25T10:15:30.000Z'));
      call.end();
    });
    page.end();
    await provider.forceFlush();
    expect([page.isRecording(), client.calls.map((c) => c.data)]).to.deep.equal([
      false,
      [{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.000Z' }] }],
    ]);
    await provider.shutdown();
  });

  it('leaves spans outside any CIF session to the wrapped sampler', async () => {
    const { provider, tracer } = setup(new CifSampler(new AlwaysOffSampler()));
    const outside = tracer.startSpan('other');
    const withCif = tracer.startSpan('call', { attributes: { 'cif.conversation.id': 'conv-1' } });
    const inside = withCifSession(CALL, () => tracer.startSpan('call'));
    expect([outside.isRecording(), withCif.isRecording(), inside.isRecording()]).to.deep.equal([false, true, true]);
    await provider.shutdown();
  });

  const SESSION_CONTEXT = setCifSession(ROOT_CONTEXT, CALL);
  const traceState = new TraceState('vendor=1');
  const decisions: Array<[what: string, answer: ReturnType<Sampler['shouldSample']>, ctx: Context, attributes: Attributes, expected: ReturnType<Sampler['shouldSample']>]> = [
    ['keeps the attributes and trace state of a decision it raises', { decision: SamplingDecision.NOT_RECORD, attributes: { a: 1 }, traceState }, SESSION_CONTEXT, {}, { decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: { a: 1 }, traceState }],
    ['raises RECORD to RECORD_AND_SAMPLED under a session, as only sampled spans are exported', { decision: SamplingDecision.RECORD }, SESSION_CONTEXT, {}, { decision: SamplingDecision.RECORD_AND_SAMPLED }],
    ['raises a decision for a span started with a cif. attribute', { decision: SamplingDecision.NOT_RECORD }, ROOT_CONTEXT, { 'cif.kpi.name': 'x' }, { decision: SamplingDecision.RECORD_AND_SAMPLED }],
    ['passes RECORD on outside a session', { decision: SamplingDecision.RECORD, attributes: { a: 1 } }, ROOT_CONTEXT, { 'http.method': 'GET' }, { decision: SamplingDecision.RECORD, attributes: { a: 1 } }],
    ['passes NOT_RECORD on outside a session', { decision: SamplingDecision.NOT_RECORD }, ROOT_CONTEXT, {}, { decision: SamplingDecision.NOT_RECORD }],
    ['passes RECORD_AND_SAMPLED on with its trace state', { decision: SamplingDecision.RECORD_AND_SAMPLED, traceState }, ROOT_CONTEXT, {}, { decision: SamplingDecision.RECORD_AND_SAMPLED, traceState }],
  ];
  decisions.forEach(([what, answer, ctx, attributes, expected]) =>
    it(what, () => {
      const sampler = new CifSampler({ shouldSample: () => answer, toString: () => 'fixed' });
      expect(sampler.shouldSample(ctx, 'a'.repeat(32), 'call', SpanKind.INTERNAL, attributes, [])).to.deep.equal({ attributes: undefined, traceState: undefined, ...expected });
    }),
  );

  const notSamplers: Array<[what: string, sampler: unknown, got: string]> = [
    ['nothing', undefined, 'undefined'],
    ['null', null, 'null'],
    ['an object without shouldSample', { toString: () => 'AlwaysOn' }, 'AlwaysOn'],
    ['a shouldSample that is not a function', { shouldSample: 'always' }, '[object Object]'],
  ];
  notSamplers.forEach(([what, sampler, got]) =>
    it(`rejects ${what} as the sampler to wrap at construction, with a TypeError naming the argument`, () => {
      expect(() => new CifSampler(sampler as never)).to.throw(TypeError, `CifSampler: argument \`sampler\` must be a Sampler (got ${got}).`);
    }),
  );

  it('asks the wrapped sampler with the arguments it was given', () => {
    const asked: unknown[][] = [];
    const sampler = new CifSampler({ shouldSample: (...args) => (asked.push(args), { decision: 2 }), toString: () => 'spy' });
    const link = { context: { traceId: 'b'.repeat(32), spanId: 'c'.repeat(16), traceFlags: 1 } };
    sampler.shouldSample(SESSION_CONTEXT, 'a'.repeat(32), 'call', SpanKind.CLIENT, { k: 'v' }, [link]);
    expect(asked).to.deep.equal([[SESSION_CONTEXT, 'a'.repeat(32), 'call', SpanKind.CLIENT, { k: 'v' }, [link]]]);
  });

  it("calls the shouldSample() of a subclass, which can defer to CifSampler's", () => {
    class Counting extends CifSampler {
      asked = 0;
      override shouldSample(...args: Parameters<CifSampler['shouldSample']>) {
        this.asked++;
        return super.shouldSample(...args);
      }
    }
    const sampler = new Counting(new AlwaysOffSampler());
    expect(sampler.shouldSample(SESSION_CONTEXT, 'a'.repeat(32), 'call', SpanKind.INTERNAL, {}, []).decision).to.equal(SamplingDecision.RECORD_AND_SAMPLED);
    expect(sampler.asked).to.equal(1);
  });

  it('names the sampler it wraps in toString()', () => {
    const inner = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) });
    expect(new CifSampler(inner).toString()).to.equal(`CifSampler{${inner.toString()}}`);
    expect(String(new CifSampler(new AlwaysOnSampler()))).to.equal('CifSampler{AlwaysOnSampler}');
  });

  it('keeps a span whose context cannot be read, rather than lose its KPI events', () => {
    const unreadable = new Proxy(ROOT_CONTEXT, { get: () => { throw new Error('trap'); } });
    const result = new CifSampler(new AlwaysOffSampler()).shouldSample(unreadable, '1'.repeat(32), 'call', SpanKind.INTERNAL, {}, []);
    expect(result).to.deep.equal({ decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: undefined, traceState: undefined });
  });

  it('still names itself when the wrapped sampler cannot say its name', () => {
    const sampler = new CifSampler({ shouldSample: () => ({ decision: 0 }), toString: () => { throw new Error('trap'); } });
    expect(sampler.toString()).to.equal('CifSampler{unknown}');
  });

  it('warns once that the wrapped sampler failed, to a diag logger that starts a span at the warning', async () => {
    const { provider, tracer } = setup(new CifSampler({ shouldSample: () => { throw new Error('sampler bug'); }, toString: () => 'x' }));
    const warnings: string[] = [];
    const restore = installActingDiag((level, line) => {
      if (level !== 'warn' || !line.includes('CifSampler')) return;
      warnings.push(line);
      if (warnings.length < 4) tracer.startSpan('diag').end();
    });
    try {
      tracer.startSpan('call').end();
    } finally {
      restore();
    }
    expect(warnings).to.have.length(1);
    await provider.shutdown();
  });

  const hostile: Array<[what: string, sampler: CifWrappedSampler, warning: RegExp]> = [
    ['throws', { shouldSample: () => { throw new Error('sampler bug'); }, toString: () => 'x' }, /the wrapped sampler failed; .*sampler bug/],
    ['answers undefined', { shouldSample: () => undefined as never, toString: () => 'x' }, /the wrapped sampler failed; .*TypeError/],
    ['answers a decision the SDK does not know', { shouldSample: () => ({ decision: 7 as never }), toString: () => 'x' }, /the wrapped sampler failed; .*it answered the decision 7/],
    ['answers a Proxy whose every read throws', { shouldSample: () => new Proxy({}, { get: () => { throw new Error('trap'); } }) as never, toString: () => 'x' }, /the wrapped sampler failed; .*trap/],
    ['is a Proxy whose every read throws', new Proxy({}, { get: () => { throw new Error('trap'); } }) as never, /the wrapped sampler failed; .*trap/],
    ['answers attributes whose keys cannot be listed', { shouldSample: () => ({ decision: 2, attributes: new Proxy({}, { ownKeys: () => { throw new Error('keys trap'); } }) }), toString: () => 'x' }, /the wrapped sampler failed; .*keys trap/],
    ['answers attributes with a getter that throws', { shouldSample: () => ({ decision: 2, attributes: Object.defineProperty({}, 'sampler.rule', { get: () => { throw new Error('getter trap'); }, enumerable: true }) }), toString: () => 'x' }, /the wrapped sampler failed; .*getter trap/],
    // The SDK would keep a string as the span's trace state, which the W3C propagator then fails to write, in the page's own requests.
    ['answers a traceState that is no TraceState', { shouldSample: () => ({ decision: 2, traceState: 'vendor=1' as never }), toString: () => 'x' }, /the wrapped sampler failed; .*it answered no sampling result/],
    ['answers attributes that are no object', { shouldSample: () => ({ decision: 2, attributes: 'abc' as never }), toString: () => 'x' }, /the wrapped sampler failed; .*it answered no sampling result/],
  ];
  it("propagates a CIF span's context though the wrapped sampler answered a traceState that is no TraceState", async () => {
    captureDiag();
    const { provider, tracer } = setup(new CifSampler({ shouldSample: () => ({ decision: 2, traceState: 'vendor=1' as never }), toString: () => 'x' }));
    const span = withCifSession(CALL, () => tracer.startSpan('call'));
    const carrier: Record<string, string> = {};
    new W3CTraceContextPropagator().inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    expect(Object.keys(carrier)).to.deep.equal(['traceparent']);
    span.end();
    await provider.shutdown();
  });

  hostile.forEach(([what, inner, warning]) =>
    it(`samples CIF spans, drops the others and warns once when the wrapped sampler ${what}`, async () => {
      const messages = captureDiag();
      const { client, provider, tracer } = setup(new CifSampler(inner as Sampler));
      let outside: ReturnType<typeof tracer.startSpan> | undefined;
      expect(() => {
        outside = tracer.startSpan('other');
        for (const name of ['A', 'B']) {
          withCifSession(CALL, () => {
            const span = tracer.startSpan('call');
            span.addEvent(name, undefined, new Date('2026-11-25T10:15:30.000Z'));
            span.end();
          });
        }
      }).not.to.throw();
      await provider.forceFlush();
      expect([outside!.isRecording(), names(client.calls)]).to.deep.equal([false, ['A', 'B']]);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(warning);
      expect(messages[0]).to.match(/the wrapped sampler failed; only CIF spans are kept\. Shown once\./);
      await provider.shutdown();
    }),
  );
});
