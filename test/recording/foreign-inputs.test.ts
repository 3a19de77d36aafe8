import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { context, INVALID_SPAN_CONTEXT, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifSessionSpanProcessor, CifSpanExporter, recordKpiEvent, withCifSession, type CifKpiEventDetails, type CifSession } from '../../src/index.js';
import { CifLogRecordExporter, CifSessionLogRecordProcessor, emitKpiEvent } from '../../src/logs.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';

const T1 = '2026-11-25T10:15:30.123Z';
const CALL: CifSession = { conversationId: 'conv-1', providerSessionId: 'prov-1' };

/** A tracer provider wired as the README says, sending each span as it ends. */
function spanPipeline() {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifSpanExporter({ client }));
  const provider = shutDownAfterTest(new BasicTracerProvider({ spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(exporter)] }));
  return { client, exporter, provider, tracer: provider.getTracer('softphone') };
}

/** A logger provider wired as the README says, sending each record as it is emitted. */
function logPipeline() {
  const client = new RecordingCifClient();
  const exporter = shutDownAfterTest(new CifLogRecordExporter({ client }));
  const provider = shutDownAfterTest(new LoggerProvider({ processors: [new CifSessionLogRecordProcessor(), new SimpleLogRecordProcessor({ exporter })] }));
  const flush = async () => {
    await provider.forceFlush();
    await exporter.forceFlush();
  };
  return { client, exporter, logger: provider.getLogger('softphone'), flush };
}

/** A Date made in another realm (an iframe's), which fails `instanceof Date` here. */
const otherRealmDate = () => vm.runInNewContext(`new Date(${JSON.stringify(T1)})`) as Date;

describe('the recording API, given what other frames and SDKs make', () => {
  before(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  after(() => context.disable());

  it('catches the rejection of a span of another SDK whose addEvent answers with a promise', async () => {
    captureDiag();
    const span = trace.wrapSpanContext({ ...INVALID_SPAN_CONTEXT, traceFlags: TraceFlags.SAMPLED });
    span.isRecording = () => true;
    (span as { addEvent: unknown }).addEvent = async () => {
      throw new Error('span of another SDK, closed');
    };
    const unhandled = await unhandledRejectionsOf(() => recordKpiEvent(span as Span, 'CallAccepted'));
    expect(unhandled).to.deep.equal([]);
  });

  it('sends the columns of customData given as a Map, as CIF answers with Maps', async () => {
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      const customData = new Map([['msdyn_customattribute1', 'billing']]) as unknown as CifKpiEventDetails['customData'];
      recordKpiEvent(span, 'CallAccepted', { customData }, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads()).to.deep.equal([
      { ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute1', value: 'billing' }] }] },
    ]);
  });

  it('makes one column of two customData Map keys that read alike, of the later value', async () => {
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      const customData = new Map<unknown, string>([
        ['msdyn_customattribute1', 'billing'],
        [new String('msdyn_customattribute1'), 'page'],
      ]) as unknown as CifKpiEventDetails['customData'];
      recordKpiEvent(span, 'CallAccepted', { customData }, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads().map((data) => data.events[0]!.customData)).to.deep.equal([[{ attribute: 'msdyn_customattribute1', value: 'page' }]]);
  });

  it('stamps a KPI event recorded with a Date of another frame at that date', async () => {
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      recordKpiEvent(span, 'CallAccepted', undefined, otherRealmDate());
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads()).to.deep.equal([{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }]);
  });

  it('stamps a KPI event emitted with a Date of another frame at that date', async () => {
    const { client, logger, flush } = logPipeline();
    withCifSession(CALL, () => emitKpiEvent(logger, 'CallAccepted', undefined, { time: otherRealmDate() }));
    await flush();
    expect(client.payloads()).to.deep.equal([{ ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1 }] }]);
  });

  it('sends the columns of a customData Map made in another frame', async () => {
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      const customData = vm.runInNewContext(`new Map([['msdyn_customattribute1', 'billing']])`) as CifKpiEventDetails['customData'];
      recordKpiEvent(span, 'CallAccepted', { customData }, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads()[0]?.events[0]?.customData).to.deep.equal([{ attribute: 'msdyn_customattribute1', value: 'billing' }]);
  });

  it('sends a KPI event whose customData Map has a symbol key, without that column', async () => {
    captureDiag();
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      const customData = new Map<unknown, string>([
        [Symbol('column'), 'x'],
        ['msdyn_customattribute1', 'billing'],
      ]) as CifKpiEventDetails['customData'];
      recordKpiEvent(span, 'CallAccepted', { customData }, new Date(T1));
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads().map((p) => p.events.map((e) => [e.kpiEventName, e.customData]))).to.deep.equal([
      [['CallAccepted', [{ attribute: 'msdyn_customattribute1', value: 'billing' }]]],
    ]);
  });

  // A Map's key may be any value: one with no string form (no prototype, a toString that throws), or an array, names no
  // column, as a symbol key does; it must not cost the KPI event and its other columns.
  const keysOfNoColumn: Array<[what: string, key: () => unknown]> = [
    ['an array', () => ['msdyn_customattribute2']],
    ['an object with no prototype', () => Object.create(null)],
    ['an object whose toString throws', () => ({ toString: () => { throw new Error('toString trap'); } })],
  ];
  /** Each writer of KPI events, writing `details` under CALL at T1 through its pipeline, answering what it sent and counted. */
  const writers: Array<[verb: string, write: (details: CifKpiEventDetails) => Promise<{ client: RecordingCifClient; exporter: CifSpanExporter | CifLogRecordExporter }>]> = [
    [
      'sends a KPI event recorded',
      async (details) => {
        const pipeline = spanPipeline();
        withCifSession(CALL, () => {
          const span = pipeline.tracer.startSpan('call');
          recordKpiEvent(span, 'CallAccepted', details, new Date(T1));
          span.end();
        });
        await pipeline.provider.forceFlush();
        await pipeline.exporter.forceFlush();
        return pipeline;
      },
    ],
    [
      'emits a KPI event',
      async (details) => {
        const pipeline = logPipeline();
        withCifSession(CALL, () => emitKpiEvent(pipeline.logger, 'CallAccepted', details, { time: new Date(T1) }));
        await pipeline.flush();
        return pipeline;
      },
    ],
  ];
  for (const [what, key] of keysOfNoColumn) {
    for (const [verb, write] of writers) {
      it(`${verb} with a customData Map whose key is ${what}, without that column, counted`, async () => {
        const lines = captureLevels();
        const customData = new Map<unknown, string>([[key(), 'x'], ['msdyn_customattribute1', 'billing']]) as CifKpiEventDetails['customData'];
        const { client, exporter } = await write({ customData });
        expect(client.payloads()).to.deep.equal([
          { ...CALL, events: [{ kpiEventName: 'CallAccepted', eventTimestamp: T1, customData: [{ attribute: 'msdyn_customattribute1', value: 'billing' }] }] },
        ]);
        expect(exporter.getStats().droppedFields.invalid_custom_column).to.equal(1);
        expect(lines.filter((line) => line.startsWith('error'))).to.deep.equal([]);
      });
    }
  }

  /** Values no SDK reads as a time, whose reading throws. */
  const unreadableTimes: Array<[what: string, make: () => unknown]> = [
    ['a Date.prototype of another frame, whose getTime throws', () => vm.runInNewContext('Object.create(Date.prototype)')],
    // Of this frame, they pass `instanceof Date`, which the SDKs take for a date.
    ['an object made from Date.prototype, whose getTime throws', () => Object.create(Date.prototype)],
    ['a proxy of a Date, whose getTime throws', () => new Proxy(new Date(T1), {})],
    [
      'a revoked proxy',
      () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
    ],
  ];
  unreadableTimes.forEach(([what, make]) => {
    it(`records a KPI event whose time is ${what} at now`, async () => {
      captureDiag();
      const { client, provider, tracer } = spanPipeline();
      const before = Date.now();
      withCifSession(CALL, () => {
        const span = tracer.startSpan('call');
        recordKpiEvent(span, 'CallAccepted', undefined, make() as Date);
        span.end();
      });
      await provider.forceFlush();
      const stamped = Date.parse(client.payloads()[0]?.events[0]?.eventTimestamp ?? '');
      expect(stamped >= before && stamped <= Date.now(), `stamped ${stamped}`).to.equal(true);
    });

    it(`emits a KPI event whose time is ${what} at now`, async () => {
      captureDiag();
      const { client, logger, flush } = logPipeline();
      const before = Date.now();
      withCifSession(CALL, () => emitKpiEvent(logger, 'CallAccepted', undefined, { time: make() as Date }));
      await flush();
      const stamped = Date.parse(client.payloads()[0]?.events[0]?.eventTimestamp ?? '');
      expect(stamped >= before && stamped <= Date.now(), `stamped ${stamped}`).to.equal(true);
    });
  });

  /** `[first, second]` whose first item reads once, then throws: a getter that changes between reads. */
  function readOnce(first: unknown, second: unknown): unknown[] {
    let reads = 0;
    return Object.defineProperty([undefined, second], 0, {
      get: () => {
        if (reads++ > 0) throw new Error('read twice');
        return first;
      },
    });
  }

  it('sends the KPI event with a details value and at an HrTime whose arrays read once, then throw, each read once', async () => {
    captureDiag();
    const { client, provider, tracer } = spanPipeline();
    withCifSession(CALL, () => {
      const span = tracer.startSpan('call');
      recordKpiEvent(span, 'CallAccepted', { reason: readOnce('a', 'b') as never, additionalData: 'queue 2' }, readOnce(Math.floor(Date.parse(T1) / 1000), 123_000_000) as never);
      span.end();
    });
    await provider.forceFlush();
    expect(client.payloads().map((data) => data.events)).to.deep.equal([[{ kpiEventName: 'CallAccepted', eventTimestamp: T1, kpiEventReason: '["a","b"]', additionalData: 'queue 2' }]]);
  });

  it('emits the KPI event with a details value and at an HrTime whose arrays read once, then throw, each read once', async () => {
    captureDiag();
    const { client, logger, flush } = logPipeline();
    withCifSession(CALL, () => emitKpiEvent(logger, 'CallAccepted', { reason: readOnce('a', 'b') as never, additionalData: 'queue 2' }, { time: readOnce(Math.floor(Date.parse(T1) / 1000), 123_000_000) as never }));
    await flush();
    expect(client.payloads().map((data) => data.events)).to.deep.equal([[{ kpiEventName: 'CallAccepted', eventTimestamp: T1, kpiEventReason: '["a","b"]', additionalData: 'queue 2' }]]);
  });

  it('records a KPI event whose details value is a sparse array of length 2 ** 32 - 1 by the items it holds, at once', async function () {
    this.timeout(60_000);
    // A Node.js process of its own, killed after 20 s: reading such an array index by index holds the thread for minutes.
    const script = `
      import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
      import { recordKpiEvent } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)};
      const exporter = new InMemorySpanExporter();
      const span = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t').startSpan('call');
      const reason = ['hold'];
      reason.length = 2 ** 32 - 1;
      reason[2 ** 32 - 2] = 'queue';
      recordKpiEvent(span, 'CallHeld', { reason });
      span.end();
      console.log(exporter.getFinishedSpans()[0].events[0].attributes['cif.kpi.reason'].join());
    `;
    const outcome = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 }).then(
      ({ stdout }) => stdout.trim(),
      (error: { signal?: unknown }) => `failed ${String(error.signal)}`,
    );
    expect(outcome).to.equal('hold,queue');
  });

  const notTimes: Array<[what: string, time: unknown]> = [
    ['an ISO string, from an untyped caller', T1],
    ['an HrTime of strings', ['1764065730', '123000000']],
    ['an HrTime whose nanoseconds are a string', [1764065730, '123000000']],
    ['an HrTime whose seconds are a string', ['1764065730', 123000000]],
    ['an HrTime with a third item', [1764065730, 123000000, 0]],
  ];
  notTimes.forEach(([what, time]) =>
    it(`emits a KPI event whose time is ${what} stamped now, as recordKpiEvent records it`, async () => {
      const messages = captureDiag();
      const { client, logger, flush } = logPipeline();
      const before = Date.now();
      withCifSession(CALL, () => emitKpiEvent(logger, 'CallAccepted', undefined, { time: time as Date }));
      await flush();
      const stamped = Date.parse(client.payloads()[0]!.events[0]!.eventTimestamp);
      expect([client.calls.length, stamped >= before && stamped <= Date.now(), messages]).to.deep.equal([1, true, []]);
    }),
  );
  notTimes.forEach(([what, time]) =>
    it(`records a KPI event whose time is ${what} stamped now`, async () => {
      const messages = captureDiag();
      const { client, provider, tracer } = spanPipeline();
      const before = Date.now();
      withCifSession(CALL, () => {
        const span = tracer.startSpan('call');
        recordKpiEvent(span, 'CallAccepted', undefined, time as Date);
        span.end();
      });
      await provider.forceFlush();
      const stamped = Date.parse(client.payloads()[0]!.events[0]!.eventTimestamp);
      expect([client.calls.length, stamped >= before && stamped <= Date.now(), messages]).to.deep.equal([1, true, []]);
    }),
  );
});
