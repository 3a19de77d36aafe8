import { expect } from 'chai';
import { UNSERIALIZABLE, isColumnName, toIsoTimestamp, toPayloadString, truncate } from '../../src/mapping/values.js';

describe('toPayloadString', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const cases: Array<[string, unknown, string | undefined | typeof UNSERIALIZABLE]> = [
    ['keeps a string as it is', 'abc', 'abc'],
    ['omits an empty string', '', undefined],
    ['writes an integer with String()', 42, '42'],
    ['writes a float with String()', 0.25, '0.25'],
    ['writes false with String()', false, 'false'],
    ['writes a bigint with String()', 10n, '10'],
    ['writes an array as JSON', ['a', 1, true], '["a",1,true]'],
    ['writes an array with holes as JSON nulls', [null, 'a', undefined], '[null,"a",null]'],
    ['omits an empty array', [], undefined],
    ['writes a Map as the JSON of its entries', new Map<unknown, unknown>([['tier', 'gold'], [1, NaN]]), '[["tier","gold"],[1,"NaN"]]'],
    ['omits an empty Map', new Map(), undefined],
    ['writes a Map inside an array as its entries, not as {}', [new Map([['a', 1]])], '[[["a",1]]]'],
    ['writes a map as JSON', { queue: 'billing', depth: 2 }, '{"queue":"billing","depth":2}'],
    ['omits an empty map', {}, undefined],
    // The logs SDK takes undefined inside a map (AnyValue); JSON leaves it out, as it does functions.
    ['omits a map whose every value JSON leaves out, as empty', { note: undefined, f: () => 1 }, undefined],
    ['writes a map of which JSON leaves out some values', { note: undefined, n: 1 }, '{"n":1}'],
    ['writes a byte array as base64', new Uint8Array([0, 1, 254, 255]), 'AAH+/w=='],
    ['omits an empty byte array', new Uint8Array(), undefined],
    ['writes byte arrays inside a map as base64 strings', { id: new Uint8Array([104, 105]), n: [1] }, '{"id":"aGk=","n":[1]}'],
    // A foreign span's value: the SDK takes no Date, but JSON writes one by its toJSON.
    ['writes a Date inside a map by its toJSON', { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ['omits null', null, undefined],
    ['omits undefined', undefined, undefined],
    ['omits a function', () => 1, undefined],
    ['reports a cyclic map as unserializable', cyclic, UNSERIALIZABLE],
    ['reports a map holding a bigint as unserializable', { n: 1n }, UNSERIALIZABLE],
  ];
  cases.forEach(([title, value, expected]) => it(title, () => expect(toPayloadString(value)).to.equal(expected)));

  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const unreadable: Array<[string, unknown]> = [
    ['a revoked proxy', revoked.proxy],
    ['a map whose toJSON throws', { toJSON: () => { throw new Error('trap'); } }],
    ['an object whose class writes it as nothing', new (class { toJSON = () => undefined })()],
    ['a map with a throwing getter', Object.defineProperty({}, 'x', { get: () => { throw new Error('trap'); }, enumerable: true })],
  ];
  unreadable.forEach(([what, value]) =>
    it(`reports ${what} as unserializable, without throwing`, () => expect(toPayloadString(value)).to.equal(UNSERIALIZABLE)),
  );
  [undefined, 0, {}].forEach((text) =>
    it(`reports a map as unserializable where the page's JSON.stringify writes it as ${JSON.stringify(text) ?? 'undefined'}, not as that value`, () => {
      const stringify = JSON.stringify;
      JSON.stringify = () => text as never;
      try {
        expect(toPayloadString({ a: 1 })).to.equal(UNSERIALIZABLE);
      } finally {
        JSON.stringify = stringify;
      }
    }),
  );
  it('tells objects from undefined, functions and symbols in one batch of values', () => {
    expect([{ a: 1 }, undefined, () => 1, Symbol('s')].map(toPayloadString)).to.deep.equal(['{"a":1}', undefined, undefined, undefined]);
  });
});

describe('truncate', () => {
  const cases: Array<[string, string, number, string]> = [
    ['keeps a value at the limit', 'abc', 3, 'abc'],
    ['cuts a longer value to the limit', 'abcdef', 3, 'abc'],
    ['steps back rather than split a surrogate pair', 'ab😀', 3, 'ab'],
    ['keeps a whole surrogate pair that fits', 'a😀b', 3, 'a😀'],
    ['keeps a value at the limit even when it ends in a lone high surrogate', 'ab\ud83d', 3, 'ab\ud83d'],
    ['steps back from the lowest high surrogate', 'ab\ud800\udc00', 3, 'ab'],
    ['steps back from the highest high surrogate', 'ab\udbff\udfff', 3, 'ab'],
    ['cuts after a low surrogate, which never starts a pair', 'ab\udc00x', 3, 'ab\udc00'],
    // Where Intl.Segmenter is (Node has it): before the character the limit falls in.
    ['steps back rather than split a letter from its combining mark', 'abe\u0301', 3, 'ab'],
    ['steps back rather than split a flag', `${'x'.repeat(97)}\u{1F1EB}\u{1F1F7}`, 100, 'x'.repeat(97)],
    ['steps back rather than split an emoji sequence', `${'x'.repeat(97)}\u{1F468}\u200D\u{1F469}`, 100, 'x'.repeat(97)],
    ['cuts inside a first character longer than the limit, not to nothing', 'e\u0301\u0301\u0301', 2, 'e\u0301'],
    ['cuts inside a character longer than the limit, not to what comes before it', `ab${'e'}${'\u0301'.repeat(150)}`, 100, `abe${'\u0301'.repeat(97)}`],
    ['steps back before a character exactly as long as the limit', 'ae\u0301\u0301', 3, 'a'],
    // Told longer than the limit only from what follows the limit: it is seen to its end, up to twice the limit.
    ['cuts inside a character that starts just before the limit and runs past it by more than the limit', `${'x'.repeat(9)}e${'\u0301'.repeat(11)}`, 10, `${'x'.repeat(9)}e`],
  ];
  cases.forEach(([title, value, max, expected]) => it(title, () => expect(truncate(value, max)).to.equal(expected)));

  it("cuts before the character at the limit already at a page's first cut", async () => {
    // A new copy of the module, as a page has at its first cut: its segmenter is not made yet.
    const fresh = (await import(new URL(`../../src/mapping/values.js?first-cut`, import.meta.url).href)) as { truncate: typeof truncate };
    expect(fresh.truncate(`${'x'.repeat(97)}\u{1F1EB}\u{1F1F7}`, 100)).to.equal('x'.repeat(97));
  });

  (
    [
      ['without Intl.Segmenter (Firefox before 125)', undefined],
      ["with a page's Intl.Segmenter that throws", function Segmenter() { throw new Error('no segmenter'); }],
      ...[99, 0, -1, 3].map((index) => [
        `with a page's Intl.Segmenter that answers ${index === 3 ? 'a start inside a surrogate pair, counting code points' : `the start ${index}`}`,
        function Segmenter() {
          return { segment: () => ({ containing: () => ({ index, segment: 'x' }) }) };
        },
      ]),
    ] as const
  ).forEach(([what, segmenter]) =>
    it(`cuts only not inside a surrogate pair ${what}`, () => {
      const own = Object.getOwnPropertyDescriptor(Intl, 'Segmenter')!;
      Object.defineProperty(Intl, 'Segmenter', { value: segmenter, configurable: true, writable: true });
      try {
        const cuts = [truncate('abe\u0301', 3), truncate('ab\u{1F600}', 3), truncate('ab\ud800\udc00', 3), truncate('ab\udbff\udfff', 3)];
        expect(cuts).to.deep.equal(['abe', 'ab', 'ab', 'ab']);
      } finally {
        Object.defineProperty(Intl, 'Segmenter', own);
      }
    }),
  );

  it("cuts on a page whose JSON.stringify throws, as a page library may have replaced it", () => {
    const real = JSON.stringify;
    JSON.stringify = () => {
      throw new Error('page JSON.stringify');
    };
    try {
      expect(truncate(`${'x'.repeat(99)}yz`, 100)).to.equal(`${'x'.repeat(99)}y`);
    } finally {
      JSON.stringify = real;
    }
  });

  it('keeps none of the long value alive behind the cut one', () => {
    const heap = (): number => (globalThis.gc!(), process.memoryUsage().heapUsed);
    const before = heap();
    // 200 distinct values of 100 000 characters: about 20 MB if each cut kept its original.
    const cut = Array.from({ length: 200 }, (_, i) => truncate(`${i}:${'x'.repeat(100_000)}`, 2000));
    expect(heap() - before).to.be.below(5_000_000);
    expect(cut[199]).to.have.length(2000);
  });
});

describe('isColumnName', () => {
  const cases: Array<[string, boolean]> = [
    ['msdyn_customattribute1', true],
    ['new_queue_name', true],
    ['contoso2_x', true],
    ['__proto__', false],
    ['constructor', false],
    ['prototype', false],
    ['msdyn_CustomAttribute1', false],
    ['1abc_x', false],
    ['msdyn_', false],
    ['a_x', false],
    ['toolongprefix_x', false],
    [`new_${'x'.repeat(97)}`, false],
    [`new_${'x'.repeat(96)}`, true],
    ['msdyn_customattribute5', true],
    ['msdyn_customattribute12', false],
    ['msdyn_customattribute6', false],
    // The table's own columns, which the payload's fields fill, and its primary key.
    ['msdyn_eventtimestamp', false],
    ['msdyn_kpieventname', false],
    ['msdyn_conversationid', false],
    ['msdyn_kpieventdataid', false],
    ['msdyn_customattribute', false],
    ['msdyn_customattribute1_x', false],
    ['msdyn_customattribute1!', false],
    ['new_queue!', false],
    ['msdyn_custom-attribute', false],
  ];
  cases.forEach(([name, expected]) =>
    it(`${expected ? 'accepts' : 'rejects'} ${name.slice(0, 30)}`, () => expect(isColumnName(name)).to.equal(expected)),
  );
});

describe('toIsoTimestamp', () => {
  const cases: Array<[string, number, string]> = [
    ['writes the epoch', 0, '1970-01-01T00:00:00.000Z'],
    ['pads every part of the time of day', Date.UTC(2026, 10, 25, 1, 2, 3, 4), '2026-11-25T01:02:03.004Z'],
    ['pads milliseconds of two digits', Date.UTC(2026, 10, 25, 10, 20, 30, 45), '2026-11-25T10:20:30.045Z'],
    ['pads exactly 10 milliseconds to three digits', Date.UTC(2026, 10, 25, 10, 20, 30, 10), '2026-11-25T10:20:30.010Z'],
    ['writes exactly 100 milliseconds unpadded', Date.UTC(2026, 10, 25, 10, 20, 30, 100), '2026-11-25T10:20:30.100Z'],
    ['writes the last millisecond of a day', Date.UTC(2026, 10, 25, 23, 59, 59, 999), '2026-11-25T23:59:59.999Z'],
    ['writes a time before the epoch', -1, '1969-12-31T23:59:59.999Z'],
    ['drops a fraction of a millisecond toward zero, as Date does', 1000.9, '1970-01-01T00:00:01.000Z'],
    ['drops a negative fraction toward zero, as Date does', -1000.9, '1969-12-31T23:59:59.000Z'],
    ['writes -0 as the epoch', -0, '1970-01-01T00:00:00.000Z'],
    ['writes a year past 9999 in the extended format', Date.UTC(10000, 0, 1), '+010000-01-01T00:00:00.000Z'],
    ['writes a year before 0 in the extended format', Date.UTC(-1, 11, 31, 23, 59, 59, 999), '-000001-12-31T23:59:59.999Z'],
    ['writes the latest time a Date holds', 8.64e15, '+275760-09-13T00:00:00.000Z'],
    ['writes the earliest time a Date holds', -8.64e15, '-271821-04-20T00:00:00.000Z'],
  ];
  cases.forEach(([title, millis, expected]) => it(title, () => expect(toIsoTimestamp(millis)).to.equal(expected)));

  it('writes what Date#toISOString writes across days, in and out of order', () => {
    const times: number[] = [];
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2026, 0, 4); t += 3_599_999) times.push(t, t - 86_400_000 * 400);
    expect(times.map(toIsoTimestamp)).to.deep.equal(times.map((t) => new Date(t).toISOString()));
  });
});
