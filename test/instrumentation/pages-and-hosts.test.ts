import { diag, ProxyTracerProvider, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import { runInNewContext } from 'node:vm';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework } from '../../src/testing/index.js';
import { captureLevels } from '../helpers/diag.js';
import { useTracedPage } from '../helpers/traced-page.js';
import { traceIdToGuid } from '../../src/index.js';

type Fn = (...args: unknown[]) => unknown;
type Library = Record<string, Fn>;
type Host = EventTarget & { Microsoft?: { CIFramework?: Library } };

const HUGE = 1_000_000;

describe('CifInstrumentation, on pages that bind, wrap or freeze its functions, and hosts that refuse', () => {
  const others: Array<{ disable(): void }> = [];
  // Before the page's own: other instrumentations go first, then the page's.
  afterEach(() => {
    diag.disable();
    for (const other of others.splice(0)) other.disable();
  });
  const page = useTracedPage();
  const { cif, register } = page;
  const names = () => page.spans.getFinishedSpans().map((s) => `${SpanKind[s.kind]} ${s.name}`);

  describe('a function the page binds or wraps after enable()', () => {
    it('makes one span per call when the page binds a traced function to the library and CIFInitDone comes again', async () => {
      page.fake = installFakeCIFramework(page.target);
      register();
      cif().setPresence = cif().setPresence!.bind(cif());
      page.target.dispatchEvent(new Event('CIFInitDone'));
      await cif().setPresence!('Busy');
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/setPresence']);
    });

    it('makes one span per call when the page wraps a traced function in one of its own and enable() is called again', async () => {
      page.fake = installFakeCIFramework(page.target);
      const instrumentation = register();
      const traced = cif().getPresence!;
      cif().getPresence = function (this: unknown, ...args: unknown[]) {
        return traced.apply(this, args);
      };
      instrumentation.enable();
      await cif().getPresence!();
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/getPresence']);
    });

    it('removes with removeHandler a handler added through an addHandler the page bound after enable(), once CIFInitDone came again', async () => {
      page.fake = installFakeCIFramework(page.target);
      register();
      cif().addHandler = cif().addHandler!.bind(cif());
      page.target.dispatchEvent(new Event('CIFInitDone'));
      const seen: unknown[] = [];
      const handler = (data: unknown) => void seen.push(data);
      await cif().addHandler!('onclicktoact', handler);
      await cif().removeHandler!('onclicktoact', handler);
      await page.fake.fireEvent('onclicktoact', 'after removeHandler');
      expect(seen).to.deep.equal([]);
    });
  });

  describe('a call made again from within a call', () => {
    /**
     * A stand-in host (a page's own, outside Dynamics 365) whose setPresence raises onsetpresence
     * at once, inside the call, then runs `after`.
     */
    function installPresenceHost(after: (text: unknown) => unknown = () => {}): void {
      const handlers: Fn[] = [];
      page.target.Microsoft = {
        CIFramework: {
          addHandler: (_event, handler) => void handlers.push(handler as Fn),
          removeHandler: (_event, handler) => Promise.resolve(handlers.splice(handlers.indexOf(handler as Fn), 1).length > 0),
          setPresence(text) {
            for (const handler of [...handlers]) handler(text);
            after(text);
            return Promise.resolve(true);
          },
        },
      };
    }

    it('traces a call of setPresence that a handler makes while the host runs it within a call of setPresence', async () => {
      installPresenceHost();
      register();
      // The widget's handler puts the agent back to Away when something set Offline.
      cif().addHandler!('onsetpresence', (text: unknown) => {
        if (text === 'Offline') void cif().setPresence!('Away');
      });
      page.spans.reset();
      await cif().setPresence!('Offline');
      await new Promise(setImmediate);
      // Each call of the widget is a CLIENT span, that of the handler too (docs/instrumentation.md, Spans).
      expect(names().filter((name) => name === 'CLIENT Microsoft.CIFramework/setPresence')).to.have.length(2);
    });

    it('does not trace a call the host makes of the same method within its own call, after it ran a handler there', async () => {
      // For 'Offline', the host sets 'Away' itself, through the global.
      installPresenceHost((text) => text === 'Offline' && void cif().setPresence!('Away'));
      register();
      cif().addHandler!('onsetpresence', () => {});
      page.spans.reset();
      await cif().setPresence!('Offline');
      await new Promise(setImmediate);
      expect(names()).to.deep.equal(['INTERNAL Microsoft.CIFramework onsetpresence', 'INTERNAL Microsoft.CIFramework onsetpresence', 'CLIENT Microsoft.CIFramework/setPresence']);
    });

    it('leaves an enabled instrumentation tracing when the wrapper of another one, disabled, stays frozen around it', async () => {
      page.fake = installFakeCIFramework(page.target);
      register();
      // The page binds a traced function, a second instrumentation wraps that, and the page freezes the library.
      cif().setPresence = cif().setPresence!.bind(cif());
      const second = new CifInstrumentation({ target: page.target });
      second.setTracerProvider(page.provider);
      others.push(second);
      Object.freeze(cif());
      second.disable();
      await cif().setPresence!('Busy');
      // The first instrumentation is still enabled: its call is traced, once.
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/setPresence']);
    });
  });

  describe('a function the library inherited, then no longer inherits', () => {
    it('is not called once the library withdrew it, as without the wrapper (docs: "the function the library inherits at the time of each call")', () => {
      class Library {
        getMode(): string {
          return 'stub';
        }
      }
      const library = new Library() as unknown as Record<string, () => unknown>;
      page.target.Microsoft = { CIFramework: library };
      page.register();
      // The library withdraws the API from its class after enable() (as it may swap it for its implementation).
      delete (Library.prototype as unknown as Record<string, unknown>).getMode;
      expect(() => library.getMode!()).to.throw(TypeError);
    });
  });

  describe('a library whose prototype chain, as a proxy reports it, comes back to itself', () => {
    it('is looked over once by enable(), which the page can then go on from (the code as it was never returned, but for this proxy giving up)', () => {
      let asked = 0;
      // Two proxies whose getPrototypeOf traps name each other: the page's own reads never ask them (no get trap), enable() does.
      // After 10,000 questions they throw, so that the code that loops for ever ends here.
      const trap = (next: () => object) => () => {
        if (++asked > 10_000) throw new Error('asked for ever');
        return next();
      };
      // It also names a property it has no descriptor for, which enable() then looks for along the chain.
      const first: object = new Proxy({}, { getPrototypeOf: trap(() => second), ownKeys: () => ['ghost'] });
      const second: object = new Proxy({}, { getPrototypeOf: trap(() => first) });
      const library = Object.create(first) as Record<string, () => unknown>;
      library.getMode = () => 1;
      page.target.Microsoft = { CIFramework: library };
      expect(library.missing).to.equal(undefined);
      page.register();
      expect(library.getMode!()).to.equal(1);
      expect(page.spans.getFinishedSpans().map((s) => s.name)).to.deep.equal(['Microsoft.CIFramework/getMode']);
      expect(asked).to.be.below(100);
    });
  });

  describe('a library the page froze after enable()', () => {
    it('runs a handler added after disable() and enable() inside a span, as it traces the calls', async () => {
      page.fake = installFakeCIFramework(page.target);
      const instrumentation = register();
      Object.freeze(cif());
      instrumentation.disable();
      instrumentation.enable();
      await cif().addHandler!('onclicktoact', () => 'handled');
      await page.fake.fireEvent('onclicktoact', { value: '+1 425 555 0100' });
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/addHandler', 'INTERNAL Microsoft.CIFramework onclicktoact']);
    });
  });

  describe('a library the page froze, while disabled', () => {
    it('hands the host a handler added while disabled as it is: it runs without a span once enabled again, and removeHandler removes it', async () => {
      page.fake = installFakeCIFramework(page.target);
      const instrumentation = register();
      Object.freeze(cif());
      instrumentation.disable();
      let calls = 0;
      const handler = () => void calls++;
      await cif().addHandler!('onclicktoact', handler);
      instrumentation.enable();
      await page.fake.fireEvent('onclicktoact', {});
      await cif().removeHandler!('onclicktoact', handler);
      await page.fake.fireEvent('onclicktoact', {});
      expect(calls).to.equal(1);
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/removeHandler']);
    });
  });

  describe('disable() with a host that fails to remove the wrapper', () => {
    for (const [how, fail] of [
      ['rejects', () => Promise.reject(new Error('host busy'))],
      ['answers false', () => Promise.resolve(false)],
    ] as const) {
      it(`calls the handler once per event after disable() when the host's removeHandler ${how} at the swap`, async () => {
        page.fake = installFakeCIFramework(page.target);
        const hostRemove = cif().removeHandler!;
        let failNext = false;
        cif().removeHandler = function (this: unknown, ...args: unknown[]) {
          if (!failNext) return hostRemove.apply(this, args);
          failNext = false;
          return fail();
        };
        register();
        let calls = 0;
        await cif().addHandler!('onclicktoact', () => void calls++);
        failNext = true;
        page.unregister!();
        page.unregister = undefined;
        // Once the host has answered the swap.
        await new Promise(setImmediate);
        await page.fake.fireEvent('onclicktoact', {});
        expect(calls).to.equal(1);
      });
    }
  });

  describe('a removeHandler the host fails only after disable()', () => {
    it('leaves the handler removable by the widget, as one whose removal failed before disable() is', async () => {
      page.fake = installFakeCIFramework(page.target);
      // The host's first removeHandler answers later, with a failure, and removes nothing (a postMessage that timed out).
      const hostRemove = page.cif().removeHandler!;
      let failFirst!: (reason: unknown) => void;
      let first = true;
      page.cif().removeHandler = function (this: unknown, ...args: unknown[]) {
        if (!first) return hostRemove.apply(this, args);
        first = false;
        return new Promise((_resolve, reject) => (failFirst = reject));
      };
      const unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: page.target })], tracerProvider: page.provider });
      let runs = 0;
      const handler = () => void runs++;

      // The widget removes its handler before disable(), as docs/instrumentation.md asks; the host fails that removal after.
      page.cif().addHandler!('onclicktoact', handler);
      const removal = (page.cif().removeHandler!('onclicktoact', handler) as Promise<unknown>).catch(() => 'failed');
      unregister();
      failFirst(new Error('CIF timed out'));
      expect(await removal).to.equal('failed');
      for (let i = 0; i < 5; i++) await new Promise(setImmediate);

      // The widget tries again, as it would after any failed removal.
      await page.cif().removeHandler!('onclicktoact', handler);
      await page.fake.fireEvent('onclicktoact', {});
      expect(runs).to.equal(0);
    });

    it('gives nothing back when another removal the host answers after disable() removes the wrapper', async () => {
      page.fake = installFakeCIFramework(page.target);
      // Each removeHandler answers when the test says: the first fails, the second removes what it was given.
      const hostRemove = page.cif().removeHandler!;
      const answers: Array<{ fail: () => void; remove: () => Promise<unknown> }> = [];
      page.cif().removeHandler = function (this: unknown, ...args: unknown[]) {
        return new Promise((resolve, reject) =>
          answers.push({ fail: () => reject(new Error('CIF timed out')), remove: async () => resolve(await hostRemove.apply(this, args)) }),
        );
      };
      const unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: page.target })], tracerProvider: page.provider });
      let runs = 0;
      const handler = () => void runs++;

      page.cif().addHandler!('onclicktoact', handler);
      const removals = [1, 2].map(() => (page.cif().removeHandler!('onclicktoact', handler) as Promise<unknown>).catch(() => 'failed'));
      unregister();
      answers[0]!.fail();
      await answers[1]!.remove();
      expect(await Promise.all(removals)).to.deep.equal(['failed', true]);
      for (let i = 0; i < 5; i++) await new Promise(setImmediate);

      await page.fake.fireEvent('onclicktoact', {});
      expect(runs).to.equal(0);
    });
  });

  describe('disable() with a host that refuses the handler back', () => {
    it("leaves the wrapper with the host, which calls the handler once per event, says so at DEBUG, and the widget's removeHandler of its handler cannot reach it", async () => {
      page.fake = installFakeCIFramework(page.target);
      const hostAdd = cif().addHandler!;
      let refuse = false;
      cif().addHandler = function (this: unknown, ...args: unknown[]) {
        return refuse ? Promise.reject(new Error('host busy')) : hostAdd.apply(this, args);
      };
      register();
      let calls = 0;
      const handler = () => void calls++;
      await cif().addHandler!('onclicktoact', handler);
      const lines = captureLevels();
      refuse = true;
      page.unregister!();
      page.unregister = undefined;
      await new Promise(setImmediate);
      await page.fake.fireEvent('onclicktoact', {});
      expect(calls).to.equal(1);
      expect(lines.filter((line) => line.includes('stays wrapped'))).to.deep.equal(['debug the onclicktoact handler stays wrapped: the host did not take it back Error: host busy']);
      // As docs/instrumentation.md says: remove handlers before disable().
      expect(await cif().removeHandler!('onclicktoact', handler)).to.equal(false);
      await page.fake.fireEvent('onclicktoact', {});
      expect(calls).to.equal(2);
    });
  });

  describe("the host's answer to addHandler", () => {
    it('calls the then of a thenable addHandler answers once, as it does for any other call', () => {
      page.fake = installFakeCIFramework(page.target);
      const hostAdd = cif().addHandler!;
      let thens = 0;
      cif().addHandler = function (this: unknown, ...args: unknown[]) {
        hostAdd.apply(this, args);
        return {
          then(resolve: Fn) {
            thens++;
            resolve(true);
          },
        };
      };
      register();
      cif().addHandler!('onclicktoact', () => {});
      expect(thens).to.equal(1);
    });
  });

  describe('with a library of another frame, huge names and reasons, and no tracer page.provider registered', () => {
    it('wraps nothing every object has when the CIFramework was made in another realm (a frame the page passes as page.target)', () => {
      page.target.Microsoft = runInNewContext('({ CIFramework: { getMode() { return 1; } } })') as Host['Microsoft'];
      const own = Object.getOwnPropertyNames(cif());
      register();
      void String(cif());
      expect(Object.getOwnPropertyNames(cif())).to.deep.equal(own);
      expect(page.spans.getFinishedSpans().map((s) => s.name)).to.deep.equal([]);
    });

    it('traces the methods of a library made with no prototype, the static methods a library class inherits, and those of a prototype with none', () => {
      const bare = Object.assign(Object.create(null) as Library, { getMode: () => 1 });
      class Base {
        static getEnvironment(): number {
          return 2;
        }
      }
      class Framework extends Base {}
      const heir = Object.create(Object.assign(Object.create(null) as object, { getSession: () => 3 })) as Library;
      for (const [library, method] of [[bare, 'getMode'], [Framework, 'getEnvironment'], [heir, 'getSession']] as const) {
        page.target.Microsoft = { CIFramework: library as unknown as Record<string, Fn> };
        register();
        cif()[method]!();
        page.unregister!();
      }
      expect(page.spans.getFinishedSpans().map((s) => s.name)).to.deep.equal([
        'Microsoft.CIFramework/getMode',
        'Microsoft.CIFramework/getEnvironment',
        'Microsoft.CIFramework/getSession',
      ]);
    });

    it('cuts the event name in the name and ciframework.event of a handler span to 100 characters, as a KPI event name is cut', async () => {
      page.fake = installFakeCIFramework(page.target);
      register();
      const eventName = 'e'.repeat(HUGE);
      cif().addHandler!(eventName, () => 'handled');
      await page.fake.fireEvent(eventName);
      const span = page.spans.getFinishedSpans().find((s) => s.kind === SpanKind.INTERNAL);
      expect([span!.name, span!.attributes['ciframework.event']]).to.deep.equal([`Microsoft.CIFramework ${'e'.repeat(100)}`, 'e'.repeat(100)]);
    });

    it('cuts the method name in the name and rpc.method of a call span to 100 characters, as a handler span cuts its event name', () => {
      const method = 'm'.repeat(HUGE);
      page.target.Microsoft = { CIFramework: { [method]: () => 'done' } };
      register();
      expect(cif()[method]!()).to.equal('done');
      const [span] = page.spans.getFinishedSpans();
      const name = `Microsoft.CIFramework/${'m'.repeat(100)}`;
      expect([span!.name, span!.attributes['rpc.method']]).to.deep.equal([name, name]);
    });

    it('cuts the status message and exception it writes of a large object the host rejects with to 2000 characters, and rejects with that object', async () => {
      const reason = { errorCode: 42, details: 'x'.repeat(HUGE) };
      page.target.Microsoft = { CIFramework: { getEnvironment: () => Promise.reject(reason) } };
      register();
      const rejected = await (cif().getEnvironment!() as Promise<unknown>).catch((error: unknown) => error);
      const [span] = page.spans.getFinishedSpans();
      expect(rejected).to.equal(reason);
      expect(span!.status.code).to.equal(SpanStatusCode.ERROR);
      const message = span!.status.message!;
      expect([message.length, message.endsWith('…'), message.startsWith('CIF host rejected the call: {"errorCode":42,"details":"xxx')]).to.deep.equal([2001, true, true]);
      expect(span!.events.map((event) => event.attributes?.['exception.message'])).to.deep.equal([message]);
    });

    it("gives a call no span, but the active span's trace id, when no tracer page.provider is registered and a span of the widget's own page.provider is active", async () => {
      const received: unknown[][] = [];
      page.target.Microsoft = { CIFramework: { createSession: (...args: unknown[]) => (received.push(args), Promise.resolve('session-1')) } };
      page.unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target: page.target })], tracerProvider: new ProxyTracerProvider() });
      let traceId = '';
      await page.provider.getTracer('widget').startActiveSpan('accept', async (span) => {
        traceId = span.spanContext().traceId;
        await cif().createSession!({ templateName: 't' });
        span.end();
      });
      expect(page.spans.getFinishedSpans().map((s) => s.name)).to.deep.equal(['accept']);
      expect(received).to.deep.equal([[{ templateName: 't' }, traceIdToGuid(traceId)]]);
    });
  });

  // docs/instrumentation.md
  describe('as docs/instrumentation.md says', () => {
    it('traces a library the page replaced without a new CIFInitDone from the next enable() on', async () => {
      page.fake = installFakeCIFramework(page.target);
      const instrumentation = register();
      // The page puts a new library in place, and no CIFInitDone follows.
      page.target.Microsoft = { CIFramework: { setPresence: () => Promise.resolve(true) } };
      await page.target.Microsoft.CIFramework!['setPresence']!('Busy');
      expect(names()).to.deep.equal([]);
      instrumentation.enable();
      await page.target.Microsoft.CIFramework!['setPresence']!('Away');
      expect(names()).to.deep.equal(['CLIENT Microsoft.CIFramework/setPresence']);
    });

    it('holds twice a handler the host held itself before enable() and that is added again while enabled, itself and its wrapper', async () => {
      page.fake = installFakeCIFramework(page.target);
      let calls = 0;
      const handler = () => void calls++;
      await page.target.Microsoft!.CIFramework!['addHandler']!('onmodechanged', handler);
      register();
      await page.target.Microsoft!.CIFramework!['addHandler']!('onmodechanged', handler);
      await page.fake.fireEvent('onmodechanged', 1);
      expect(calls).to.equal(2);
      expect(names().filter((name) => name === 'INTERNAL Microsoft.CIFramework onmodechanged')).to.have.length(1);
    });
  });
});
