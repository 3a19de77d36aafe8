import { expect } from 'chai';
import { defaultName, findStore, type OutboxLocks } from '../../src/delivery/outbox-page.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { MemoryStore } from '../helpers/web-storage.js';

const locks: OutboxLocks = { request: () => Promise.resolve() };
const refusing = Object.assign(new MemoryStore(), {
  setItem() {
    throw new Error('SecurityError');
  },
});

const full = Object.assign(new MemoryStore(), {
  setItem() {
    throw new DOMException('quota exceeded', 'QuotaExceededError');
  },
});

describe('what the page offers the outbox', () => {
  describe('findStore', () => {
    const store = new MemoryStore();
    [
      { what: 'turned off', given: false as const, locks, found: 'turned off' },
      { what: 'nothing to say outside a browser page', given: undefined, locks: undefined, found: '' },
      { what: 'that Web Locks are missing', given: store, locks: undefined, found: 'no navigator.locks' },
      { what: 'that there is no localStorage', given: undefined, locks, found: 'no localStorage' },
      { what: 'that the store refused a test write', given: refusing, locks, found: 'test write refused' },
      { what: 'a store full to its quota, which can still send and remove what it holds', given: full, locks, found: [full, locks, ''] },
      { what: 'the store and locks given, and the name, leaving no probe behind', given: store, locks, found: [store, locks, ''] },
    ].forEach((c) =>
      it(`says ${c.what}`, () => {
        // Node.js has navigator.locks from 24 and localStorage from 26: the page is the one each case describes.
        expect(withPageGlobals({ navigator: undefined, localStorage: undefined }, () => findStore(c.given, c.locks))).to.deep.equal(c.found);
        expect(store.length).to.equal(0);
      }),
    );

    it("leaves the page's own items as they were, one under the empty key included", () => {
      const page = new MemoryStore();
      page.setItem('', 'the page');
      page.setItem('settings', '{}');
      expect(findStore(page, locks)).to.deep.equal([page, locks, '']);
      expect(page.contents()).to.deep.equal({ '': 'the page', settings: {} });
    });

    it("finds the page's localStorage on a page without navigator, given the locks", () => {
      expect(withPageGlobals({ navigator: undefined, localStorage: store }, () => findStore(undefined, locks))).to.deep.equal([store, locks, '']);
    });

    it('says that Web Locks are missing on a page with localStorage and no navigator', () => {
      const page = { location: { pathname: '/widget.html' }, navigator: undefined, localStorage: store };
      expect(withPageGlobals(page, () => findStore(undefined, undefined))).to.equal('no navigator.locks');
    });

    it('reads no page global outside a browser page, where Node.js 26 warns when localStorage is read', () => {
      let read = false;
      const node = { location: { value: undefined }, navigator: { value: { locks } }, localStorage: { get: () => ((read = true), undefined) } };
      expect(withPageGlobals(node, () => findStore(undefined, undefined), true)).to.equal('');
      expect(read).to.equal(false);
    });

    it('says that Web Locks are missing where the page has navigator.locks without request()', () => {
      expect(withPageGlobals({ navigator: { locks: {} } }, () => findStore(store, undefined))).to.equal('no navigator.locks');
    });
  });

  it('names the widget by its path outside a frame', () => {
    expect(defaultName()).to.equal('');
  });

  it('says that the origin of the page at the top is unknown, in a frame without ancestor origins, before any write', () => {
    // A store that refuses every write: the probe would say so.
    const frame = { location: { pathname: '/widget.html' }, document: { referrer: 'https://contoso.crm.dynamics.com/main.aspx' }, top: {}, self: {} };
    expect(withPageGlobals(frame, () => findStore(refusing, locks))).to.equal("the top page's origin is unknown: set outbox.name");
  });

  it('takes the name given over the default, in a frame without ancestor origins', () => {
    const store = new MemoryStore();
    const frame = { location: { pathname: '/widget.html' }, top: {}, self: {} };
    expect(withPageGlobals(frame, () => findStore(store, locks, 'contoso/softphone'))).to.deep.equal([store, locks, 'contoso/softphone']);
  });
});
