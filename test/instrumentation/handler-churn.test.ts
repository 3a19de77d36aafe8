import { context, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { CifInstrumentation } from '../../src/instrumentation.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';
import { unhandledRejectionsOf } from '../helpers/unhandled.js';

type Fn = (...args: unknown[]) => unknown;
type Library = Record<string, Fn>;
type Host = EventTarget & { Microsoft?: { CIFramework?: Library } };

/** A promise and the function that settles it, as a host that answers later holds them. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('CifInstrumentation handlers, under addHandler and removeHandler churn, against the host without it', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let spans: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let target: Host;
  let fake: FakeCIFramework;
  const instrumentations: CifInstrumentation[] = [];
  const unregisters: Array<() => void> = [];

  const cif = () => target.Microsoft!.CIFramework!;
  const register = () => {
    const instrumentation = new CifInstrumentation({ target });
    instrumentations.push(instrumentation);
    unregisters.push(registerInstrumentations({ instrumentations: [instrumentation], tracerProvider: provider }));
    return instrumentation;
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  /**
   * The stand-in host, whose first removeHandler answers only when `fail` is called, with a
   * rejection, and removes nothing: a removal the host failed after a while (a postMessage that
   * timed out).
   */
  function installSlowFailingRemove(): { fail: () => void } {
    fake = installFakeCIFramework(target);
    const hostRemove = cif().removeHandler!;
    const first = later<boolean>();
    let failing = true;
    cif().removeHandler = function (this: unknown, ...args: unknown[]) {
      if (!failing) return hostRemove.apply(this, args);
      failing = false;
      return first.promise;
    };
    return { fail: () => first.reject(new Error('CIF timed out')) };
  }

  /**
   * How many times a handler runs at one event after `widget` did its calls, with `traced` the
   * instrumentation registered before them or not: each scenario must end as it does without it.
   */
  async function runsAfter(traced: boolean, widget: (handler: Fn, fail: () => void) => Promise<void>): Promise<number> {
    const { fail } = installSlowFailingRemove();
    if (traced) register();
    let runs = 0;
    await widget(() => void runs++, fail);
    await fake.fireEvent('onclicktoact', {});
    return runs;
  }

  before(() => context.setGlobalContextManager(contextManager.enable()));
  after(() => context.disable());
  beforeEach(() => {
    spans = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    target = new EventTarget() as Host;
  });
  afterEach(async () => {
    for (const instrumentation of instrumentations.splice(0)) instrumentation.disable();
    for (const unregister of unregisters.splice(0)) unregister();
    fake?.uninstall();
    await provider.shutdown();
  });

  [
    {
      what: 'removes a handler, adds it again while the host has not answered the removal, which then fails, and removes it once more',
      widget: async (handler: Fn, fail: () => void) => {
        cif().addHandler!('onclicktoact', handler);
        const removal = (cif().removeHandler!('onclicktoact', handler) as Promise<unknown>).catch(() => 'failed');
        cif().addHandler!('onclicktoact', handler);
        fail();
        await removal;
        await cif().removeHandler!('onclicktoact', handler);
      },
    },
    {
      what: 'calls removeHandler twice in a row, and the host fails the first one after it removed the handler at the second',
      widget: async (handler: Fn, fail: () => void) => {
        cif().addHandler!('onclicktoact', handler);
        const first = (cif().removeHandler!('onclicktoact', handler) as Promise<unknown>).catch(() => 'failed');
        const second = cif().removeHandler!('onclicktoact', handler) as Promise<unknown>;
        fail();
        await Promise.all([first, second]);
      },
    },
  ].forEach(({ what, widget }) =>
    it(`runs a handler no more often than the host alone does when the widget ${what}`, async () => {
      const without = await runsAfter(false, widget);
      fake.uninstall();
      target = new EventTarget() as Host;
      const withIt = await runsAfter(true, widget);
      expect({ without, withIt }).to.deep.equal({ without: 0, withIt: 0 });
    }),
  );

  it('removes with removeHandler a handler added while two instrumentations are enabled, when the page bound removeHandler between the two', async () => {
    fake = installFakeCIFramework(target);
    register();
    // A page that binds one function of the library, as frameworks do before passing it around.
    cif().removeHandler = cif().removeHandler!.bind(cif());
    register();
    let runs = 0;
    const handler = () => void runs++;
    cif().addHandler!('onclicktoact', handler);
    const removed = await cif().removeHandler!('onclicktoact', handler);
    await fake.fireEvent('onclicktoact', {});
    expect({ removed, runs }).to.deep.equal({ removed: true, runs: 0 });
  });

  it('makes one span of a removeHandler call, and removes the handler, with two instrumentations and the page binding removeHandler between them', async () => {
    fake = installFakeCIFramework(target);
    register();
    cif().removeHandler = cif().removeHandler!.bind(cif());
    register();
    const handler = () => {};
    cif().addHandler!('onclicktoact', handler);
    spans.reset();
    await cif().removeHandler!('onclicktoact', handler);
    await flush();
    expect(spans.getFinishedSpans().map((s) => `${SpanKind[s.kind]} ${s.name}`)).to.deep.equal(['CLIENT Microsoft.CIFramework/removeHandler']);
  });
  /**
   * The stand-in host, whose removeHandler removes at once and answers only when the test says:
   * each answer is held until `answer(n)` releases the n-th (from 0). With `alwaysTrue`, it answers
   * true also where it held nothing, as a host whose removal is idempotent may.
   */
  function installSlowAnsweringRemove(alwaysTrue = false): { answer: (n: number) => Promise<void> } {
    fake = installFakeCIFramework(target);
    const hostRemove = cif().removeHandler!;
    const held: Array<() => void> = [];
    cif().removeHandler = function (this: unknown, ...args: unknown[]) {
      const done = (hostRemove.apply(this, args) as Promise<boolean>).then((removed) => removed || alwaysTrue);
      const answer = later<boolean>();
      held.push(() => void done.then(answer.resolve));
      return answer.promise;
    };
    return {
      answer: async (n) => {
        held[n]!();
        await flush();
      },
    };
  }

  it('removes a handler added again while the host had not answered a removal it then did', async () => {
    const { answer } = installSlowAnsweringRemove();
    register();
    let runs = 0;
    const handler = () => void runs++;
    cif().addHandler!('onclicktoact', handler);
    void cif().removeHandler!('onclicktoact', handler);
    cif().addHandler!('onclicktoact', handler);
    await answer(0);
    void cif().removeHandler!('onclicktoact', handler);
    await answer(1);
    await fake.fireEvent('onclicktoact', {});
    expect(runs).to.equal(0);
  });

  it("keeps a handler's new wrapper known when an older removal of it answers after a later one forgot the first", async () => {
    const { answer } = installSlowAnsweringRemove(true);
    register();
    let runs = 0;
    const handler = () => void runs++;
    cif().addHandler!('onclicktoact', handler);
    void cif().removeHandler!('onclicktoact', handler);
    void cif().removeHandler!('onclicktoact', handler);
    await answer(1);
    // Forgotten, then added anew, with a wrapper of its own; the first removal's answer comes last.
    cif().addHandler!('onclicktoact', handler);
    await answer(0);
    void cif().removeHandler!('onclicktoact', handler);
    await answer(2);
    await fake.fireEvent('onclicktoact', {});
    expect(runs).to.equal(0);
  });

  it('takes without a throw the answer to a removal that comes after the handler was forgotten, or after disable()', async () => {
    const { answer } = installSlowAnsweringRemove(true);
    const instrumentation = register();
    const handler = () => {};
    const unhandled = await unhandledRejectionsOf(async () => {
      cif().addHandler!('onclicktoact', handler);
      void cif().removeHandler!('onclicktoact', handler);
      void cif().removeHandler!('onclicktoact', handler);
      await answer(1);
      await answer(0);
      cif().addHandler!('onsessionclosed', handler);
      void cif().removeHandler!('onsessionclosed', handler);
      instrumentation.disable();
      await answer(2);
    });
    expect(unhandled.map(String)).to.deep.equal([]);
  });

  /** An instrumentation registered, and a handler of the widget that counts its runs, for the widget's calls around `disable()`. */
  function countedHandler() {
    const unregister = registerInstrumentations({ instrumentations: [new CifInstrumentation({ target })], tracerProvider: provider });
    const counted = { runs: 0, handler: () => void counted.runs++, unregister };
    return counted;
  }
  /** Lets the host answer every call it was asked. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await flush();
  };

  // docs/instrumentation.md asks the widget to remove its handlers before disable(); the host may answer a removal later.
  it('keeps a handler the widget adds again after disable(), when disable() came before the host answered its removal', async () => {
    fake = installFakeCIFramework(target);
    const widget = countedHandler();
    cif().addHandler!('onclicktoact', widget.handler);
    void cif().removeHandler!('onclicktoact', widget.handler);
    widget.unregister();
    // The widget starts again, untraced: the host takes its handler.
    cif().addHandler!('onclicktoact', widget.handler);
    await settle();
    await fake.fireEvent('onclicktoact', {});
    expect(widget.runs).to.equal(1);
  });

  it('stops calling a handler the widget removed before disable(), on a host whose removeHandler answers later with no value', async () => {
    fake = installFakeCIFramework(target);
    const hostRemove = cif().removeHandler!;
    cif().removeHandler = function (this: unknown, ...args: unknown[]) {
      return Promise.resolve(hostRemove.apply(this, args)).then(() => undefined);
    };
    const widget = countedHandler();
    cif().addHandler!('onclicktoact', widget.handler);
    void cif().removeHandler!('onclicktoact', widget.handler);
    widget.unregister();
    await settle();
    await fake.fireEvent('onclicktoact', {});
    expect(widget.runs).to.equal(0);
  });

  it('lets the widget remove after disable() a handler it added again while the host had not answered its removal', async () => {
    fake = installFakeCIFramework(target);
    const widget = countedHandler();
    cif().addHandler!('onclicktoact', widget.handler);
    void cif().removeHandler!('onclicktoact', widget.handler);
    cif().addHandler!('onclicktoact', widget.handler);
    widget.unregister();
    await settle();
    // Untraced now: the host must hold the handler itself for this to take it out.
    await cif().removeHandler!('onclicktoact', widget.handler);
    await fake.fireEvent('onclicktoact', {});
    expect(widget.runs).to.equal(0);
  });

  it('gives the host back at disable() a handler whose removal the host failed, so that the widget can still remove it', async () => {
    const { fail } = installSlowFailingRemove();
    const widget = countedHandler();
    cif().addHandler!('onclicktoact', widget.handler);
    const removal = (cif().removeHandler!('onclicktoact', widget.handler) as Promise<unknown>).catch(() => 'failed');
    fail();
    expect(await removal).to.equal('failed');
    widget.unregister();
    await settle();
    await cif().removeHandler!('onclicktoact', widget.handler);
    await fake.fireEvent('onclicktoact', {});
    expect(widget.runs).to.equal(0);
  });
});
