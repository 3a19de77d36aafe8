/**
 * The outbox's own cost per call: main-thread time to store a call and remove it, what a page pays
 * per call it sends with the outbox on, and the bytes each call takes in the store. Timed in Node
 * over an in-memory stand-in (`export.ts`), and in Chromium over `localStorage` beside the same
 * stand-in (`browser-page.ts`), so it uses no Node API.
 */
import { createOutbox, createOutboxStats, type OutboxLocks, type OutboxStore } from '../src/delivery/outbox.js';
import type { CifCall } from '../src/types.js';
import { alternate, median, type Rounds } from './harness.js';

/** An in-memory Web Storage stand-in. */
export function memoryStore(): OutboxStore {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** A lock manager that grants every lock at once. */
export const grantingLocks: OutboxLocks = { request: (_name, _options, callback) => Promise.resolve(callback({})) };

/** Where an outbox keeps its calls: a store and a lock manager given, or, with neither, the page's `localStorage` and `navigator.locks`. */
export interface OutboxPlace {
  name: string;
  store?: OutboxStore;
  locks?: OutboxLocks;
}

export interface OutboxCost {
  /** Each round's median time to store and remove every call, in milliseconds. */
  medians: number[];
  /** Median time per KPI event (one call each), in microseconds. */
  microseconds: number;
  /** Bytes a call takes in the store, as Web Storage counts them (two per character of key and value). */
  storedBytes: number;
}

/** Characters of the outbox's keys and values in `store`. */
function outboxChars(store: OutboxStore): number {
  let chars = 0;
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith('otel-cif/')) chars += key.length + (store.getItem(key) ?? '').length;
  }
  return chars;
}

/**
 * Times, for each place in rounds of their own (`alternate`), one outbox with default options
 * storing and removing each of `calls`, one call at a time; first checks that each place stores
 * every call and keeps none.
 */
export async function outboxCosts(calls: readonly CifCall[], places: readonly OutboxPlace[], rounds: Rounds): Promise<Map<string, OutboxCost>> {
  const kpiEvents = calls.reduce((sum, call) => sum + call.data.events.length, 0);
  const opened = [];
  for (const { name, store, locks } of places) {
    const stats = createOutboxStats();
    const outbox = createOutbox({ store }, stats, locks && { locks });
    if (!outbox) throw new Error(`${name}: no outbox`);
    const where = store ?? localStorage;
    // The outbox writes once this page holds its lock: a call kept says it does.
    let kept: () => void = () => {};
    const held = new Promise<void>((resolve) => (kept = resolve));
    const probe = outbox.add(calls[0]!, () => kept());
    await held;
    outbox.remove(probe);
    let storedChars = 0;
    for (const call of calls) {
      const entry = outbox.add(call);
      storedChars += outboxChars(where);
      outbox.remove(entry);
    }
    if (stats.stored !== kpiEvents + probe.call.data.events.length || outboxChars(where) !== 0) throw new Error(`${name}: the outbox did not store and remove every call`);
    opened.push({ name, outbox, storedBytes: Math.round((2 * storedChars) / kpiEvents) });
  }
  const medians = await alternate(
    opened.map(({ name, outbox }) => ({ name, fn: () => void calls.forEach((call) => outbox.remove(outbox.add(call))) })),
    rounds,
  );
  for (const { outbox } of opened) outbox.dispose();
  return new Map(
    opened.map(({ name, storedBytes }) => {
      const rounds = medians.get(name)!;
      return [name, { medians: rounds, microseconds: (median(rounds) * 1000) / kpiEvents, storedBytes }];
    }),
  );
}
