import { expect } from 'chai';
import type { CifAnalyticsData } from '../../src/index.js';
import { RecordingCifClient, installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';

// Vendors run these helpers in their own test suites, most often on a DOM implementation in Node
// (jsdom, happy-dom, Jest's jsdom environment), in place of the Dynamics host.

describe('installFakeCIFramework on the window of jsdom or happy-dom', () => {
  it("dispatches CIFInitDone with the window's own Event, which the window's dispatchEvent requires", () => {
    // jsdom's and happy-dom's windows refuse an Event of another realm (Node's global Event) with
    // exactly this TypeError: `installFakeCIFramework(dom.window)` then throws, as the docs' example does.
    class WindowEvent extends Event {}
    class DomWindow extends EventTarget {
      readonly Event = WindowEvent;
      override dispatchEvent(event: Event): boolean {
        if (!(event instanceof WindowEvent)) throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
        return super.dispatchEvent(event);
      }
    }
    const window = new DomWindow();
    let heard = 0;
    window.addEventListener('CIFInitDone', () => heard++);
    let fake: FakeCIFramework | undefined;
    try {
      expect(() => (fake = installFakeCIFramework(window))).to.not.throw();
      expect(heard).to.equal(1);
    } finally {
      fake?.uninstall();
    }
  });
});

describe('RecordingCifClient where the page has no structuredClone, as in Jest\'s jsdom environment', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'structuredClone')!;
  beforeEach(() => delete (globalThis as { structuredClone?: unknown }).structuredClone);
  afterEach(() => Object.defineProperty(globalThis, 'structuredClone', saved));

  it("records and answers a call, as a copy, in Jest's jsdom environment, which has no structuredClone", async () => {
    const client = new RecordingCifClient();
    const data: CifAnalyticsData = {
      conversationId: 'conv-1',
      providerSessionId: 'prov-1',
      events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z' }],
    };
    const answer = await client.logAnalyticsEvent(data, 'CallAccepted', '4bf92f35-77b3-4da6-a3ce-929d0e0e4736').catch((error: unknown) => error);
    data.conversationId = 'changed later';
    expect(answer).to.equal('ok');
    expect(client.payloads().map((payload) => payload.conversationId)).to.deep.equal(['conv-1']);
  });

  it('fails, unrecorded, a call whose data holds a function or is a proxy, with the message structuredClone gives, as the host does', async () => {
    // A widget that passes its framework's reactive state (a proxy) fails in Dynamics 365, so it fails here too.
    const client = new RecordingCifClient();
    const answers = await Promise.all(
      [{ conversationId: () => 'conv-1' }, new Proxy({ conversationId: 'conv-1', events: [] }, {})].map((data) =>
        client.logAnalyticsEvent(data as unknown as CifAnalyticsData, 'CallAccepted').then(String, (error: Error) => error.message),
      ),
    );
    expect([answers.map((message) => message.replace(/^.*=>.* could/, 'function could')), client.calls]).to.deep.equal([
      ['function could not be cloned.', '#<Object> could not be cloned.'],
      [],
    ]);
  });

  it('records a copy that keeps Dates, Sets, Maps, nulls and cycles as structuredClone does, and refuses a symbol, naming it', async () => {
    const client = new RecordingCifClient();
    const columns = new Map([['msdyn_customattribute1', 'tier-2']]);
    const data = { conversationId: 'conv-1', providerSessionId: null, columns, at: new Date(0), tags: new Set(['vip']) } as unknown as CifAnalyticsData & { self: unknown };
    data.self = data;
    await client.logAnalyticsEvent(data, 'CallAccepted');
    columns.set('msdyn_customattribute1', 'changed later');
    const refused = await client.logAnalyticsEvent({ conversationId: Symbol('conv') } as unknown as CifAnalyticsData, 'CallHold').then(String, (error: Error) => error.message);
    const recorded = client.calls[0]?.data as typeof data;
    expect(recorded.self).to.equal(recorded);
    expect([{ ...recorded, self: undefined }, client.calls.length, refused]).to.deep.equal([
      { conversationId: 'conv-1', providerSessionId: null, columns: new Map([['msdyn_customattribute1', 'tier-2']]), at: new Date(0), tags: new Set(['vip']), self: undefined },
      1,
      'Symbol(conv) could not be cloned.',
    ]);
  });

  describe('nor a Node v8 serializer (a browser of before 2022)', () => {
    const process = globalThis.process as { getBuiltinModule?: unknown };
    const getBuiltinModule = process.getBuiltinModule;
    beforeEach(() => delete process.getBuiltinModule);
    afterEach(() => (process.getBuiltinModule = getBuiltinModule));

    it('copies plain data, arrays, Maps and nulls, and refuses a function, a symbol and a cycle', async () => {
      const client = new RecordingCifClient();
      const columns = new Map([['msdyn_customattribute1', 'tier-2']]);
      await client.logAnalyticsEvent({ conversationId: 'conv-1', providerSessionId: null, events: [{ columns }] } as unknown as CifAnalyticsData, 'CallAccepted');
      columns.set('msdyn_customattribute1', 'changed later');
      const cyclic: Record<string, unknown> = { conversationId: 'conv-1' };
      cyclic.self = cyclic;
      const answers = await Promise.all(
        [{ conversationId: () => 'conv-1' }, { conversationId: Symbol('conv') }, cyclic].map((data) =>
          client.logAnalyticsEvent(data as unknown as CifAnalyticsData, 'CallHold').then(String, (error: Error) => error.name),
        ),
      );
      expect([client.calls.map((call) => call.data), answers]).to.deep.equal([
        [{ conversationId: 'conv-1', providerSessionId: null, events: [{ columns: new Map([['msdyn_customattribute1', 'tier-2']]) }] }],
        ['TypeError', 'TypeError', 'RangeError'],
      ]);
    });
  });
});
