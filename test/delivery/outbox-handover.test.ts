// The outbox's handover of a closed tab's calls (src/delivery/outbox.ts `settled`), where the
// browser grants the closed tab's lock before this tab's `localStorage` shows what that tab took
// out, and sent, in its last moments (docs/page-lifecycle.md): at most once after handover.
import FakeTimers, { type Clock } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { createOutbox, createOutboxStats, HANDOVER_WAIT_MILLIS } from '../../src/delivery/outbox.js';
import type { OutboxStore } from '../../src/delivery/outbox.js';
import { call, createLockManager, MemoryStore, PAGE_A, PAGE_B } from '../helpers/web-storage.js';

/** How late the other tab's view of the store shows a removal: Chromium's tabs hear of one in tens of milliseconds. */
const LAG_MILLIS = 200;

describe('the outbox taking over the calls of a tab that closed as it sent them', () => {
  let clock: Clock;
  beforeEach(() => (clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] })));
  afterEach(() => clock.uninstall());

  /** A tab that stored a call it leaves, and an open tab that waits for it to close; `claimed` names what the open tab takes. */
  async function twoTabs() {
    const store = new MemoryStore();
    const manager = createLockManager();
    const closing = createOutbox({ store, name: 'widget' }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_A })!;
    await clock.tickAsync(0);
    closing.add(call('Left'));
    const stats = createOutboxStats();
    const open = createOutbox({ store, name: 'widget' }, stats, { locks: manager.client().locks, uuid: () => PAGE_B })!;
    const claimed: string[] = [];
    open.claim((entries) => claimed.push(...entries.map((entry) => entry.call.eventName)));
    await clock.tickAsync(0);
    return { store, closing, open, stats, claimed };
  }

  it('sends none of the calls that tab took out in its last moments, though its lock comes first, and takes what it left', async () => {
    const closingView = new MemoryStore();
    const openView = new MemoryStore();
    // The closing tab's store: its writes show in the other tab's view at once, its removals only later.
    const closingStore: OutboxStore = {
      get length() {
        return closingView.length;
      },
      key: (index) => closingView.key(index),
      getItem: (key) => closingView.getItem(key),
      setItem(key, value) {
        closingView.setItem(key, value);
        openView.setItem(key, value);
      },
      removeItem(key) {
        closingView.removeItem(key);
        setTimeout(() => openView.removeItem(key), LAG_MILLIS);
      },
    };
    const manager = createLockManager();
    const closing = createOutbox({ store: closingStore, name: 'widget' }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_A })!;
    await clock.tickAsync(0);
    const sent = closing.add(call('Sent'));
    closing.add(call('Left'));
    expect([...openView.items.keys()].filter((key) => key.startsWith('otel-cif/widget/'))).to.have.length(2);

    const open = createOutbox({ store: openView, name: 'widget' }, createOutboxStats(), { locks: manager.client().locks, uuid: () => PAGE_B })!;
    const claimed: string[] = [];
    open.claim((entries) => claimed.push(...entries.map((entry) => entry.call.eventName)));
    await clock.tickAsync(0);
    expect(claimed, 'taken while the tab is open').to.deep.equal([]);

    // The closing tab takes a call out for its host, then goes: its lock is granted to the open tab at once.
    expect(closing.remove(sent)).to.equal(true);
    closing.dispose();
    await clock.tickAsync(0);
    expect(openView.getItem(`otel-cif/widget/${PAGE_A}/0`), 'the removal not yet seen').to.be.a('string');
    await clock.tickAsync(HANDOVER_WAIT_MILLIS);
    expect(claimed).to.deep.equal(['Left']);
    open.dispose();
  });

  it("leaves a closed tab's calls stored for a later page, counted, where the page's setTimeout throws", async () => {
    const { store, closing, open, stats, claimed } = await twoTabs();
    const { setTimeout } = globalThis;
    globalThis.setTimeout = (() => {
      throw new Error('no timers here');
    }) as unknown as typeof globalThis.setTimeout;
    try {
      closing.dispose();
      await clock.tickAsync(0);
    } finally {
      globalThis.setTimeout = setTimeout;
    }
    await clock.tickAsync(HANDOVER_WAIT_MILLIS);
    expect(claimed).to.deep.equal([]);
    expect(stats.storeErrors).to.equal(1);
    expect([...store.items.keys()].filter((key) => key.startsWith(`otel-cif/widget/${PAGE_A}/`))).to.have.length(1);
    open.dispose();
  });

  it('stops its wait, and takes nothing, when it goes before the wait ends', async () => {
    const { closing, open, claimed } = await twoTabs();
    closing.dispose();
    await clock.tickAsync(HANDOVER_WAIT_MILLIS / 2);
    open.dispose();
    await clock.tickAsync(0);
    expect(clock.countTimers(), 'timers left').to.equal(0);
    expect(claimed).to.deep.equal([]);
  });
});
