import { expect } from 'chai';
import type { CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient, formatCifCall, type RecordedCifCall } from '../../src/testing/index.js';

const DATA: CifAnalyticsData = {
  conversationId: 'conv-1',
  providerSessionId: 'prov-1',
  participantId: 'agent-7',
  events: [
    {
      kpiEventName: 'CallAccepted',
      eventTimestamp: '2026-11-25T10:15:30.123Z',
      notificationResponseAction: 'accepted',
      customData: [
        { attribute: 'msdyn_customattribute1', value: 'billing' },
        { attribute: 'msdyn_customattribute2', value: 'vip' },
      ],
    },
  ],
};
const GUID = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';

describe('RecordingCifClient', () => {
  it('keeps every call, oldest first, and answers ok by default', async () => {
    const client = new RecordingCifClient();
    const answers = await Promise.all([
      client.logAnalyticsEvent(DATA, 'CallAccepted', GUID),
      client.logAnalyticsEvent('{"events":[]}', 'CallHold'),
    ]);
    expect(answers).to.deep.equal(['ok', 'ok']);
    expect(client.calls).to.deep.equal([
      { data: DATA, eventName: 'CallAccepted', correlationId: GUID },
      { data: '{"events":[]}', eventName: 'CallHold', correlationId: undefined },
    ]);
  });

  it('gives the payload of every call, oldest first, with the JSON text of dataFormat json parsed', async () => {
    const client = new RecordingCifClient();
    await client.logAnalyticsEvent(DATA, 'CallAccepted', GUID);
    await client.logAnalyticsEvent(JSON.stringify({ ...DATA, conversationId: 'conv-2' }), 'CallAccepted', GUID);
    expect(client.payloads()).to.deep.equal([DATA, { ...DATA, conversationId: 'conv-2' }]);
    // A copy, as the host's messaging makes: the caller's object is not kept.
    expect(client.payloads()[0]).not.to.equal(DATA);
  });

  it("names the call whose data is text that is not JSON when asked for the payloads, with the parser's error as its cause", async () => {
    const client = new RecordingCifClient();
    await client.logAnalyticsEvent(DATA, 'CallAccepted', GUID);
    await client.logAnalyticsEvent('not json', 'CallHold', GUID);
    expect(() => client.payloads()).to.throw(SyntaxError, /^call #2 \('CallHold'\) has data that is text but not JSON: /);
    expect(() => client.payloads()).to.throw(SyntaxError).with.property('cause').that.is.instanceOf(SyntaxError);
  });

  it('throws a TypeError when onCall is given and is not a function, instead of failing every call', () => {
    expect(() => new RecordingCifClient({ onCall: 'log' as never })).to.throw(TypeError, "RecordingCifClient: option `onCall` must be a function (got 'log').");
    expect(() => new RecordingCifClient({ onCall: null as never })).to.throw(TypeError, 'RecordingCifClient: option `onCall` must be a function (got null).');
    expect(() => new RecordingCifClient({ onCall: Object.create(null) as never })).to.throw(TypeError, 'RecordingCifClient: option `onCall` must be a function (got object).');
    expect(() => new RecordingCifClient({ onCall: [] as never })).to.throw(TypeError, 'RecordingCifClient: option `onCall` must be a function (got []).');
  });

  it('throws a TypeError when answer is neither a string nor a function, or the options are no object', () => {
    expect(() => new RecordingCifClient({ answer: 42 as never })).to.throw(TypeError, 'RecordingCifClient: option `answer` must be a string or a function (got 42).');
    for (const [options, shown] of [[5, '5'], ['ok', "'ok'"], [[], '[]']] as const) {
      expect(() => new RecordingCifClient(options as never)).to.throw(TypeError, `RecordingCifClient: options must be a plain object (got ${shown}).`);
    }
  });

  it('reads its options as the exporters read theirs: none from Object.prototype, and a getter that throws names the option', async () => {
    for (const [key, value] of Object.entries({ answer: 'polluted', onCall: 'x' })) Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
    try {
      expect(await new RecordingCifClient({}).logAnalyticsEvent(DATA, 'CallAccepted', GUID)).to.equal('ok');
    } finally {
      delete (Object.prototype as Record<string, unknown>).answer;
      delete (Object.prototype as Record<string, unknown>).onCall;
    }
    const unreadable = { get answer(): never { throw new Error('no answer'); } };
    expect(() => new RecordingCifClient(unreadable)).to.throw(TypeError, 'RecordingCifClient: option `answer` cannot be read (got Error: no answer).');
  });

  it('takes null options as no options, as an untyped caller may pass them', async () => {
    const client = new RecordingCifClient(null as never);
    expect(await client.logAnalyticsEvent(DATA, 'CallAccepted', GUID)).to.equal('ok');
  });

  it('answers with a fixed string, or with what the answer function returns for each call', async () => {
    const fixed = new RecordingCifClient({ answer: 'recorded' });
    const perCall = new RecordingCifClient({ answer: (call, index) => `${call.eventName}#${index}` });
    expect(await fixed.logAnalyticsEvent(DATA, 'A')).to.equal('recorded');
    expect([await perCall.logAnalyticsEvent(DATA, 'A'), await perCall.logAnalyticsEvent(DATA, 'B')]).to.deep.equal([
      'A#0',
      'B#1',
    ]);
  });

  const failures: Array<[string, () => Promise<string>]> = [
    ['returns a rejected promise', () => Promise.reject(new Error('Provider not active'))],
    [
      'throws',
      () => {
        throw new Error('Provider not active');
      },
    ],
  ];
  failures.forEach(([what, answer]) =>
    it(`fails the call with a rejected promise, never a throw, when the answer function ${what}`, async () => {
      const client = new RecordingCifClient({ answer });
      const result = client.logAnalyticsEvent(DATA, 'A', GUID);
      expect(result).to.be.instanceOf(Promise);
      const error = await result.then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(Error).with.property('message', 'Provider not active');
      expect(client.calls).to.have.length(1);
    }),
  );

  it('hands each call to onCall as it is recorded, and fails the call when onCall throws', async () => {
    const seen: Array<[RecordedCifCall, number]> = [];
    const client = new RecordingCifClient({
      onCall: (call, index) => {
        seen.push([call, index]);
        if (index === 1) throw new Error('printer broke');
      },
    });
    expect(await client.logAnalyticsEvent(DATA, 'A', GUID)).to.equal('ok');
    const error = await client.logAnalyticsEvent(DATA, 'B', GUID).then(() => undefined, (e: unknown) => e);
    expect(error).to.have.property('message', 'printer broke');
    expect(seen).to.deep.equal([
      [{ data: DATA, eventName: 'A', correlationId: GUID }, 0],
      [{ data: DATA, eventName: 'B', correlationId: GUID }, 1],
    ]);
  });

  it('forgets its calls on clear', async () => {
    const client = new RecordingCifClient();
    await client.logAnalyticsEvent(DATA, 'A');
    client.clear();
    expect(client.calls).to.deep.equal([]);
  });

  it('prints every call with its identity and KPI events, one field a line', async () => {
    const client = new RecordingCifClient();
    await client.logAnalyticsEvent(DATA, 'CallAccepted', GUID);
    await client.logAnalyticsEvent(JSON.stringify({ ...DATA, events: [{ kpiEventName: 'CallHold', eventTimestamp: 'T' }] }), 'CallHold');
    expect(client.format()).to.equal(
      [
        `#1 logAnalyticsEvent 'CallAccepted'  correlationId ${GUID}`,
        '  conversationId     conv-1',
        '  providerSessionId  prov-1',
        '  participantId      agent-7',
        '  events[0]',
        '    kpiEventName                CallAccepted',
        '    eventTimestamp              2026-11-25T10:15:30.123Z',
        '    notificationResponseAction  accepted',
        '    customData                  msdyn_customattribute1 = billing, msdyn_customattribute2 = vip',
        '',
        "#2 logAnalyticsEvent 'CallHold'  correlationId (none)  (data sent as JSON text)",
        '  conversationId     conv-1',
        '  providerSessionId  prov-1',
        '  participantId      agent-7',
        '  events[0]',
        '    kpiEventName    CallHold',
        '    eventTimestamp  T',
      ].join('\n'),
    );
  });

  const shapes: Array<[what: string, data: unknown, printed: string[]]> = [
    ['an object without events', { conversationId: 'conv-1' }, ['  data {"conversationId":"conv-1"}']],
    ['an array', ['conv-1'], ['  data ["conv-1"]']],
    ['null', null, ['  data null']],
    ['JSON text that is not an object', '"conv-1"', ['  data "\\"conv-1\\""']],
    [
      'events that are not objects, and fields that are not strings',
      { conversationId: 7, events: ['CallHold', { kpiEventName: 'A', customData: [{ attribute: 'msdyn_x1', value: 'v' }, 'loose'], n: [1] }] },
      [
        '  conversationId  7',
        '  events[0]',
        '    value  CallHold',
        '  events[1]',
        '    kpiEventName  A',
        '    customData    msdyn_x1 = v, "loose"',
        '    n             [1]',
      ],
    ],
    ['a customData field that is not an array', { events: [{ customData: 'none' }] }, ['  events[0]', '    customData  none']],
  ];
  shapes.forEach(([what, data, printed]) =>
    it(`prints data that is ${what} as it is, without failing`, () => {
      const call = { data: data as never, eventName: 'A', correlationId: undefined };
      expect(formatCifCall(call).split('\n')).to.deep.equal(["logAnalyticsEvent 'A'  correlationId (none)", ...printed]);
    }),
  );

  it('prints data that is not a CIF payload as JSON instead of failing', () => {
    const call = { data: 'not json', eventName: 'A', correlationId: GUID };
    expect(formatCifCall(call)).to.equal(`logAnalyticsEvent 'A'  correlationId ${GUID}\n  data "not json"`);
  });
});
