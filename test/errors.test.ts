import { expect } from 'chai';
import { toError } from '../src/errors.js';

describe('toError', () => {
  it('keeps an Error as it is', () => {
    const error = new TypeError('boom');
    expect(toError(error)).to.equal(error);
  });

  const cases: Array<[string, unknown, string]> = [
    ['reads the message of a Map, as old CIF builds reject with', new Map([['message', 'Provider not active']]), 'Provider not active'],
    ['uses a string as the message', 'Timed out', 'Timed out'],
    ['reads the message of a plain object', { message: 'Denied', code: 5 }, 'Denied'],
    ['describes a Map without a message', new Map([['code', 7]]), 'CIF host rejected the call: {"code":7}'],
    ['describes an object without a message', { code: 7 }, 'CIF host rejected the call: {"code":7}'],
    ['describes undefined', undefined, 'CIF host rejected the call: undefined'],
    ['describes an empty string', '', 'CIF host rejected the call: ""'],
    ['describes a number', 404, 'CIF host rejected the call: 404'],
    ['describes a symbol, which JSON cannot write', Symbol('busy'), 'CIF host rejected the call: Symbol(busy)'],
    ['describes an object whose message is not a string', { message: 42 }, 'CIF host rejected the call: {"message":42}'],
    ['describes an object whose message is empty', { message: '' }, 'CIF host rejected the call: {"message":""}'],
    ['describes a Map whose message is empty', new Map([['message', '']]), 'CIF host rejected the call: {"message":""}'],
    ['describes an empty object with String()', {}, 'CIF host rejected the call: [object Object]'],
    ['describes a value JSON cannot write', { n: 1n }, 'CIF host rejected the call: [object Object]'],
    ['describes an object without a prototype', Object.create(null), 'CIF host rejected the call: [object Object]'],
    [
      'describes an object whose toString throws',
      { n: 1n, toString: () => { throw new Error('no'); } },
      'CIF host rejected the call: [object Object]',
    ],
  ];
  cases.forEach(([title, reason, message]) =>
    it(title, () => {
      const error = toError(reason);
      expect(error).to.be.instanceOf(Error);
      expect(error.message).to.equal(message);
    }),
  );

  it('names what the host rejected with CifHostError, so it can be told from errors of the library', () => {
    expect(['busy', { code: 7 }].map((reason) => toError(reason).name)).to.deep.equal(['CifHostError', 'CifHostError']);
  });
});
