import { expect } from 'chai';
import { defaultName, findStore, type OutboxLocks } from '../../src/delivery/outbox-page.js';
import { MemoryStore } from '../helpers/web-storage.js';

const locks: OutboxLocks = { request: () => Promise.resolve() };
const refusing = Object.assign(new MemoryStore(), {
  setItem() {
    throw new Error('SecurityError');
  },
});

/** Runs `fn` with the page globals `globals` defined, then puts back what was there. */
function withGlobals<T>(globals: Record<string, unknown>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(globals).map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]));
  for (const [name, value] of Object.entries(globals)) Object.defineProperty(globalThis, name, { value, configurable: true });
  try {
    return fn();
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else Reflect.deleteProperty(globalThis, name);
    }
  }
}

describe('what the page offers the outbox', () => {
  describe('findStore', () => {
    const store = new MemoryStore();
    [
      { what: 'turned off', given: false as const, locks, found: 'turned off' },
      { what: 'nothing to say outside a browser page', given: undefined, locks: undefined, found: '' },
      { what: 'that Web Locks are missing', given: store, locks: undefined, found: 'no navigator.locks' },
      { what: 'that there is no localStorage', given: undefined, locks, found: 'no localStorage' },
      { what: 'that the store refused a test write', given: refusing, locks, found: 'test write refused' },
      { what: 'the store and locks given, leaving no probe behind', given: store, locks, found: [store, locks] },
    ].forEach((c) =>
      it(`says ${c.what}`, () => {
        expect(findStore(c.given, c.locks)).to.deep.equal(c.found);
        expect(store.length).to.equal(0);
      }),
    );

    it("leaves the page's own items as they were, one under the empty key included", () => {
      const page = new MemoryStore();
      page.setItem('', 'the page');
      page.setItem('settings', '{}');
      expect(findStore(page, locks)).to.deep.equal([page, locks]);
      expect(page.contents()).to.deep.equal({ '': 'the page', settings: {} });
    });

    it("finds the page's localStorage on a page without navigator, given the locks", () => {
      expect(withGlobals({ navigator: undefined, localStorage: store }, () => findStore(undefined, locks))).to.deep.equal([store, locks]);
    });

    it('says that Web Locks are missing where the page has navigator.locks without request()', () => {
      expect(withGlobals({ navigator: { locks: {} } }, () => findStore(store, undefined))).to.equal('no navigator.locks');
    });
  });

  it('names the widget by its path outside a frame', () => {
    expect(defaultName()).to.equal('');
  });

  it("names the widget by its referrer's origin in a frame whose page has no location", () => {
    const frame = { location: undefined, document: { referrer: 'https://contoso.crm.dynamics.com/main.aspx' }, top: {}, self: {} };
    expect(withGlobals(frame, defaultName)).to.equal('https://contoso.crm.dynamics.com');
  });
});
