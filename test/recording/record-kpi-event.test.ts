import { INVALID_SPAN_CONTEXT, diag, trace, type Attributes, type Span, type TimeInput } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import {
  CifSpanExporter,
  recordKpiEvent,
  recordedKpiEventsOnly,
  type CifKpiEvent,
  type CifKpiEventDetails,
} from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureDiag, captureLevels } from '../helpers/diag.js';
import { FIXED_TRACE_ID, IDENTITY, TRACE_GUID } from '../helpers/spans.js';

const T1 = '2026-11-25T10:15:30.123Z';

describe('recordKpiEvent', () => {
  let provider: BasicTracerProvider;
  let client: RecordingCifClient;
  beforeEach(() => {
    client = new RecordingCifClient();
    provider = new BasicTracerProvider({
      idGenerator: FIXED_TRACE_ID,
      resource: resourceFromAttributes({ 'cif.participant.id': 'agent-7' }),
      spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter({ client }))],
    });
  });
  afterEach(async () => {
    await provider.shutdown();
    diag.disable();
  });

  const cases: Array<{ title: string; name: string; details?: CifKpiEventDetails; expected: CifKpiEvent }> = [
    {
      title: 'a KPI event with a name only',
      name: 'CallHold',
      expected: { kpiEventName: 'CallHold', eventTimestamp: T1 },
    },
    {
      title: 'every detail in its payload field',
      name: 'CallTransferred',
      details: {
        reason: 'escalation',
        additionalData: '{"to":"tier-2"}',
        notificationResponseAction: 'accepted',
        externalCorrelationId: 'CA5f3c2e9b7d',
        customData: { msdyn_customattribute1: 'billing', msdyn_customattribute2: 3, msdyn_customattribute3: true },
      },
      expected: {
        kpiEventName: 'CallTransferred',
        eventTimestamp: T1,
        kpiEventReason: 'escalation',
        additionalData: '{"to":"tier-2"}',
        notificationResponseAction: 'accepted',
        externalCorrelationId: 'CA5f3c2e9b7d',
        customData: [
          { attribute: 'msdyn_customattribute1', value: 'billing' },
          { attribute: 'msdyn_customattribute2', value: '3' },
          { attribute: 'msdyn_customattribute3', value: 'true' },
        ],
      },
    },
    {
      title: 'a notification response action of your own',
      name: 'NotificationTimedOut',
      details: { notificationResponseAction: 'timedout', reason: undefined },
      expected: { kpiEventName: 'NotificationTimedOut', eventTimestamp: T1, notificationResponseAction: 'timedout' },
    },
  ];
  cases.forEach(({ title, name, details, expected }) =>
    it(`sends ${title} through CifSpanExporter`, async () => {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, name, details, new Date(T1));
      span.end();
      await provider.forceFlush();
      expect(client.calls).to.deep.equal([
        {
          data: { conversationId: 'conv-1', providerSessionId: 'prov-1', participantId: 'agent-7', events: [expected] },
          eventName: name,
          correlationId: TRACE_GUID,
        },
      ]);
    }),
  );

  it('records the span event with cif.kpi.name and the cif.kpi.* attributes, saying nothing', () => {
    const messages = captureDiag();
    const span = provider.getTracer('softphone').startSpan('call');
    recordKpiEvent(span, 'CallAccepted', { reason: 'inbound', customData: { msdyn_customattribute1: 'billing' } });
    expect(messages).to.deep.equal([]);
    span.end();
    expect((span as unknown as ReadableSpan).events.map(({ name, attributes }) => ({ name, attributes }))).to.deep.equal([
      {
        name: 'CallAccepted',
        attributes: {
          'cif.kpi.name': 'CallAccepted',
          'cif.kpi.reason': 'inbound',
          'cif.kpi.custom.msdyn_customattribute1': 'billing',
        },
      },
    ]);
  });

  const times: Array<[string, TimeInput]> = [
    ['a Date', new Date(T1)],
    ['epoch milliseconds', Date.parse(T1)],
    ['an HrTime', [Math.floor(Date.parse(T1) / 1000), 123_456_789]],
  ];
  times.forEach(([what, time]) =>
    it(`stamps the KPI event with a time given as ${what}`, async () => {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallHold', undefined, time);
      span.end();
      await provider.forceFlush();
      expect(client.calls.map((c) => (c.data as { events: CifKpiEvent[] }).events[0]?.eventTimestamp)).to.deep.equal([T1]);
    }),
  );

  it('stamps the KPI event with the current time when no time is given', async () => {
    const clock = FakeTimers.install({ toFake: ['Date', 'performance'], now: Date.parse(T1) });
    try {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      clock.tick(1_500);
      recordKpiEvent(span, 'CallHold');
      span.end();
      await provider.forceFlush();
    } finally {
      clock.uninstall();
    }
    expect((client.calls[0]?.data as { events: CifKpiEvent[] }).events[0]!.eventTimestamp).to.equal('2026-11-25T10:15:31.623Z');
  });

  it('says so through diag and does not throw when there is no span', () => {
    const lines = captureLevels();
    expect(() => recordKpiEvent(trace.getActiveSpan(), 'CallHold')).not.to.throw();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^(warn|debug) KPI event 'CallHold' not recorded: there is no span to record it on/);
  });

  it('warns of the first KPI event with no span to record it on, and tells the later ones at DEBUG', async () => {
    // A copy of the module of its own: the warning is once per page, and other tests may have used it.
    const url = new URL(`../../src/recording/record-kpi-event.ts?absent-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { recordKpiEvent: typeof recordKpiEvent };
    const lines = captureLevels();
    for (const name of ['CallAccepted', 'CallHold']) copy.recordKpiEvent(trace.getActiveSpan(), name);
    expect(lines).to.deep.equal([
      "warn KPI event 'CallAccepted' not recorded: there is no span to record it on. Shown once.",
      "debug KPI event 'CallHold' not recorded: there is no span to record it on.",
    ]);
  });

  it('warns of a KPI event lost on a span not exported though its name cannot be written as a string, and tells the later ones at DEBUG', async () => {
    const url = new URL(`../../src/recording/record-kpi-event.ts?symbol-${Date.now()}`, import.meta.url);
    const copy = (await import(url.href)) as { recordKpiEvent: typeof recordKpiEvent };
    const lines = captureLevels();
    const unsampled = () => trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    copy.recordKpiEvent(unsampled(), Symbol('CallHold') as unknown as string);
    copy.recordKpiEvent(unsampled(), 'CallEnded');
    expect(lines.map((line) => line.replace(/(?<=exported): .+/, ': …'))).to.deep.equal([
      "warn KPI event 'Symbol(CallHold)' lost: its span is not exported: …",
      "debug KPI event 'CallEnded' lost: its span is not exported.",
    ]);
  });

  it('does not throw when the span throws, and reports it through diag', () => {
    const messages = captureDiag();
    const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    span.addEvent = () => {
      throw new Error('span is closed');
    };
    expect(() => recordKpiEvent(span, 'CallHold')).not.to.throw();
    expect(messages).to.have.length(1);
    expect(messages[0]).to.match(/KPI event 'CallHold' may not be recorded.*span is closed/);
  });

  const hostileDetails: Array<[string, () => CifKpiEventDetails]> = [
    ['a reason getter that throws', () => Object.defineProperty({}, 'reason', { get: () => { throw new Error('reason trap'); } })],
    ['customData whose keys cannot be listed', () => ({ customData: new Proxy({}, { ownKeys: () => { throw new Error('customData trap'); } }) })],
    ['a customData column whose getter throws', () => ({ customData: Object.defineProperty({}, 'msdyn_customattribute1', { enumerable: true, get: () => { throw new Error('column trap'); } }) })],
  ];
  hostileDetails.forEach(([what, make]) =>
    it(`records nothing on the span and says why at error level, without throwing, given details with ${what}`, async () => {
      const messages = captureDiag();
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      expect(() => recordKpiEvent(span, 'CallHold', make())).not.to.throw();
      span.end();
      await provider.forceFlush();
      expect((span as unknown as ReadableSpan).events).to.deep.equal([]);
      expect(client.calls).to.deep.equal([]);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.match(/^opentelemetry-exporter-cif KPI event 'CallHold' not recorded Error: \w+ trap/);
    }),
  );

  it('does not throw when the span is a Proxy whose every read throws, or the name cannot be written', () => {
    const messages = captureLevels();
    const span = new Proxy({}, { get: () => { throw new Error('span trap'); } }) as Span;
    const name = { toString: () => { throw new Error('toString trap'); } } as unknown as string;
    expect(() => recordKpiEvent(span, 'CallHold')).not.to.throw();
    expect(() => recordKpiEvent(undefined, name)).not.to.throw();
    expect(messages).to.have.length(2);
    expect(messages[0]).to.match(/KPI event 'CallHold' not recorded.*span trap/);
    expect(messages[1]).to.include("KPI event 'object' not recorded: there is no span to record it on.");
  });

  const notObjects: Array<[what: string, details: unknown]> = [
    ['null', null],
    ['a string', 'escalation'],
    ['a number', 42],
    ['true', true],
    ['a function with a reason property', Object.assign(() => {}, { reason: 'hold' })],
  ];
  notObjects.forEach(([what, details]) =>
    it(`records the KPI event with its name alone, and does not throw, when details is ${what}`, () => {
      const span = provider.getTracer('softphone').startSpan('call');
      expect(() => recordKpiEvent(span, 'CallHold', details as CifKpiEventDetails)).not.to.throw();
      span.end();
      expect((span as unknown as ReadableSpan).events.map(({ name, attributes }) => ({ name, attributes }))).to.deep.equal([
        { name: 'CallHold', attributes: { 'cif.kpi.name': 'CallHold' } },
      ]);
    }),
  );

  const badCustomData: Array<[what: string, customData: unknown]> = [
    ['null', null],
    ['a string', 'msdyn_customattribute1'],
    ['a number', 7],
  ];
  badCustomData.forEach(([what, customData]) =>
    it(`records the other details and leaves customData out when customData is ${what}`, () => {
      const span = provider.getTracer('softphone').startSpan('call');
      recordKpiEvent(span, 'CallHold', { reason: 'hold', customData } as CifKpiEventDetails);
      span.end();
      expect((span as unknown as ReadableSpan).events.map(({ name, attributes }) => ({ name, attributes }))).to.deep.equal([
        { name: 'CallHold', attributes: { 'cif.kpi.name': 'CallHold', 'cif.kpi.reason': 'hold' } },
      ]);
    }),
  );
});

describe('recordedKpiEventsOnly', () => {
  it('as eventFilter, sends the KPI events recorded with recordKpiEvent and none of the other span events', async () => {
    const client = new RecordingCifClient();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter({ client, eventFilter: recordedKpiEventsOnly }))],
    });
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    span.addEvent('ui.click', { 'target.id': 'accept' }, new Date(T1));
    recordKpiEvent(span, 'CallAccepted', undefined, new Date(T1));
    span.addEvent('websocket.message', {}, new Date(T1));
    span.addEvent('CallHold', { 'cif.kpi.reason': 'no cif.kpi.name' }, new Date(T1));
    span.end();
    await provider.shutdown();
    expect(client.calls.map((call) => call.eventName)).to.deep.equal(['CallAccepted']);
  });

  it('as eventFilter, counts a KPI event recorded with an empty or absent name as missing its name', async () => {
    const client = new RecordingCifClient();
    const exporter = new CifSpanExporter({ client, eventFilter: recordedKpiEventsOnly });
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
    recordKpiEvent(span, '', undefined, new Date(T1));
    recordKpiEvent(span, undefined as unknown as string, undefined, new Date(T1));
    span.end();
    await provider.forceFlush();
    expect([client.calls, exporter.getStats().dropped.missing_kpi_name]).to.deep.equal([[], 2]);
    await provider.shutdown();
  });

  const events: Array<[string, { attributes?: Attributes }, boolean]> = [
    ['an event recorded with recordKpiEvent', { attributes: { 'cif.kpi.name': 'CallHold' } }, true],
    ['an event without attributes', {}, false],
    ['an event with other cif.kpi.* attributes only', { attributes: { 'cif.kpi.reason': 'busy' } }, false],
    // Kept, so that the exporter counts the one with no name as missing.
    ['an event whose cif.kpi.name is empty', { attributes: { 'cif.kpi.name': '' } }, true],
    ['an event whose cif.kpi.name is not a string', { attributes: { 'cif.kpi.name': 7 } }, true],
  ];
  events.forEach(([what, event, kept]) =>
    it(`${kept ? 'keeps' : 'leaves out'} ${what}`, () => {
      expect(recordedKpiEventsOnly(event)).to.equal(kept);
    }),
  );
});
