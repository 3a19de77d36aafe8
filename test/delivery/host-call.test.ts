import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { expect } from 'chai';
import { callHost } from '../../src/delivery/host-call.js';
import { CifHostError } from '../../src/errors.js';
import type { CifAnalyticsClient, CifCall } from '../../src/types.js';

const call: CifCall = {
  data: { conversationId: 'conv-1', providerSessionId: 'prov-1', events: [{ kpiEventName: 'Accepted', eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
  eventName: 'Accepted',
  correlationId: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736',
};

/** A promise whose `then` calls both of its callbacks. */
class TwiceAnswering extends Promise<string> {
  override then<A = string, B = never>(onOk?: ((value: string) => A | PromiseLike<A>) | null, onError?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    onOk?.('ok');
    onError?.(new Error('answered twice'));
    return Promise.resolve() as Promise<A | B>;
  }
}

/** A promise whose species constructor throws, so that `then` on it throws before it takes any callback. */
class SpeciesThrowing extends Promise<string> {
  static override get [Symbol.species](): PromiseConstructor {
    return function () {
      throw new Error('species constructor refused');
    } as unknown as PromiseConstructor;
  }
}

/** Calls a host answering with `answer()` and resolves with what `answered` got, each time it ran. */
async function answersOf(answer: () => unknown, dataFormat: 'object' | 'json' = 'object'): Promise<Array<Error | undefined>> {
  const answers: Array<Error | undefined> = [];
  callHost({ logAnalyticsEvent: answer as CifAnalyticsClient['logAnalyticsEvent'] }, call, dataFormat, (_, error) => answers.push(error), 0);
  // Never before the call returns, whatever the host's `then` does.
  expect(answers, 'answered during the call').to.deep.equal([]);
  await new Promise((resolve) => setImmediate(resolve));
  return answers;
}

describe('callHost', () => {
  it('passes the payload, eventName and correlationId, the payload as JSON text when asked', async () => {
    const seen: unknown[][] = [];
    const client = { logAnalyticsEvent: (...args: unknown[]) => (seen.push(args), Promise.resolve('ok')) };
    callHost(client as CifAnalyticsClient, call, 'object', () => {}, 0);
    callHost(client as CifAnalyticsClient, call, 'json', () => {}, 0);
    expect(seen).to.deep.equal([
      [call.data, 'Accepted', call.correlationId],
      [JSON.stringify(call.data), 'Accepted', call.correlationId],
    ]);
  });

  it('calls the host with tracing suppressed, from the first call of a page on', async () => {
    // A copy of the module loaded afresh, as a page loads it: its first call makes the context it keeps.
    const fresh = new URL('../../src/delivery/host-call.ts?first-call', import.meta.url).href;
    const { callHost: firstCallHost } = (await import(fresh)) as { callHost: typeof callHost };
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const suppressed: boolean[] = [];
    const client = { logAnalyticsEvent: () => (suppressed.push(isTracingSuppressed(context.active())), Promise.resolve('')) };
    try {
      firstCallHost(client, call, 'object', () => {}, 0);
      firstCallHost(client, call, 'object', () => {}, 0);
    } finally {
      context.disable();
    }
    expect(suppressed).to.deep.equal([true, true]);
  });

  /** Answers both ways at once, as a hostile `then` could. */
  const twice = (onOk: (value: string) => void, onError: (reason: unknown) => void): void => {
    onOk('ok');
    onError(new Error('answered twice'));
  };
  /** A real promise whose `then` reads as the promise's own, then as `twice`. */
  const changingThen = (): Promise<string> => {
    const promise = Promise.resolve('ok');
    let reads = 0;
    Object.defineProperty(promise, 'then', { get: () => (reads++ === 0 ? Promise.prototype.then : twice) });
    return promise;
  };

  it('answers once for a thenable that passes for a promise by the page\'s own `Promise[Symbol.hasInstance]`', async () => {
    Object.defineProperty(Promise, Symbol.hasInstance, { value: () => true, configurable: true });
    try {
      expect(await answersOf(() => ({ then: (resolve: (v: string) => void) => resolve('ok') }))).to.deep.equal([undefined]);
    } finally {
      delete (Promise as { [Symbol.hasInstance]?: unknown })[Symbol.hasInstance];
    }
  });

  const answers: Array<[string, () => unknown, string | undefined]> = [
    ['a resolved promise', () => Promise.resolve('ok'), undefined],
    ['a plain value', () => 'ok', undefined],
    ['a thenable', () => ({ then: (resolve: (v: string) => void) => resolve('ok') }), undefined],
    ['a rejection', () => Promise.reject(new Error('Provider not active')), 'Provider not active'],
    ['a synchronous throw', () => { throw 'no host'; }, 'no host'],
    ['a thenable whose then throws', () => ({ then: () => { throw new Error('bad then'); } }), 'bad then'],
    ['a proxy of a promise', () => new Proxy(Promise.resolve('ok'), {}), 'incompatible receiver'],
    ['a promise of a subclass whose then answers twice', () => TwiceAnswering.resolve('ok'), undefined],
    ['a promise whose own then answers twice', () => Object.assign(Promise.resolve('ok'), { then: twice }), undefined],
    ['a promise whose then changes once read', changingThen, undefined],
    ['a promise whose own constructor is not Promise', () => Object.assign(Promise.resolve('ok'), { constructor: TwiceAnswering }), undefined],
    ['a promise whose species constructor throws', () => SpeciesThrowing.resolve('ok'), 'species constructor refused'],
  ];
  answers.forEach(([what, answer, failure]) =>
    it(`answers once for a host that returns ${what}`, async () => {
      const got = await answersOf(answer);
      expect(got).to.have.length(1);
      if (failure === undefined) expect(got[0]).to.equal(undefined);
      else expect(got[0]).to.be.instanceOf(CifHostError).and.have.property('message').that.contains(failure);
    }),
  );
});
