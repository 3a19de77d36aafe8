// A page's localStorage wrapper whose setItem writes, then throws (its own hook after the write fails): the store holds
// the call, so the outbox takes it as stored, and takes it out before the call goes, as any other.
import { expect } from 'chai';
import { createDelivery } from '../../src/delivery/engine.js';
import { DELIVERY_DEFAULTS } from '../../src/delivery/options.js';
import { createOutbox } from '../../src/delivery/outbox.js';
import { createDeliveryStats } from '../../src/stats.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { shutDownAfterTest } from '../helpers/shut-down.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B } from '../helpers/web-storage.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('an outbox whose store writes, then throws', () => {
  it('counts the call stored and the throw a store error, and never sends it from two pages', async () => {
    const store = new MemoryStore();
    const manager = createLockManager();
    const host = new RecordingCifClient();
    const setItem = store.setItem.bind(store);
    let hookFails = false;
    // The page's wrapper: the write is done, then its own bookkeeping throws.
    store.setItem = (key, value) => {
      setItem(key, value);
      if (hookFails && key !== 'otel-cif/probe') throw new TypeError('storage hook failed');
    };

    function page(id: string, ready: Promise<void> | undefined) {
      const lockClient = manager.client();
      const stats = createDeliveryStats();
      const outbox = createOutbox({ store, name: 'widget' }, stats.outbox, { locks: lockClient.locks, uuid: () => id, handoverWaitMillis: 0 });
      const engine = shutDownAfterTest(
        createDelivery({ ...DELIVERY_DEFAULTS, getClient: () => host, readiness: ready ? { kind: 'promise', ready } : { kind: 'client' }, outbox: {}, random: () => 0.5 }, stats, outbox),
      );
      return { engine, stats, lockClient };
    }

    let cifReady!: () => void;
    const first = page(PAGE_A, new Promise<void>((r) => (cifReady = r)));
    await settle();
    hookFails = true;
    // Waits for CIF, so it is written to the outbox as its task ends.
    void first.engine.deliver([call('CallAccepted')]);
    await settle();
    expect(store.items.size).to.equal(1);
    expect(first.stats.outbox).to.deep.include({ stored: 1, storeErrors: 1 });
    expect(first.stats.outbox.notStored.store_error).to.equal(0);
    cifReady();
    await settle();
    expect(host.calls.map((c) => c.eventName)).to.deep.equal(['CallAccepted']);
    expect(store.items.size, 'taken out before it went').to.equal(0);
    // The tab is reloaded.
    first.lockClient.crash();
    hookFails = false;
    page(PAGE_B, undefined);
    await settle();
    await settle();
    expect(host.calls.map((c) => c.eventName), 'sent by both pages').to.deep.equal(['CallAccepted']);
  });
});
