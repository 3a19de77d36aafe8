import { expect } from 'chai';
import { createJobTable, type Job } from '../../src/delivery/jobs.js';

/** A job ranked `seq`, whose wait for CIF ends at `readyBy` and whose backoff ends at `due`. */
function job(seq: number, fields: Partial<Job> = {}): Job {
  const batch = { report: { calls: 1, failed: 0, errors: [] }, pending: 1, resolve: () => {} };
  const call = { data: { conversationId: 'c', providerSessionId: 'p', events: [{ kpiEventName: `K${seq}`, eventTimestamp: '' }] }, eventName: `K${seq}`, correlationId: 'c' };
  return { call, seq, events: 1, batch, state: 'waiting', readyBy: 0, attempts: 0, called: false, due: 0, attempt: undefined, slot: -1, entry: undefined, ...fields };
}

const seqs = (jobs: readonly Job[]) => jobs.map((j) => j.seq);

describe('job table', () => {
  it('names the place of each job it holds by its state', () => {
    const table = createJobTable();
    const [a, b, c] = [job(0), job(1), job(2)];
    table.put(a, 'waiting');
    table.put(b, 'due');
    table.put(c, 'backoff');
    expect([a.state, b.state, c.state]).to.deep.equal(['waiting', 'due', 'backoff']);
  });

  const nextCases: Array<{ title: string; waiting: number[]; due: number[]; ready: boolean; expected: Array<number | undefined> }> = [
    { title: 'gives the oldest first when CIF is ready, waiting or due', waiting: [0, 3], due: [1, 2], ready: true, expected: [0, 1, 2, 3, undefined] },
    { title: 'gives only calls due for a retry while CIF is not ready', waiting: [0, 3], due: [2], ready: false, expected: [2, undefined] },
    { title: 'gives nothing when empty', waiting: [], due: [], ready: true, expected: [undefined] },
  ];
  nextCases.forEach((c) =>
    it(c.title, () => {
      const table = createJobTable();
      for (const seq of c.waiting) table.put(job(seq), 'waiting');
      for (const seq of c.due) table.put(job(seq), 'due');
      expect(c.expected.map(() => table.next(c.ready)?.seq)).to.deep.equal(c.expected);
    }),
  );

  it('keeps admission order when a job comes back to wait behind newer ones', () => {
    const table = createJobTable();
    for (const seq of [1, 2]) table.put(job(seq), 'waiting');
    table.put(job(0), 'waiting');
    expect(seqs([...table.waiting])).to.deep.equal([0, 1, 2]);
  });

  it('makes the jobs whose backoff has ended due, oldest first, and says when the next one ends', () => {
    const table = createJobTable();
    const jobs = [job(0, { due: 300 }), job(1, { due: 100 }), job(2, { due: 200 })];
    for (const j of jobs) table.put(j, 'backoff');
    expect(table.nextBackoff()).to.equal(100);
    table.endBackoffs(200);
    expect(jobs.map((j) => j.state)).to.deep.equal(['backoff', 'due', 'due']);
    expect(table.nextBackoff()).to.equal(300);
    expect([table.next(false)?.seq, table.next(false)?.seq, table.next(false)]).to.deep.equal([1, 2, undefined]);
  });

  it('says when the first wait for CIF ends, and Infinity when no job waits', () => {
    const table = createJobTable();
    expect(table.readyBy()).to.equal(Infinity);
    table.put(job(0, { readyBy: 500 }), 'waiting');
    table.put(job(1, { readyBy: 400 }), 'waiting');
    expect(table.readyBy()).to.equal(400);
  });

  it('gives every job up in admission order, from every place, and is empty after', () => {
    const table = createJobTable();
    table.put(job(3), 'waiting');
    table.put(job(1, { due: 10 }), 'backoff');
    table.put(job(2), 'due');
    table.put(job(0), 'waiting');
    expect(seqs(table.takeAll())).to.deep.equal([0, 1, 2, 3]);
    expect([table.takeAll(), table.nextBackoff(), table.next(true)]).to.deep.equal([[], Infinity, undefined]);
  });
});
