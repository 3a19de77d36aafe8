import { expect } from 'chai';
import { inspect } from 'node:util';
import { CifExportError, CifHostError, CifNotLoadedError, toError } from '../src/errors.js';

describe('toError', () => {
  it('turns an Error into a CifHostError with its message, read once, and the Error as its cause', () => {
    const error = new TypeError('boom');
    let reads = 0;
    const counted = new Proxy(error, { get: (target, key) => (key === 'message' && reads++, Reflect.get(target, key)) });
    const normalised = toError(counted);
    expect(normalised).to.be.instanceOf(CifHostError).and.include({ message: 'boom', cause: counted });
    expect(Object.getOwnPropertyDescriptor(normalised, 'message')?.value).to.equal('boom');
    expect(reads).to.equal(1);
  });

  const cases: Array<[string, unknown, string]> = [
    ['reads the message of a Map, as old CIF builds reject with', new Map([['message', 'Provider not active']]), 'Provider not active'],
    ['uses a string as the message', 'Timed out', 'Timed out'],
    ['reads the message of a plain object', { message: 'Denied', code: 5 }, 'Denied'],
    ['describes a Map without a message', new Map([['code', 7]]), 'CIF host rejected the call: {"code":7}'],
    ['describes an object without a message', { code: 7 }, 'CIF host rejected the call: {"code":7}'],
    ['describes undefined', undefined, 'CIF host rejected the call: undefined'],
    ['describes null', null, 'CIF host rejected the call: null'],
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

  [5, true].forEach((text) =>
    it(`describes an object with String() where the page's JSON.stringify writes it as ${String(text)}`, () => {
      const stringify = JSON.stringify;
      JSON.stringify = () => text as never;
      let error: Error;
      try {
        error = toError({ code: 7 });
      } finally {
        JSON.stringify = stringify;
      }
      expect(error.message).to.equal('CIF host rejected the call: [object Object]');
    }),
  );

  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostile: Array<[string, unknown, string]> = [
    ['a revoked proxy', revoked.proxy, 'CIF host rejected the call: a value that cannot be read'],
    ['an object whose message getter throws', Object.defineProperty({}, 'message', { get: () => { throw new Error('x'); } }), 'CIF host rejected the call: a value that cannot be read'],
    ['an Error with an empty message', new RangeError(''), 'CIF host rejected the call: RangeError with no message'],
    [
      'an Error whose name getter throws and that has no message',
      Object.defineProperty(new Error(), 'name', { get: () => { throw new Error('x'); } }),
      'CIF host rejected the call: a value that cannot be read',
    ],
  ];
  hostile.forEach(([what, reason, message]) =>
    it(`turns ${what} into a CifHostError with a readable message and the reason as its cause, without throwing`, () => {
      const error = toError(reason);
      expect(error).to.be.instanceOf(CifHostError);
      expect(error.message).to.equal(message);
      expect((error as CifHostError).cause).to.equal(reason);
    }),
  );

  it('cuts what a huge reason says to 2000 characters and an ellipsis, never inside a surrogate pair, and keeps the reason whole as the cause', () => {
    const object = { details: 'x'.repeat(1_000_000) };
    const described = toError(object);
    const message = toError(new Error(`${'x'.repeat(1_999)}😀 and more`)).message;
    expect([described.message.length, described.message.endsWith('x…'), (described as CifHostError).cause]).to.deep.equal([2001, true, object]);
    expect(message).to.equal(`${'x'.repeat(1_999)}…`);
    expect(toError(new Error('y'.repeat(2_000))).message).to.equal('y'.repeat(2_000));
  });

  it('keeps the CifExportError errors it is given, and is an Error', () => {
    const cause = new CifHostError('no', 'no');
    const error = new CifExportError('1 of 1 logAnalyticsEvent calls failed: no', [cause]);
    expect(error).to.be.instanceOf(Error);
    expect(error.name).to.equal('CifExportError');
    expect(error.errors).to.deep.equal([cause]);
  });

  it('gives a CifNotLoadedError a cause only when one is given, so that Node prints none for the others', () => {
    const reason = new Error('not initialised');
    expect(new CifNotLoadedError('CIF library not loaded: the library failed the call', reason)).to.have.own.property('cause', reason);
    const none = new CifNotLoadedError();
    expect(Object.keys(none).concat(Object.getOwnPropertyNames(none))).not.to.include('cause');
    expect(inspect(none)).not.to.include('cause');
  });

  it('names what the host rejected with CifHostError, so it can be told from errors of the library', () => {
    expect(['busy', { code: 7 }].map((reason) => toError(reason).name)).to.deep.equal(['CifHostError', 'CifHostError']);
  });
});
