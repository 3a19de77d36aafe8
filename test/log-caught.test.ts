import { expect } from 'chai';
import { caught } from '../src/log.js';

describe('caught', () => {
  it("makes no promise of an answer that is no thenable, such as the span a span's setAttribute answers with", () => {
    const resolve = Promise.resolve;
    let made = 0;
    Promise.resolve = function (this: PromiseConstructor, value?: unknown) {
      made++;
      return resolve.call(this, value);
    } as typeof Promise.resolve;
    try {
      caught({ setAttribute: () => undefined });
      caught(0);
      caught(Promise.reject(new Error('handled')));
    } finally {
      Promise.resolve = resolve;
    }
    expect(made).to.equal(1);
  });

  it('tells onRejected what a thenable whose then cannot be read threw, and what a promise rejected with', async () => {
    const told: unknown[] = [];
    const trap = new Error('then trap');
    caught(Object.defineProperty({}, 'then', { get: () => { throw trap; } }), (reason) => told.push(reason));
    const rejection = new Error('rejected');
    caught(Promise.reject(rejection), (reason) => told.push(reason));
    await new Promise((resolve) => setImmediate(resolve));
    expect(told).to.deep.equal([trap, rejection]);
  });
});
