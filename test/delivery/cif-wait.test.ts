import { expect } from 'chai';
import { readyTimeUp } from '../../src/delivery/cif-wait.js';
import { createJobTable, type Job } from '../../src/delivery/jobs.js';
import { createReadiness, type CifReadiness } from '../../src/delivery/readiness.js';
import { installFakeCIFramework, type FakeCIFramework } from '../../src/testing/index.js';

const job = (seq: number, readyBy: number) => ({ seq, readyBy, state: 'waiting', attempt: undefined, slot: -1, due: 0 }) as unknown as Job;

describe('the end of a wait for CIF', () => {
  let fake: FakeCIFramework | undefined;
  afterEach(() => fake?.uninstall());

  const cases: Array<{ what: string; readiness: () => CifReadiness; settled: string[]; due: number[]; waiting: number[] }> = [
    {
      what: 'gives up the calls whose wait ran out when the ready promise has not resolved',
      readiness: () => createReadiness({ kind: 'promise', ready: new Promise(() => {}) }, () => {}),
      settled: ['0 cif_not_loaded CIF library not loaded: the ready promise did not resolve within 20 ms'],
      due: [],
      waiting: [1],
    },
    {
      what: 'makes the calls whose wait ran out due when the page library is there, though it failed a call before its event',
      readiness: () => {
        fake = installFakeCIFramework(globalThis);
        const readiness = createReadiness({ kind: 'page' }, () => {});
        readiness.current();
        readiness.unready();
        return readiness;
      },
      settled: [],
      due: [0],
      waiting: [1],
    },
    {
      what: 'leaves every call waiting when CIF is ready, for the engine to send',
      readiness: () => createReadiness({ kind: 'client' }, () => {}),
      settled: [],
      due: [],
      waiting: [0, 1],
    },
  ];
  cases.forEach((c) =>
    it(c.what, () => {
      const jobs = createJobTable();
      jobs.put(job(0, 100), 'waiting');
      jobs.put(job(1, 101), 'waiting');
      const settled: string[] = [];
      readyTimeUp(c.readiness(), jobs, 100, 20, (j, error, reason) => settled.push(`${j.seq} ${reason} ${error.message}`));
      const due: number[] = [];
      for (let next = jobs.next(false); next; next = jobs.next(false)) due.push(next.seq);
      expect({ settled, due, waiting: [...jobs.waiting].map((j) => j.seq) }).to.deep.equal({ settled: c.settled, due: c.due, waiting: c.waiting });
    }),
  );
});
