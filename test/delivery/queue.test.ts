import { expect } from 'chai';
import { Queue } from '../../src/delivery/queue.js';

/** A queue of numbers ranked by value, holding `items`, put in order. */
function queueOf(...items: number[]): Queue<number> {
  const queue = new Queue<number>((n) => n);
  for (const item of items) queue.insert(item);
  return queue;
}

/** Shifts `count` items off `queue`, returning them. */
function shiftMany<T>(queue: Queue<T>, count: number): Array<T | undefined> {
  return Array.from({ length: count }, () => queue.shift());
}

/** How many slots the queue's array holds, taken ones included: what it keeps in memory. */
const slots = (queue: Queue<number>) => (Reflect.get(queue, 'items') as unknown[]).length;

const range = (length: number) => Array.from({ length }, (_, i) => i);

describe('Queue', () => {
  it('gives its items back first in, first out, and undefined once empty', () => {
    const queue = queueOf(1, 2, 3);
    expect(shiftMany(queue, 4)).to.deep.equal([1, 2, 3, undefined]);
    expect(queue.length).to.equal(0);
  });

  it('counts only the items not yet taken', () => {
    const queue = queueOf(1, 2, 3);
    queue.shift();
    expect(queue.length).to.equal(2);
    expect([...queue]).to.deep.equal([2, 3]);
  });

  const putBack: Array<{ title: string; taken: number; item: number; expected: number[] }> = [
    { title: 'at the front of a queue nothing was taken from', taken: 0, item: 0, expected: [0, 10, 20, 30] },
    { title: 'at the front of a queue an item was taken from', taken: 1, item: 15, expected: [15, 20, 30] },
    { title: 'at the front of a queue two items were taken from', taken: 2, item: 5, expected: [5, 30] },
    { title: 'between two items', taken: 0, item: 25, expected: [10, 20, 25, 30] },
    { title: 'between two items of a queue an item was taken from', taken: 1, item: 25, expected: [20, 25, 30] },
    { title: 'at the end', taken: 1, item: 35, expected: [20, 30, 35] },
    { title: 'after the items of the same rank', taken: 0, item: 20, expected: [10, 20, 20, 30] },
  ];
  putBack.forEach(({ title, taken, item, expected }) =>
    it(`puts an item back in rank order, ${title}`, () => {
      const queue = queueOf(10, 20, 30);
      shiftMany(queue, taken);
      queue.insert(item);
      expect(queue.length).to.equal(expected.length);
      expect(shiftMany(queue, expected.length + 1)).to.deep.equal([...expected, undefined]);
    }),
  );

  it('keeps items put back out of order in rank order, in an empty queue too', () => {
    const queue = new Queue<number>((n) => n);
    for (const n of [3, 1, 4, 2, 5]) queue.insert(n);
    expect(queue.first).to.equal(1);
    expect(shiftMany(queue, 6)).to.deep.equal([1, 2, 3, 4, 5, undefined]);
    expect(queue.first).to.equal(undefined);
  });

  it('lets go of every slot once it empties', () => {
    const queue = queueOf(1, 2, 3);
    shiftMany(queue, 3);
    expect(slots(queue)).to.equal(0);
    queue.insert(4);
    expect(slots(queue)).to.equal(1);
    expect([...queue]).to.deep.equal([4]);
  });

  const compaction: Array<{ title: string; pushed: number; taken: number; slots: number }> = [
    { title: 'keeps the taken slots of a short queue', pushed: 3, taken: 1, slots: 3 },
    { title: 'keeps the taken slots of a short queue, though they are most of it', pushed: 3, taken: 2, slots: 3 },
    { title: 'keeps 1023 taken slots, though they are most of the array', pushed: 1030, taken: 1023, slots: 1030 },
    { title: 'lets go of 1024 taken slots once they are half the array', pushed: 2048, taken: 1024, slots: 1024 },
    { title: 'keeps 1024 taken slots while they are less than half the array', pushed: 2049, taken: 1024, slots: 2049 },
    { title: 'keeps 1024 taken slots of a long array', pushed: 4096, taken: 1024, slots: 4096 },
    { title: 'lets go of the taken slots once they are half of a long array', pushed: 4096, taken: 2048, slots: 2048 },
  ];
  compaction.forEach((c) =>
    it(`${c.title}, and keeps the order of the rest`, () => {
      const queue = queueOf(...range(c.pushed));
      expect(shiftMany(queue, c.taken)).to.deep.equal(range(c.taken));
      expect(slots(queue)).to.equal(c.slots);
      expect(queue.length).to.equal(c.pushed - c.taken);
      expect([...queue]).to.deep.equal(range(c.pushed).slice(c.taken));
    }),
  );

  it('puts an item back at the front after letting go of the taken slots', () => {
    const queue = queueOf(...range(2048));
    shiftMany(queue, 1024);
    queue.insert(-1);
    expect(queue.shift()).to.equal(-1);
    expect(queue.shift()).to.equal(1024);
    expect(queue.length).to.equal(1023);
  });

  it('takes the items a test picks, oldest first, and keeps the others in order', () => {
    const queue = queueOf(1, 2, 3, 4, 5);
    queue.shift();
    expect(queue.take((n) => n % 2 === 0)).to.deep.equal([2, 4]);
    expect([...queue]).to.deep.equal([3, 5]);
    queue.insert(0);
    expect(queue.take()).to.deep.equal([0, 3, 5]);
    expect(queue.length).to.equal(0);
  });
});
