import FakeTimers, { type Clock as InstalledClock } from '@sinonjs/fake-timers';
import { diag } from '@opentelemetry/api';
import { expect } from 'chai';
import type { OutboxLocks } from '../../src/delivery/outbox.js';
import { CifSpanExporter } from '../../src/index.js';
import { RecordingCifClient } from '../../src/testing/index.js';
import { captureLevels, installActingDiag } from '../helpers/diag.js';
import { withPageGlobals } from '../helpers/page-globals.js';
import { event, IDENTITY, makeSpan } from '../helpers/spans.js';
import { createLockManager, MemoryStore } from '../helpers/web-storage.js';

// As for notStored.full, a user at DEBUG can follow outbox.notStored.store_error: warned of once, naming the counter,
// then a DEBUG line for each call, whatever kept the call from the store.
describe('the outbox telling of calls it cannot store for another reason than room', () => {
  let clock: InstalledClock;
  const closeables: Array<{ shutdown(): Promise<unknown> }> = [];
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'], now: 1_800_000_000_000 });
  });
  afterEach(async () => {
    const closing = closeables.splice(0).map((c) => c.shutdown().catch(() => {}));
    await clock.runAllAsync();
    await Promise.all(closing);
    clock.uninstall();
    diag.disable();
  });
  const settle = () => clock.tickAsync(0);
  const span = (name: string) => makeSpan({ name: 'call', attributes: IDENTITY, events: [event(name, '2026-11-25T10:15:30.123Z')] });

  /** A store whose writes after the first `writes` throw a SecurityError, not a quota error. */
  function failingAfter(writes: number): MemoryStore {
    const store = new MemoryStore();
    const write = store.setItem.bind(store);
    store.setItem = (key, value) => {
      if (--writes < 0) throw new DOMException('denied', 'SecurityError');
      write(key, value);
    };
    return store;
  }

  /** Store failures other than the quota: each leaves calls in memory only, counted in outbox.notStored.store_error. */
  const storeFailures: Array<{ what: string; store: () => MemoryStore; locks: () => OutboxLocks }> = [
    {
      what: 'a lock manager that calls back without a lock',
      store: () => new MemoryStore(),
      locks: () => ({ request: (_name, _options, callback) => Promise.resolve().then(() => callback(null)) }),
    },
    {
      what: 'a lock manager whose request rejects',
      store: () => new MemoryStore(),
      locks: () => ({ request: () => Promise.reject(new DOMException('denied', 'SecurityError')) }),
    },
    {
      what: 'a store whose writes throw a SecurityError after its test write',
      store: () => failingAfter(1),
      locks: () => createLockManager().client().locks,
    },
  ];
  storeFailures.forEach(({ what, store, locks }) =>
    it(`names getStats().outbox.notStored.store_error, and each call, when calls are not stored for ${what}`, async () => {
      const lines = captureLevels();
      const cif = withPageGlobals({ navigator: { locks: locks() } }, () =>
        new CifSpanExporter({ client: new RecordingCifClient(), ready: new Promise<void>(() => {}), outbox: { store: store(), name: 'widget' } }),
      );
      closeables.push(cif);
      await settle();
      cif.export([span('E1')], () => {});
      await settle();
      cif.export([span('E2')], () => {});
      await settle();
      expect(cif.getStats().outbox.notStored.store_error, JSON.stringify(cif.getStats())).to.equal(2);
      const named = lines.filter((line) => line.includes('getStats().outbox.notStored.store_error'));
      // As for notStored.full: `warn outbox: call 'E1' not stored: ... (getStats().outbox.notStored.full)`, then at DEBUG for 'E2'.
      expect(named, lines.join('\n')).to.have.length(2);
      expect(named[0]).to.match(/^warn .*'E1'/);
      expect(named[1]).to.match(/^debug .*'E2'/);
    }),
  );

  // A call stored once and written again before a retry is counted when admitted only: a failed rewrite moves no counter, so it names none.
  it('names getStats().outbox.notStored.store_error only once that counter has moved, not for a failed rewrite before a retry', async () => {
    // Its test write, and the first time the call is stored, go through.
    const store = failingAfter(2);
    // The host rejects the first two attempts, then takes the call.
    const client = new RecordingCifClient({ answer: (_call, index) => (index < 2 ? Promise.reject(new Error('busy')) : 'ok') });
    const cif = withPageGlobals({ navigator: { locks: createLockManager().client().locks } }, () => new CifSpanExporter({ client, outbox: { store, name: 'widget' } }));
    closeables.push(cif);
    await clock.tickAsync(0); // The page holds its lock.
    const named: Array<[line: string, count: number]> = [];
    const restore = installActingDiag((level, line) => {
      if (level === 'warn' && line.includes('notStored.store_error')) named.push([line, cif.getStats().outbox.notStored.store_error]);
    });
    try {
      cif.export([makeSpan({ name: 'call', attributes: IDENTITY, events: [event('E1', '2026-11-25T10:15:30.123Z')] })], () => {});
      await clock.tickAsync(10_000);
    } finally {
      restore();
    }
    expect(cif.getStats()).to.include({ kpiEventsDelivered: 1 });
    // Each line names the counter with the count it shows when told: a warning of a counter that stays 0 is not true.
    for (const [line, count] of named) expect(count, line).to.be.above(0);
  });
});
