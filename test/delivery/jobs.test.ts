import { expect } from 'chai';
import { createJobTable, type Job } from '../../src/delivery/jobs.js';

/** A job ranked `seq`, whose wait for CIF ends at `readyBy`. */
function job(seq: number, fields: Partial<Job> = {}): Job {
  const batch = () => {};
  const call = { data: { conversationId: 'c', providerSessionId: 'p', events: [{ kpiEventName: `K${seq}`, eventTimestamp: '' }] }, eventName: `K${seq}`, correlationId: 'c' };
  return { call, seq, events: 1, batch, readyBy: 0, attempts: 0, called: false, due: 0, entry: undefined, ...fields };
}

type JobTable = ReturnType<typeof createJobTable>;
const seqs = (jobs: readonly Job[]) => jobs.map((j) => j.seq);

/** A table whose waiting jobs are ranked `seqs`, put in that order. */
function waitingTable(...ranks: number[]): JobTable {
  const table = createJobTable();
  for (const seq of ranks) table.put(job(seq));
  return table;
}

/** Takes up to `count` jobs from `table` that may go at `now`, undefined for each it has none. */
function takeMany(table: JobTable, count: number, ready = true, now = 0): Array<number | undefined> {
  return Array.from({ length: count }, () => table.next(ready, () => now)?.seq);
}

describe('job table', () => {
  const nextCases: Array<{ title: string; waiting: number[]; retrying: Array<[seq: number, due: number]>; ready: boolean; expected: Array<number | undefined> }> = [
    { title: 'gives the oldest first when CIF is ready, waiting or due again', waiting: [0, 3], retrying: [[2, 0], [1, 0]], ready: true, expected: [0, 1, 2, 3, undefined] },
    { title: 'gives only calls due again while CIF is not ready', waiting: [0, 3], retrying: [[2, 0]], ready: false, expected: [2, undefined] },
    { title: 'gives a retrying call only once it is due, oldest first though the newer fell due first', waiting: [], retrying: [[0, 150], [1, 100], [2, 200], [3, 50]], ready: true, expected: [0, 1, 3, undefined] },
    { title: 'gives calls due again in rank order, though they were put back out of it', waiting: [], retrying: [[0, 0], [2, 0], [4, 0], [1, 0], [3, 0]], ready: false, expected: [0, 1, 2, 3, 4, undefined] },
    { title: 'gives nothing when empty', waiting: [], retrying: [], ready: true, expected: [undefined] },
  ];
  nextCases.forEach((c) =>
    it(c.title, () => {
      const table = waitingTable(...c.waiting);
      for (const [seq, due] of c.retrying) table.put(job(seq), due);
      expect(takeMany(table, c.expected.length, c.ready, 150)).to.deep.equal(c.expected);
    }),
  );

  it('looks at each job of a burst that fails as it went a bounded number of times, not at every other one per failure', () => {
    // What the engine does as a host rejects a flushed batch call by call: each failure goes to backoff, then the next call is looked for.
    let reads = 0;
    const counted = (seq: number): Job => {
      const counting = job(seq);
      let due = 0;
      Object.defineProperty(counting, 'seq', { get: () => (reads++, seq) });
      Object.defineProperty(counting, 'due', { get: () => (reads++, due), set: (value: number) => (due = value) });
      return counting;
    };
    const burst = 2_000;
    const table = createJobTable();
    for (let seq = 0; seq < burst; seq++) {
      table.put(counted(seq), 1_000 + seq);
      expect(table.next(true, () => 0)).to.equal(undefined);
    }
    expect(takeMany(table, 2, false, 1_000)).to.deep.equal([0, undefined]);
    // The soonest job went; the next is due a millisecond later, whatever the engine asks meanwhile.
    for (let k = 0; k < burst; k++) table.next(false, () => 1_000);
    expect(reads).to.be.below(10 * burst);
  });

  it('reads no clock while no job retries', () => {
    const table = waitingTable(0, 1);
    const clock = () => {
      throw new Error('the clock was read');
    };
    expect([table.next(true, clock)?.seq, table.next(false, clock)]).to.deep.equal([0, undefined]);
  });

  it('gives waiting jobs back first in, first out, and counts only those not yet taken', () => {
    const table = waitingTable(1, 2, 3);
    expect(takeMany(table, 1)).to.deep.equal([1]);
    expect(table.waiting).to.equal(2);
    expect(takeMany(table, 3)).to.deep.equal([2, 3, undefined]);
    expect(table.waiting).to.equal(0);
  });

  const putBack: Array<{ title: string; taken: number; seq: number; expected: number[] }> = [
    { title: 'first, in a list nothing was taken from', taken: 0, seq: 0, expected: [0, 10, 20, 30] },
    { title: 'first, in a list a job was taken from', taken: 1, seq: 15, expected: [15, 20, 30] },
    { title: 'between two jobs', taken: 0, seq: 25, expected: [10, 20, 25, 30] },
    { title: 'between two jobs of a list a job was taken from', taken: 1, seq: 25, expected: [20, 25, 30] },
    { title: 'last', taken: 1, seq: 35, expected: [20, 30, 35] },
    { title: 'in a list every job was taken from', taken: 3, seq: 5, expected: [5] },
  ];
  putBack.forEach(({ title, taken, seq, expected }) =>
    it(`puts a job that comes back to wait in its rank, ${title}`, () => {
      const table = waitingTable(10, 20, 30);
      takeMany(table, taken);
      table.put(job(seq));
      expect(table.waiting).to.equal(expected.length);
      expect(takeMany(table, expected.length + 1)).to.deep.equal([...expected, undefined]);
    }),
  );

  it('keeps jobs put back out of order in rank order, and puts a newer one last', () => {
    const table = waitingTable(3, 1, 4, 2);
    table.put(job(5));
    expect(takeMany(table, 6)).to.deep.equal([1, 2, 3, 4, 5, undefined]);
  });

  it('takes the waiting jobs a test picks, oldest first, keeping the others in order', () => {
    const table = waitingTable(1, 2, 3, 4, 5);
    takeMany(table, 1);
    expect(seqs(table.take((j) => j.seq % 2 === 0))).to.deep.equal([2, 4]);
    expect(table.waiting).to.equal(2);
    table.put(job(0));
    expect(seqs(table.take())).to.deep.equal([0, 3, 5]);
    expect([table.waiting, table.next(true, () => 0)]).to.deep.equal([0, undefined]);
  });

  it('lets go of the jobs it gave out', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('this test needs node --expose-gc (see .mocharc.json)');
    const table = createJobTable();
    // Made in a function of its own, so this test keeps no reference to the jobs.
    const refs = ((jobs: Job[]) => {
      for (const j of jobs) table.put(j);
      return jobs.map((j) => new WeakRef(j));
    })([job(0), job(1), job(2)]);
    takeMany(table, 2);
    table.take((j) => j.seq === 2);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.map((ref) => ref.deref())).to.deep.equal([undefined, undefined, undefined]);
  });

  it('says when the next retry falls due after now, and Infinity when none does', () => {
    const table = createJobTable();
    expect(table.nextDue(0)).to.equal(Infinity);
    for (const [seq, due] of [[0, 300], [1, 100], [2, 200]] as const) table.put(job(seq), due);
    expect(table.nextDue(0)).to.equal(100);
    expect(table.nextDue(200)).to.equal(300);
    expect(takeMany(table, 3, false, 200)).to.deep.equal([1, 2, undefined]);
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
    expect(seqs(table.takeAll([job(4), job(-1)]))).to.deep.equal([-1, 0, 1, 2, 3, 4]);
    expect([table.takeAll([]), table.nextDue(0), table.next(true, () => Infinity), table.waiting]).to.deep.equal([[], Infinity, undefined, 0]);
  });
});
