// A page's localStorage wrapper whose setItem writes, then throws (its own hook after the write fails): a call the store
// holds as written is stored, and taken out before it goes, as any other; anything else the write left under its key is
// removed, and the call travels in memory. Either way no later page finds it to send again.
import { expect } from 'chai';
import { createDelivery } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox } from '../../src/delivery/outbox.js';
import { createDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { expectBalanced } from '../helpers/fake-client.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B } from '../helpers/web-storage.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How the wrapper fails, once armed: what it writes, and whether the read right after the write throws too. */
const wrappers = [
  { title: 'writes the call, then throws', write: (value: string) => value, readThrows: false, stored: true },
  { title: 'writes the call, then throws, and the read after it throws too', write: (value: string) => value, readThrows: true, stored: false },
  { title: 'writes the call otherwise (indented), then throws', write: (value: string) => JSON.stringify(JSON.parse(value), null, 1), readThrows: false, stored: false },
];

describe('an outbox whose store writes, then throws', () => {
  wrappers.forEach(({ title, write, readThrows, stored }) =>
    it(`never sends a call from two pages where the store ${title}, and counts it ${stored ? 'stored' : 'not stored'}`, async () => {
      const store = new MemoryStore();
      const manager = createLockManager();
      const host = new RecordingCifClient();
      const setItem = store.setItem.bind(store);
      const getItem = store.getItem.bind(store);
      let armed = false;
      let failRead = false;
      store.setItem = (key, value) => {
        if (!armed || key === 'otel-cif/probe') return setItem(key, value);
        armed = false;
        setItem(key, write(value));
        failRead = readThrows;
        throw new TypeError('storage hook failed');
      };
      store.getItem = (key) => {
        if (!failRead) return getItem(key);
        failRead = false;
        throw new TypeError('storage hook failed');
      };

      function page(id: string, ready: Promise<void> | undefined) {
        const lockClient = manager.client();
        const stats = createDeliveryStats();
        const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: lockClient.locks, uuid: () => id, handoverWaitMillis: 0 });
        const engine = shutDownAfterTest(
          createDelivery({ ...DELIVERY_DEFAULTS, getClient: () => host, client: host, ready, outbox: {}, random: () => 0.5 }, stats, outbox),
        );
        return { engine, stats, lockClient };
      }

      let cifReady!: () => void;
      const first = page(PAGE_A, new Promise<void>((resolve) => (cifReady = resolve)));
      await settle();
      armed = true;
      // Waits for CIF, so it is written to the outbox as its task ends.
      void first.engine.deliver([call('CallAccepted')]);
      await settle();
      expect(store.items.size, 'the store holds the call').to.equal(stored ? 1 : 0);
      expect(first.stats.outbox.stored).to.equal(stored ? 1 : 0);
      expect(first.stats.outbox.notStored.store_error).to.equal(stored ? 0 : 1);
      expect(first.stats.outbox.storeErrors).to.be.at.least(1);
      cifReady();
      await settle();
      expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
      expect(store.items.size, 'taken out before it went').to.equal(0);
      expectBalanced(first.stats);
      // The tab is reloaded.
      first.lockClient.crash();
      page(PAGE_B, undefined);
      await settle();
      await settle();
      expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    }),
  );
});
