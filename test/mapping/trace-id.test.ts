import { expect } from 'chai';
import { traceIdToGuid } from '../../src/index.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('traceIdToGuid', () => {
  it('writes a trace id as an 8-4-4-4-12 GUID', () => {
    expect(traceIdToGuid('4bf92f3577b34da6a3ce929d0e0e4736')).to.equal('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
  });

  it('writes the GUID in lower case', () => {
    expect(traceIdToGuid('4BF92F3577B34DA6A3CE929D0E0E4736')).to.equal('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
  });

  ['0'.repeat(32), '', 'not-a-trace-id', 'g'.repeat(32), 'a'.repeat(31)].forEach((invalid) =>
    it(`gives a fresh v4 UUID for the invalid trace id '${invalid}'`, () => {
      const first = traceIdToGuid(invalid);
      expect(first).to.match(V4);
      expect(traceIdToGuid(invalid)).to.not.equal(first);
    }),
  );
});

describe("traceIdToGuid against the page's crypto.randomUUID", () => {
  afterEach(() => Reflect.deleteProperty(crypto, 'randomUUID'));

  // uuid's v4() answers with crypto.randomUUID when asked without options; a page may have
  // replaced it with one that answers in capitals, as Dynamics 365 writes GUIDs, or anything.
  (['in capitals', 'not a UUID'] as const).forEach((answer) =>
    it(`gives a lower-case v4 UUID for an invalid trace id where the page's crypto.randomUUID answers ${answer}`, () => {
      Object.defineProperty(crypto, 'randomUUID', { value: () => (answer === 'in capitals' ? 'F47AC10B-58CC-4372-A567-0E02B2C3D479' : 'x'), configurable: true });
      expect(traceIdToGuid('0'.repeat(32))).to.match(V4);
    }),
  );
});
