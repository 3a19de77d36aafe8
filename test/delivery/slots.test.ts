import { expect } from 'chai';
import type { Job } from '../../src/delivery/jobs.js';
import { createSlots } from '../../src/delivery/slots.js';

const job = (seq: number) => ({ seq, state: 'waiting', attempt: undefined, slot: -1, due: 0 }) as unknown as Job;

describe('slots', () => {
  it('has a free slot until max calls run or are held', () => {
    const slots = createSlots(2);
    const [a, b] = [job(0), job(1)];
    expect(slots.free).to.equal(true);
    slots.start(a, 100);
    const held = slots.start(b, 100);
    expect(slots.free).to.equal(false);
    slots.stop(b);
    slots.hold(held, 500);
    expect([slots.free, slots.running.length, slots.held.length]).to.deep.equal([false, 1, 1]);
    expect(slots.release(held)).to.equal(true);
    expect(slots.free).to.equal(true);
  });

  it('starts a job in flight under a new attempt that reaches it until it is stopped', () => {
    const slots = createSlots(1);
    const a = job(0);
    const attempt = slots.start(a, 100);
    expect([a.state, a.due, a.attempt, attempt.job]).to.deep.equal(['in_flight', 100, attempt, a]);
    expect(slots.stop(a)).to.equal(attempt);
    expect([a.attempt, attempt.job, slots.running]).to.deep.equal([undefined, undefined, []]);
  });

  it('stops any running job, keeping every other one reachable by its slot', () => {
    const slots = createSlots(3);
    const jobs = [job(0), job(1), job(2)];
    for (const j of jobs) slots.start(j, 100);
    slots.stop(jobs[0]!);
    expect(slots.running.map((j) => j.seq).sort()).to.deep.equal([1, 2]);
    for (const j of slots.running) expect(slots.running[j.slot]).to.equal(j);
    slots.stop(jobs[2]!);
    slots.stop(jobs[1]!);
    expect(slots.running).to.deep.equal([]);
  });

  it('releases only an attempt it holds, once', () => {
    const slots = createSlots(1);
    const a = job(0);
    const attempt = slots.start(a, 100);
    slots.stop(a);
    expect(slots.release(attempt)).to.equal(false);
    slots.hold(attempt, 200);
    expect([slots.release(attempt), slots.release(attempt)]).to.deep.equal([true, false]);
  });

  it('names its earliest deadline, a timeout or the end of a hold, and releases every hold at once', () => {
    const slots = createSlots(3);
    expect(slots.nextDeadline()).to.equal(Infinity);
    const [a, b] = [job(0), job(1)];
    slots.start(a, 300);
    const held = slots.start(b, 900);
    slots.stop(b);
    slots.hold(held, 200);
    expect(slots.nextDeadline()).to.equal(200);
    slots.releaseAll();
    expect([slots.held.length, held.heldUntil, slots.nextDeadline()]).to.deep.equal([0, 0, 300]);
  });
});
