import FakeTimers from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { context } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { StackContextManager } from '@opentelemetry/sdk-trace-web';
import { CifSpanExporter, recordKpiEvent, type CifAnalyticsClient } from '../../src/index.js';
import { CifSessionSpanProcessor, withCifSession } from '../../src/index.js';
import { DEFAULT_OPTIONS } from '../../src/options.js';
import { RecordingCifClient, installFakeCIFramework, type FakeCIFramework, type FakeCifSessionApis } from '../../src/testing/index.js';
import { pageWindow } from '../helpers/fake-client.js';
import { FIXED_TRACE_ID, IDENTITY, TRACE_GUID } from '../helpers/spans.js';

type Host = EventTarget & { Microsoft?: { CIFramework?: CifAnalyticsClient & Record<string, unknown> } & Record<string, unknown> };

describe('installFakeCIFramework', () => {
  it('defines Microsoft.CIFramework.logAnalyticsEvent on the target, answered by a RecordingCifClient', async () => {
    const target: Host = new EventTarget();
    const { client } = installFakeCIFramework(target);
    expect(client).to.be.instanceOf(RecordingCifClient);
    const answer = await target.Microsoft!.CIFramework!.logAnalyticsEvent({ conversationId: 'c', providerSessionId: 'p', events: [] }, 'A', 'id');
    expect(answer).to.equal('ok');
    expect(client.calls).to.deep.equal([
      { data: { conversationId: 'c', providerSessionId: 'p', events: [] }, eventName: 'A', correlationId: 'id' },
    ]);
  });

  it('dispatches CIFInitDone on the target after the API is defined', () => {
    const target: Host = new EventTarget();
    const seen: Array<{ type: string; ready: boolean }> = [];
    target.addEventListener('CIFInitDone', (e) =>
      seen.push({ type: e.type, ready: typeof target.Microsoft?.CIFramework?.logAnalyticsEvent === 'function' }),
    );
    installFakeCIFramework(target);
    expect(seen).to.deep.equal([{ type: 'CIFInitDone', ready: true }]);
  });

  it('uses the client it is given', async () => {
    const client = new RecordingCifClient({ answer: 'from my client' });
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target, client);
    expect(fake.client).to.equal(client);
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A', 'id')).to.equal('from my client');
    expect(client.calls).to.deep.equal([{ data: '{}', eventName: 'A', correlationId: 'id' }]);
  });

  it('keeps what Microsoft and Microsoft.CIFramework already hold, and restores them on uninstall', async () => {
    const getEnvironment = () => Promise.resolve('environment of the page');
    const original = () => Promise.resolve('real host');
    const getFocusedSession = () => Promise.resolve('session of the page');
    const cif = { getEnvironment, getFocusedSession, logAnalyticsEvent: original };
    const microsoft = { Dynamic365: 'kept', CIFramework: cif };
    const target = { Microsoft: microsoft } as unknown as Host;
    const fake = installFakeCIFramework(target);
    expect(target.Microsoft).to.equal(microsoft);
    expect(target.Microsoft!['Dynamic365']).to.equal('kept');
    expect(await (target.Microsoft!.CIFramework!['getEnvironment'] as typeof getEnvironment)()).to.equal('environment of the page');
    expect(await (target.Microsoft!.CIFramework!['getFocusedSession'] as typeof getFocusedSession)()).to.equal('session of the page');
    expect(await (target.Microsoft!.CIFramework!['getSession'] as (id: string) => Promise<Map<string, unknown>>)('session-1')).to.be.instanceOf(Map);
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A')).to.equal('ok');

    fake.uninstall();
    fake.uninstall();
    expect(target.Microsoft).to.equal(microsoft);
    expect(microsoft.CIFramework).to.equal(cif);
    expect(cif.logAnalyticsEvent).to.equal(original);
  });

  it('removes what it created on uninstall', () => {
    const target: Host = new EventTarget();
    installFakeCIFramework(target).uninstall();
    expect(Object.prototype.hasOwnProperty.call(target, 'Microsoft')).to.equal(false);
    const withMicrosoft = { Microsoft: {} } as Host;
    installFakeCIFramework(withMicrosoft).uninstall();
    expect(withMicrosoft.Microsoft).to.deep.equal({});
  });

  it('throws a TypeError when the target holds a Microsoft that is not an object', () => {
    expect(() => installFakeCIFramework({ Microsoft: 'x' })).to.throw(TypeError, /target.Microsoft must be an object/);
  });

  it('throws a TypeError that names the target when it is null or not an object', () => {
    expect(() => installFakeCIFramework(null as never)).to.throw(TypeError, 'installFakeCIFramework: target must be an object (got null).');
    expect(() => installFakeCIFramework('x' as never)).to.throw(TypeError, 'installFakeCIFramework: target must be an object (got x).');
  });

  it('throws a TypeError that names the client when it has no logAnalyticsEvent method, leaving the target as it was', () => {
    const target: Record<string, unknown> = {};
    expect(() => installFakeCIFramework(target, {} as never)).to.throw(TypeError, 'installFakeCIFramework: client must have a logAnalyticsEvent method (got [object Object]).');
    expect(() => installFakeCIFramework(target, null as never)).to.throw(TypeError, 'installFakeCIFramework: client must have a logAnalyticsEvent method (got null).');
    expect(target).to.deep.equal({});
  });

  it('names the client in its TypeError also when the client has no prototype or is an array', () => {
    expect(() => installFakeCIFramework({}, Object.create(null) as never)).to.throw(TypeError, 'installFakeCIFramework: client must have a logAnalyticsEvent method (got object).');
    expect(() => installFakeCIFramework({}, [] as never)).to.throw(TypeError, 'installFakeCIFramework: client must have a logAnalyticsEvent method (got []).');
    expect(() => installFakeCIFramework({}, undefined, { startAfterMillis: Object.create(null) as never })).to.throw(
      TypeError,
      'installFakeCIFramework: option `startAfterMillis` must be a number from 0 to 2147483647 (got object).',
    );
  });

  it('installs on a function as target, as on any object', async () => {
    const target = Object.assign(function page() {}, {}) as unknown as { Microsoft?: { CIFramework?: CifAnalyticsClient } };
    const fake = installFakeCIFramework(target);
    await target.Microsoft!.CIFramework!.logAnalyticsEvent({ events: [] } as never, 'e');
    expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['e']);
  });

  it('reads its options as the exporters read theirs: none from Object.prototype, and a getter that throws names the option', () => {
    Object.defineProperty(Object.prototype, 'startAfterMillis', { value: 60_000, configurable: true, writable: true });
    let fake: FakeCIFramework | undefined;
    try {
      const target: Host = new EventTarget();
      let initDone = 0;
      target.addEventListener('CIFInitDone', () => initDone++);
      fake = installFakeCIFramework(target, undefined, {});
      expect(initDone).to.equal(1);
    } finally {
      delete (Object.prototype as Record<string, unknown>).startAfterMillis;
      fake?.uninstall();
    }
    const unreadable = { get startAfterMillis(): never { throw new Error('no delay'); } };
    expect(() => installFakeCIFramework({}, undefined, unreadable)).to.throw(TypeError, 'installFakeCIFramework: option `startAfterMillis` cannot be read (got Error: no delay).');
  });

  it('takes the longest delay setTimeout honours as startAfterMillis', () => {
    let fake: ReturnType<typeof installFakeCIFramework> | undefined;
    expect(() => (fake = installFakeCIFramework({}, undefined, { startAfterMillis: 2_147_483_647 }))).not.to.throw();
    fake?.uninstall();
  });

  it('takes null options as no options, as RecordingCifClient does', async () => {
    const target: { Microsoft?: { CIFramework?: CifAnalyticsClient } } = {};
    const fake = installFakeCIFramework(target, undefined, null as never);
    await target.Microsoft!.CIFramework!.logAnalyticsEvent({ events: [] } as never, 'e');
    expect(fake.client.calls).to.have.length(1);
    fake.uninstall();
  });

  it('on globalThis, is what CifSpanExporter calls when it has no client option', async () => {
    const { client, uninstall } = installFakeCIFramework();
    const provider = new BasicTracerProvider({
      idGenerator: FIXED_TRACE_ID,
      resource: resourceFromAttributes({}),
      spanProcessors: [new SimpleSpanProcessor(new CifSpanExporter())],
    });
    try {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallHold', undefined, new Date('2026-11-25T10:15:30.123Z'));
      span.end();
      await provider.forceFlush();
      expect(client.calls).to.deep.equal([
        {
          data: {
            conversationId: 'conv-1',
            providerSessionId: 'prov-1',
            events: [{ kpiEventName: 'CallHold', eventTimestamp: '2026-11-25T10:15:30.123Z' }],
          },
          eventName: 'CallHold',
          correlationId: TRACE_GUID,
        },
      ]);
    } finally {
      uninstall();
      await provider.shutdown();
    }
    expect(Object.prototype.hasOwnProperty.call(globalThis, 'Microsoft')).to.equal(false);
  });

  it("on Node's globalThis, dispatches no CIFInitDone, so a call its client fails, and one exported after it, wait until readyTimeoutMillis after its first attempt before CifSpanExporter makes them", async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const start = Date.now();
    const made: Array<[string, number]> = [];
    const client = new RecordingCifClient({
      onCall: (call) => made.push([call.eventName, Date.now() - start]),
      answer: (_call, index) => (index === 0 ? Promise.reject(new Error('Provider not active')) : 'ok'),
    });
    const fake = installFakeCIFramework(globalThis, client);
    const exporter = new CifSpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      await fake.started;
      const record = (name: string) => {
        const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
        recordKpiEvent(span, name);
        span.end();
      };
      record('CallAccepted');
      await clock.tickAsync(1_000);
      record('CallHold');
      await clock.tickAsync(DEFAULT_OPTIONS.readyTimeoutMillis - 1_001);
      expect(made).to.deep.equal([['CallAccepted', 0]]);
      await clock.tickAsync(1_001);
      expect(made).to.deep.equal([
        ['CallAccepted', 0],
        ['CallAccepted', DEFAULT_OPTIONS.readyTimeoutMillis],
        // Sent as the library answers the call before it: answered, it needs no CIFInitDone.
        ['CallHold', DEFAULT_OPTIONS.readyTimeoutMillis],
      ]);
      expect(exporter.getStats()).to.include({ kpiEventsDelivered: 2, callsFailed: 0 });
    } finally {
      fake.uninstall();
      const closing = provider.shutdown();
      await clock.runAllAsync();
      await closing;
      clock.uninstall();
    }
  });

  it('with startAfterMillis, is present at once but rejects calls until it dispatches CIFInitDone', async () => {
    const target: Host = new EventTarget();
    let initDone = 0;
    target.addEventListener('CIFInitDone', () => initDone++);
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 20 });
    try {
      const cif = target.Microsoft!.CIFramework!;
      expect(typeof cif.logAnalyticsEvent).to.equal('function');
      let rejection: unknown;
      await cif.logAnalyticsEvent('{}', 'Early').catch((error: unknown) => (rejection = error));
      expect(rejection).to.be.instanceOf(Error);
      expect((rejection as Error).message).to.match(/not initialized yet/);
      expect(initDone).to.equal(0);
      await fake.started;
      expect(initDone).to.equal(1);
      expect(await cif.logAnalyticsEvent('{}', 'Late')).to.equal('ok');
      expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['Late']);
    } finally {
      fake.uninstall();
    }
  });

  it('with startAfterMillis, has CifSpanExporter deliver a KPI event exported before the library started', async () => {
    const page = pageWindow();
    const fake = installFakeCIFramework(globalThis, undefined, { startAfterMillis: 50 });
    const exporter = new CifSpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    try {
      const span = provider.getTracer('softphone').startSpan('call', { attributes: IDENTITY });
      recordKpiEvent(span, 'CallAccepted', undefined, new Date('2026-11-25T10:15:30.123Z'));
      span.end();
      await provider.forceFlush();
      expect(fake.client.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
      const stats = exporter.getStats();
      expect(stats).to.include({ kpiEventsDelivered: 1, callsMade: 2, callsFailed: 0 });
      expect(stats.dropped.host_error).to.equal(0);
    } finally {
      fake.uninstall();
      page.restore();
      await provider.shutdown();
    }
  });

  it('starts at once without startAfterMillis, and refuses a startAfterMillis that is not a number of at least 0', async () => {
    const fake = installFakeCIFramework(new EventTarget());
    await fake.started;
    expect(() => installFakeCIFramework(new EventTarget(), undefined, { startAfterMillis: -1 })).to.throw(TypeError, /startAfterMillis/);
  });

  it('refuses a startAfterMillis past the longest delay setTimeout honours, which would start it at once', () => {
    const target: Host = new EventTarget();
    for (const startAfterMillis of [2 ** 31, '10' as unknown as number]) {
      expect(() => installFakeCIFramework(target, undefined, { startAfterMillis })).to.throw(TypeError, /startAfterMillis/);
    }
    expect(target.Microsoft).to.equal(undefined);
  });

  it('with a startAfterMillis of 0, starts on the next turn of the timers', async () => {
    const target: Host = new EventTarget();
    let initDone = 0;
    target.addEventListener('CIFInitDone', () => initDone++);
    const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 0 });
    expect(initDone).to.equal(0);
    await fake.started;
    expect(initDone).to.equal(1);
    fake.uninstall();
  });

  it('with startAfterMillis, keeps Node running until it starts', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const fake = installFakeCIFramework(new EventTarget(), undefined, { startAfterMillis: 1 });
    expect(timers()).to.equal(before + 1);
    await fake.started;
    fake.uninstall();
  });

  it('never starts when uninstalled before startAfterMillis ran out, and rejects started', async () => {
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const target: Host = new EventTarget();
      let initDone = 0;
      target.addEventListener('CIFInitDone', () => initDone++);
      const fake = installFakeCIFramework(target, undefined, { startAfterMillis: 10 });
      fake.uninstall();
      clock.runAll();
      expect(initDone).to.equal(0);
      // A test that awaits it in its cleanup does not hang.
      let rejection: unknown;
      await fake.started.catch((error: unknown) => (rejection = error));
      expect(rejection).to.be.instanceOf(Error).with.property('message', 'the fake CIF library was uninstalled before it started');
    } finally {
      clock.uninstall();
    }
  });

  it('leaves no unhandled rejection when uninstalled before it started and started is never awaited', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      installFakeCIFramework(new EventTarget(), undefined, { startAfterMillis: 10 }).uninstall();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('puts back a Microsoft the target held as undefined on uninstall', () => {
    const target: { Microsoft?: unknown } = { Microsoft: undefined };
    installFakeCIFramework(target).uninstall();
    expect(Object.getOwnPropertyDescriptor(target, 'Microsoft')).to.deep.include({ value: undefined });
  });

  it('installs into a Microsoft object the target will not let be replaced', async () => {
    const microsoft: Record<string, unknown> = {};
    const target = Object.defineProperty(new EventTarget(), 'Microsoft', {
      get: () => microsoft,
      set: () => {
        throw new TypeError('Microsoft cannot be replaced');
      },
    }) as Host;
    const fake = installFakeCIFramework(target);
    expect(target.Microsoft).to.equal(microsoft);
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A', 'id')).to.equal('ok');
    fake.uninstall();
    expect(microsoft).to.deep.equal({});
  });

  it('starts without dispatching CIFInitDone where there is no Event constructor', async () => {
    const target: Host = new EventTarget();
    const { Event: savedEvent } = globalThis;
    let fake: ReturnType<typeof installFakeCIFramework> | undefined;
    delete (globalThis as { Event?: unknown }).Event;
    try {
      fake = installFakeCIFramework(target);
    } finally {
      globalThis.Event = savedEvent;
    }
    await fake.started;
    expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A', 'id')).to.equal('ok');
    fake.uninstall();
  });

  const notObjects: Array<[what: string, microsoft: unknown]> = [
    ['null', null],
    ['a string', 'Microsoft'],
  ];
  notObjects.forEach(([what, microsoft]) =>
    it(`throws a TypeError when target.Microsoft is ${what}`, () => {
      const target = { Microsoft: microsoft };
      expect(() => installFakeCIFramework(target)).to.throw(TypeError, /target\.Microsoft must be an object/);
      expect(target).to.deep.equal({ Microsoft: microsoft });
    }),
  );

  it('does nothing on a second uninstall, even after the target got a Microsoft of its own', () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    fake.uninstall();
    const own = { CIFramework: { logAnalyticsEvent: () => Promise.resolve('own') } };
    (target as unknown as Record<string, unknown>)['Microsoft'] = own;
    fake.uninstall();
    expect(target.Microsoft).to.equal(own);
    expect(own.CIFramework.logAnalyticsEvent).to.be.a('function');
  });

  it('puts back the CIFramework it replaced when the page has replaced the fake since, with no fake of its own', () => {
    const original = { logAnalyticsEvent: () => Promise.resolve('page') };
    const microsoft: Record<string, unknown> = { CIFramework: original };
    const fake = installFakeCIFramework({ Microsoft: microsoft });
    microsoft['CIFramework'] = { logAnalyticsEvent: () => Promise.resolve('replaced by the page') };
    fake.uninstall();
    expect(microsoft['CIFramework']).to.equal(original);
  });

  it("calls no `restore` a page library put on Object.prototype when a fake over another is uninstalled", () => {
    const calls: unknown[] = [];
    Object.defineProperty(Object.prototype, 'restore', { value: () => void calls.push('restore'), configurable: true, writable: true });
    const target: Host = new EventTarget();
    try {
      const older = installFakeCIFramework(target);
      const newer = installFakeCIFramework(target);
      newer.uninstall();
      older.uninstall();
    } finally {
      delete (Object.prototype as Record<string, unknown>)['restore'];
    }
    expect([calls, 'Microsoft' in target]).to.deep.equal([[], false]);
  });

  describe('three fakes on one target, of two copies of the package, uninstalled in any order', () => {
    /** Every order of uninstalling fakes 0, 1 and 2. */
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const pageHost = () => Promise.resolve('page');
    const targets: Array<[what: string, make: () => Host]> = [
      ['no Microsoft', () => new EventTarget()],
      ['a Microsoft without CIFramework', () => Object.assign(new EventTarget(), { Microsoft: { Dynamic365: 'kept' } }) as Host],
      ['a CIFramework of its own', () => Object.assign(new EventTarget(), { Microsoft: { CIFramework: { logAnalyticsEvent: pageHost } } }) as Host],
    ];
    /** What the page sees: whether the target holds Microsoft, which one, what it holds, and which CIFramework. */
    const shape = (target: Host) => {
      const microsoft = target.Microsoft;
      return [Object.prototype.hasOwnProperty.call(target, 'Microsoft'), microsoft, Object.keys(microsoft ?? {}).join(), microsoft?.CIFramework];
    };
    /** Copies of the module loaded so far: each test loads a new one, also when it runs again in one process. */
    let copies = 0;

    targets.forEach(([what, make]) =>
      orders.forEach((order) =>
        it(`on a target with ${what}, uninstalled as ${order.join(', ')}: the newest fake still installed answers, and the target ends as it was`, async () => {
          const url = new URL(`../../src/testing/fake-cif-framework.ts?copy-${++copies}`, import.meta.url);
          const { installFakeCIFramework: otherCopy } = (await import(url.href)) as { installFakeCIFramework: typeof installFakeCIFramework };
          const target = make();
          const before = shape(target);
          const fakes = [installFakeCIFramework, otherCopy, installFakeCIFramework].map((install, n) =>
            install(target, new RecordingCifClient({ answer: `fake ${n}` })),
          );
          const installed = new Set([0, 1, 2]);
          for (const n of order) {
            fakes[n]!.uninstall();
            installed.delete(n);
            const newest = Math.max(...installed);
            if (installed.size > 0) expect(await target.Microsoft!.CIFramework!.logAnalyticsEvent('{}', 'A')).to.equal(`fake ${newest}`);
          }
          expect(shape(target)).to.have.ordered.members(before);
        }),
      ),
    );
  });

  describe('the session APIs', () => {
    type SessionHost = EventTarget & { Microsoft: { CIFramework: FakeCifSessionApis } };
    const install = (options?: { startAfterMillis: number }) => {
      const target = new EventTarget() as SessionHost;
      const fake = installFakeCIFramework(target, undefined, options);
      return { fake, cif: target.Microsoft.CIFramework };
    };
    const session = (n: number, isFocused: boolean) =>
      new Map<string, string | boolean>([
        ['sessionId', `session-${n}`],
        ['conversationId', `conversation-${n}`],
        ['isFocused', isFocused],
      ]);

    it('focus one session from the start, whose Map gives its conversation id', async () => {
      const { cif } = install();
      const sessionId = await cif.getFocusedSession();
      expect(sessionId).to.equal('session-1');
      const info = await cif.getSession(sessionId);
      expect(info).to.deep.equal(session(1, true));
      expect(info.get('conversationId')).to.equal('conversation-1');
    });

    it('create each new session with the next ids and focus it', async () => {
      const { cif } = install();
      expect([await cif.createSession({ templateName: 'msdyn_chat_session' }), await cif.createSession()]).to.deep.equal([
        'session-2',
        'session-3',
      ]);
      expect(await cif.getFocusedSession()).to.equal('session-3');
      const sessions = await Promise.all(['session-1', 'session-2', 'session-3'].map((id) => cif.getSession(id)));
      expect(sessions).to.deep.equal([session(1, false), session(2, false), session(3, true)]);
    });

    const unknown: Array<[what: string, id: unknown]> = [
      ['a session not created yet', 'session-2'],
      ['an empty id', ''],
      ['an id that is not a string', 1],
      ['a name of Object.prototype', 'constructor'],
    ];
    unknown.forEach(([what, id]) =>
      it(`reject getSession for ${what}`, async () => {
        const { cif } = install();
        let rejection: unknown;
        await cif.getSession(id as string).catch((error: unknown) => (rejection = error));
        expect(rejection).to.be.instanceOf(Error);
        expect((rejection as Error).message).to.equal(`getSession: no session ${String(id)}`);
      }),
    );

    const calls: Array<[name: keyof FakeCifSessionApis, call: (cif: FakeCifSessionApis) => Promise<unknown>]> = [
      ['createSession', (cif) => cif.createSession()],
      ['getFocusedSession', (cif) => cif.getFocusedSession()],
      ['getSession', (cif) => cif.getSession('session-1')],
    ];
    calls.forEach(([name, call]) =>
      it(`reject ${name} until the library has started, then answer it`, async () => {
        const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] });
        const { fake, cif } = install({ startAfterMillis: 10 });
        try {
          let rejection: unknown;
          await call(cif).catch((error: unknown) => (rejection = error));
          expect((rejection as Error).message).to.equal('CIF library not initialized yet: wait for CIFInitDone');
          await clock.tickAsync(10);
          await fake.started;
          expect(await call(cif)).to.not.equal(undefined);
        } finally {
          fake.uninstall();
          clock.uninstall();
        }
      }),
    );

    it("give the ids of the README's quick start, which CifSpanExporter then sends", async () => {
      const { client, uninstall } = installFakeCIFramework();
      context.setGlobalContextManager(new StackContextManager().enable());
      const provider = new BasicTracerProvider({
        idGenerator: FIXED_TRACE_ID,
        spanProcessors: [new CifSessionSpanProcessor(), new SimpleSpanProcessor(new CifSpanExporter())],
      });
      try {
        const cif = (globalThis as unknown as SessionHost).Microsoft.CIFramework;
        const sessionId = await cif.getFocusedSession();
        const conversationId = (await cif.getSession(sessionId)).get('conversationId') as string;
        withCifSession({ conversationId, providerSessionId: 'CA5f3c2e9b7d' }, () => {
          const span = provider.getTracer('softphone').startSpan('accept call');
          recordKpiEvent(span, 'CallAccepted', { notificationResponseAction: 'accepted' }, new Date('2026-11-25T10:15:30.123Z'));
          span.end();
        });
        await provider.forceFlush();
        expect(client.calls).to.deep.equal([
          {
            data: {
              conversationId: 'conversation-1',
              providerSessionId: 'CA5f3c2e9b7d',
              events: [{ kpiEventName: 'CallAccepted', eventTimestamp: '2026-11-25T10:15:30.123Z', notificationResponseAction: 'accepted' }],
            },
            eventName: 'CallAccepted',
            correlationId: TRACE_GUID,
          },
        ]);
      } finally {
        uninstall();
        context.disable();
        await provider.shutdown();
      }
    });
  });
});

describe('installFakeCIFramework client-side events', () => {
  type Handlers = {
    addHandler(eventName: string, handler: (data: unknown) => unknown): void;
    removeHandler(eventName: string, handler: (data: unknown) => unknown): Promise<boolean>;
  };
  const library = (target: Host) => target.Microsoft!.CIFramework as unknown as Handlers;

  it('calls the handlers added for an event, in the order added, each once, and resolves with their answers', async () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    const seen: string[] = [];
    const first = (data: unknown) => (seen.push(`first ${JSON.stringify(data)}`), 'one');
    const second = () => (seen.push('second'), Promise.resolve('two'));
    library(target).addHandler('onSessionSwitched', first);
    library(target).addHandler('onsessionswitched', second);
    library(target).addHandler('onsessionswitched', first);
    library(target).addHandler('onmodechanged', () => seen.push('wrong event'));
    expect(await fake.fireEvent('onsessionswitched', { sessionId: 's-2', focused: true })).to.deep.equal(['one', 'two']);
    expect(seen).to.deep.equal(['first {"sessionId":"s-2","focused":true}', 'second']);
  });

  it('removes a handler with removeHandler, resolving whether there was one to remove, and leaves the others', async () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    const seen: string[] = [];
    const handler = () => seen.push('removed');
    const kept = () => (seen.push('kept'), 'kept');
    library(target).addHandler('onclicktoact', kept);
    library(target).addHandler('onclicktoact', handler);
    expect(await library(target).removeHandler('onClickToAct', handler)).to.equal(true);
    expect(await library(target).removeHandler('onclicktoact', handler)).to.equal(false);
    expect(await library(target).removeHandler('onmodechanged', handler)).to.equal(false);
    expect(await fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' })).to.deep.equal(['kept']);
    expect(await fake.fireEvent('onsendkbarticle')).to.deep.equal([]);
    expect(seen).to.deep.equal(['kept']);
  });

  it("answers setPresence with its boolean of success, and getPresence with the agent's presence", async () => {
    const target: Host = new EventTarget();
    installFakeCIFramework(target);
    const cif = target.Microsoft!.CIFramework as unknown as { setPresence(text: unknown): Promise<boolean>; getPresence(): Promise<string> };
    const answers = [await cif.getPresence()];
    for (const text of ['Busy', '', 42, 'Away']) answers.push(`${String(text)}: ${await cif.setPresence(text)}, now ${await cif.getPresence()}`);
    expect(answers).to.deep.equal(['Available', 'Busy: true, now Busy', ': false, now Busy', '42: false, now Busy', 'Away: true, now Away']);
  });

  it('fires the handlers added under a name that is not a string, read as text as addHandler reads it, and never throws', async () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    library(target).addHandler(42 as unknown as string, () => 'answered');
    const fire = (name: unknown) => fake.fireEvent(name as string).catch((error: unknown) => error);
    expect([await fire(42), await fire('42'), await fire(undefined)]).to.deep.equal([['answered'], ['answered'], []]);
  });

  it('answers fireEvent for a name that cannot be read as text (no prototype, a toString that throws) with no handler called, and never throws', async () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    let calls = 0;
    library(target).addHandler('[object Object]', () => calls++);
    const names = [Object.create(null) as unknown, { toString: () => { throw new Error('no name'); } }];
    const answers = names.map((name) => fake.fireEvent(name as string).catch((error: unknown) => error));
    expect([await Promise.all(answers), calls]).to.deep.equal([[[], []], 0]);
  });

  it('rejects fireEvent with what a handler throws', async () => {
    const target: Host = new EventTarget();
    const fake = installFakeCIFramework(target);
    const thrown = new Error('handler bug');
    library(target).addHandler('onsessionclosed', () => {
      throw thrown;
    });
    expect(await fake.fireEvent('onsessionclosed').catch((error: unknown) => error)).to.equal(thrown);
  });
});
