import { expect } from 'chai';
import { UNSERIALIZABLE, isColumnName, toPayloadString, truncate } from '../src/values.js';

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
    ['writes a map as JSON', { queue: 'billing', depth: 2 }, '{"queue":"billing","depth":2}'],
    ['omits an empty map', {}, undefined],
    ['writes a byte array as base64', new Uint8Array([0, 1, 254, 255]), 'AAH+/w=='],
    ['omits an empty byte array', new Uint8Array(), undefined],
    ['writes byte arrays inside a map as base64 strings', { id: new Uint8Array([104, 105]), n: [1] }, '{"id":"aGk=","n":[1]}'],
    ['omits null', null, undefined],
    ['omits undefined', undefined, undefined],
    ['omits a function', () => 1, undefined],
    ['reports a cyclic map as unserializable', cyclic, UNSERIALIZABLE],
    ['reports a map holding a bigint as unserializable', { n: 1n }, UNSERIALIZABLE],
  ];
  cases.forEach(([title, value, expected]) => it(title, () => expect(toPayloadString(value)).to.equal(expected)));
});

describe('truncate', () => {
  const cases: Array<[string, string, number, string]> = [
    ['keeps a value at the limit', 'abc', 3, 'abc'],
    ['cuts a longer value to the limit', 'abcdef', 3, 'abc'],
    ['steps back rather than split a surrogate pair', 'ab😀', 3, 'ab'],
    ['keeps a whole surrogate pair that fits', 'a😀b', 3, 'a😀'],
  ];
  cases.forEach(([title, value, max, expected]) => it(title, () => expect(truncate(value, max)).to.equal(expected)));
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
    [`msdyn_${'x'.repeat(95)}`, false],
  ];
  cases.forEach(([name, expected]) =>
    it(`${expected ? 'accepts' : 'rejects'} ${name.slice(0, 30)}`, () => expect(isColumnName(name)).to.equal(expected)),
  );
});
