import { expect } from 'chai';
import { createJobTable, type Job } from '../../src/delivery/jobs.js';

/** A job ranked `seq`, whose wait for CIF ends at `readyBy`. */
function job(seq: number, fields: Partial<Job> = {}): Job {
  const batch = { report: { calls: 1, failed: 0, errors: [] }, pending: 1, resolve: () => {} };
  const call = { data: { conversationId: 'c', providerSessionId: 'p', events: [{ kpiEventName: `K${seq}`, eventTimestamp: '' }] }, eventName: `K${seq}`, correlationId: 'c' };
  return { call, seq, events: 1, batch, readyBy: 0, attempts: 0, called: false, due: 0, entry: undefined, ...fields };
}

const seqs = (jobs: readonly Job[]) => jobs.map((j) => j.seq);
/** Takes jobs from `table` until none may go at `now`. */
function drain(table: ReturnType<typeof createJobTable>, ready: boolean, now: number): number[] {
  const taken: number[] = [];
  for (let next = table.next(ready, () => now); next; next = table.next(ready, () => now)) taken.push(next.seq);
  return taken;
}

describe('job table', () => {
  const nextCases: Array<{ title: string; waiting: number[]; retrying: Array<[seq: number, due: number]>; ready: boolean; expected: number[] }> = [
    { title: 'gives the oldest first when CIF is ready, waiting or due again', waiting: [0, 3], retrying: [[2, 0], [1, 0]], ready: true, expected: [0, 1, 2, 3] },
    { title: 'gives only calls due again while CIF is not ready', waiting: [0, 3], retrying: [[2, 0]], ready: false, expected: [2] },
    { title: 'gives a retrying call only once it is due, oldest first though the newer fell due first', waiting: [], retrying: [[0, 150], [1, 100], [2, 200], [3, 50]], ready: true, expected: [0, 1, 3] },
    { title: 'gives nothing when empty', waiting: [], retrying: [], ready: true, expected: [] },
  ];
  nextCases.forEach((c) =>
    it(c.title, () => {
      const table = createJobTable();
      for (const seq of c.waiting) table.put(job(seq));
      for (const [seq, due] of c.retrying) table.put(job(seq), due);
      expect(drain(table, c.ready, 150)).to.deep.equal(c.expected);
    }),
  );

  it('keeps admission order when a job comes back to wait behind newer ones', () => {
    const table = createJobTable();
    for (const seq of [1, 2]) table.put(job(seq));
    table.put(job(0));
    expect(seqs([...table.waiting])).to.deep.equal([0, 1, 2]);
  });

  it('says when the next retry falls due after now, and Infinity when none does', () => {
    const table = createJobTable();
    expect(table.nextDue(0)).to.equal(Infinity);
    for (const [seq, due] of [[0, 300], [1, 100], [2, 200]] as const) table.put(job(seq), due);
    expect(table.nextDue(0)).to.equal(100);
    expect(table.nextDue(200)).to.equal(300);
    expect(drain(table, false, 200)).to.deep.equal([1, 2]);
    expect(table.nextDue(300)).to.equal(Infinity);
  });

  it('says when the first wait for CIF ends, and Infinity when no job waits', () => {
    const table = createJobTable();
    expect(table.readyBy()).to.equal(Infinity);
    table.put(job(0, { readyBy: 500 }));
    table.put(job(1, { readyBy: 400 }));
    expect(table.readyBy()).to.equal(400);
  });

  it('gives every job up in admission order, from every place, and is empty after', () => {
    const table = createJobTable();
    table.put(job(3));
    table.put(job(1), 10);
    table.put(job(2), 0);
    table.put(job(0));
    expect(seqs(table.takeAll())).to.deep.equal([0, 1, 2, 3]);
    expect([table.takeAll(), table.nextDue(0), table.next(true, () => Infinity)]).to.deep.equal([[], Infinity, undefined]);
  });
});
