import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import type { CifAnalyticsClient, CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient, formatCifCall, installFakeCIFramework, type FakeCifSessionApis } from '../../src/testing/index.js';

type Host = EventTarget & { Microsoft?: { CIFramework?: CifAnalyticsClient & FakeCifSessionApis } };

/** What a promise settled with: `['resolved', value]` or `['rejected', error]`. */
const settled = (promise: Promise<unknown>): Promise<[string, unknown]> =>
  promise.then(
    (value) => ['resolved', value],
    (error: unknown) => ['rejected', error],
  );

describe('RecordingCifClient: data the host could not copy', () => {
  // docs/browser.md: `data` is kept "as received: a structured clone, as the host's messaging
  // makes". The host's messaging fails on what it cannot clone, so the call fails there.
  const uncloneable: Array<[what: string, data: () => unknown, error: (e: unknown) => void]> = [
    ['a function inside', () => ({ events: [], onSent() {} }), (e) => expect(e).to.have.property('name', 'DataCloneError')],
    ['a proxy', () => new Proxy({ events: [] }, {}), (e) => expect(e).to.have.property('name', 'DataCloneError')],
    [
      'a getter that throws',
      () => ({
        get events(): never {
          throw new Error('events not ready');
        },
      }),
      (e) => expect(e).to.have.property('message', 'events not ready'),
    ],
  ];
  uncloneable.forEach(([what, data, error]) =>
    it(`fails the call, as the host does, when the data holds ${what}`, async () => {
      const client = new RecordingCifClient();
      const [outcome, value] = await settled(client.logAnalyticsEvent(data() as CifAnalyticsData, 'CallAccepted'));
      expect(outcome).to.equal('rejected');
      error(value);
    }),
  );

  it('keeps a copy, so a change the widget makes to its object after the call changes no recorded call', async () => {
    const client = new RecordingCifClient();
    const data = { conversationId: 'conv-1', events: [], toJSON: () => 'unused' } as unknown as CifAnalyticsData & { conversationId: string };
    await client.logAnalyticsEvent(data, 'CallAccepted').catch(() => {});
    data.conversationId = 'changed later';
    expect(client.calls.map((call) => (call.data as { conversationId?: string }).conversationId)).to.not.include('changed later');
  });
});

describe('formatCifCall: any call printed without failing', () => {
  const header = "logAnalyticsEvent 'CallAccepted'  correlationId (none)";
  const odd: Array<[what: string, data: unknown]> = [
    ['a customData value with no prototype', { events: [{ kpiEventName: 'A', customData: [{ attribute: 'msdyn_x1', value: Object.create(null) }] }] }],
    ['a customData attribute whose toString throws', { events: [{ kpiEventName: 'A', customData: [{ attribute: { toString: () => { throw new Error('no text'); } }, value: 'v' }] }] }],
    [
      'a field whose getter throws',
      {
        events: [],
        get conversationId(): never {
          throw new Error('conversation not ready');
        },
      },
    ],
  ];
  it('prints data whose events are no array, such as a Map, as JSON, not as KPI events', () => {
    const data = { conversationId: 'conv-1', events: new Map([['CallAccepted', 1]]) };
    expect(formatCifCall({ data: data as unknown as CifAnalyticsData, eventName: 'CallAccepted', correlationId: undefined })).to.equal(
      `${header}\n  data {"conversationId":"conv-1","events":{}}`,
    );
  });

  odd.forEach(([what, data]) =>
    it(`prints a call whose data has ${what}`, () => {
      let printed: string | undefined;
      expect(() => (printed = formatCifCall({ data: data as CifAnalyticsData, eventName: 'CallAccepted', correlationId: undefined }))).to.not.throw();
      expect(printed?.split('\n')[0]).to.equal(header);
    }),
  );
});

describe('installFakeCIFramework: the host it stands in for', () => {
  it("answers logAnalyticsEvent with a promise, rejected when the client throws, as the host's does", async () => {
    const client: CifAnalyticsClient = {
      logAnalyticsEvent: () => {
        throw new Error('client broke');
      },
    };
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target, client);
    try {
      let result: unknown;
      expect(() => (result = target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'CallAccepted'))).to.not.throw();
      const [outcome, value] = await settled(result as Promise<string>);
      expect([outcome, (value as Error).message]).to.deep.equal(['rejected', 'client broke']);
    } finally {
      fake.uninstall();
    }
  });
});

describe('installFakeCIFramework with startAfterMillis, uninstalled before it started', () => {
  it('never dispatches CIFInitDone, even when the timer it set still fires (fake timers uninstalled before the fake)', () => {
    // A test's afterEach that uninstalls the clock first: the fake's clearTimeout is then the real
    // one, which cannot clear the fake timer. Docs: `started` "rejects if uninstalled before".
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const target: Host = new EventTarget();
    let initDone = 0;
    target.addEventListener('CIFInitDone', () => initDone++);
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 10 });
    clock.uninstall();
    fake.uninstall();
    clock.tick(10);
    expect([initDone, 'Microsoft' in target]).to.deep.equal([0, false]);
  });

  it("puts the target back when the page's clearTimeout throws", () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 10 });
    const pageClearTimeout = globalThis.clearTimeout;
    globalThis.clearTimeout = (() => {
      throw new Error("the page's clearTimeout broke");
    }) as typeof clearTimeout;
    try {
      expect(() => fake.uninstall()).to.not.throw();
    } finally {
      globalThis.clearTimeout = pageClearTimeout;
      clock.uninstall();
    }
    expect('Microsoft' in target).to.equal(false);
  });
});
