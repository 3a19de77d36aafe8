import { expect } from 'chai';
import fc from 'fast-check';
import { createOutbox, createOutboxStats, type Outbox, type OutboxEntry } from '../../src/delivery/outbox.js';
import type { CifCall } from '../../src/types.js';
import { createLockManager, MemoryStore, type LockClient } from '../helpers/web-storage.js';

/** What one simulated page does: `pick` chooses a live page, `entry` one of the calls it holds. */
const action = fc.oneof(
  fc.record({ kind: fc.constant('open' as const) }),
  fc.record({ kind: fc.constant('add' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('send' as const), pick: fc.nat(), entry: fc.nat(), rejected: fc.boolean() }),
  fc.record({ kind: fc.constant('crash' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('dispose' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('settle' as const) }),
);

interface SimPage {
  outbox: Outbox;
  client: LockClient;
  /** Calls this page holds in memory, by id: admitted here or taken from a page gone, not delivered. */
  holds: Map<string, OutboxEntry>;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function call(id: string): CifCall {
  return {
    data: { conversationId: 'conv', providerSessionId: 'prov', events: [{ kpiEventName: id, eventTimestamp: '2026-11-25T10:15:30.123Z' }] },
    eventName: id,
    correlationId: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736',
  };
}

describe('outbox properties', () => {
  it('hands every stored call to at most one page at a time, never after it was delivered, and leaves the rest to the next page', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 60 }), async (actions) => {
        const store = new MemoryStore();
        const manager = createLockManager();
        const live: SimPage[] = [];
        const delivered = new Set<string>();
        /** Calls of pages that crashed before they were stored: the only calls that may be lost. */
        const lost = new Set<string>();
        const admitted: string[] = [];
        const broken: string[] = [];
        let pages = 0;

        const storedIds = () => new Set([...store.items.values()].map((value) => (JSON.parse(value) as [number, number, CifCall])[2].eventName));
        const holder = (id: string) => live.filter((page) => page.holds.has(id));

        function open(): SimPage {
          const client = manager.client();
          const n = pages++;
          const pageId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
          // The in-memory store shows every page's removals at once: nothing to wait for at a handover.
          const outbox = createOutbox({ store, name: 'widget' }, createOutboxStats(), { locks: client.locks, uuid: () => pageId, handoverWaitMillis: 0 })!;
          const page: SimPage = { outbox, client, holds: new Map() };
          outbox.claim((entries) => {
            for (const entry of entries) {
              const id = entry.call.eventName;
              // Broken rules are collected here and asserted after the run, outside the claim.
              if (delivered.has(id)) broken.push(`${id} claimed after it was delivered`);
              if (holder(id).length > 0) broken.push(`${id} claimed while a live page holds it`);
              page.holds.set(id, entry);
            }
          });
          live.push(page);
          return page;
        }

        function leave(page: SimPage, crashed: boolean): void {
          live.splice(live.indexOf(page), 1);
          if (crashed) {
            const stored = storedIds();
            for (const id of page.holds.keys()) if (!stored.has(id)) lost.add(id);
            page.client.crash();
          } else page.outbox.dispose();
        }

        for (const step of actions) {
          if (step.kind === 'open') open();
          else if (step.kind === 'settle') await settle();
          else if (live.length > 0) {
            const page = live[step.pick % live.length]!;
            if (step.kind === 'add') {
              const id = `call-${admitted.length}`;
              admitted.push(id);
              page.holds.set(id, page.outbox.add(call(id)));
            } else if (step.kind === 'send') {
              const held = [...page.holds];
              if (held.length === 0) continue;
              const [id, entry] = held[step.entry % held.length]!;
              if (!page.outbox.remove(entry)) continue;
              if (step.rejected) page.outbox.restore(entry);
              else {
                expect(delivered.has(id), `${id} delivered twice`).to.equal(false);
                delivered.add(id);
                page.holds.delete(id);
              }
            } else leave(page, step.kind === 'crash');
          }
        }
        await settle();
        for (const page of [...live]) leave(page, false);
        const last = open();
        await settle();
        const replayed = [...last.holds.keys()];
        for (const id of replayed) expect(delivered.has(id) || lost.has(id), id).to.equal(false);
        expect(broken).to.deep.equal([]);
        expect([...delivered, ...lost, ...replayed].sort()).to.deep.equal([...admitted].sort());
        last.outbox.dispose();
      }),
      { numRuns: 300 },
    );
  });
});
