/**
 * A first-in first-out queue kept in ascending rank, read from a head index instead of
 * `Array#shift`, which copies the whole array on long queues. Taken slots are let go of when the
 * queue empties, or once they are most of a long array.
 */
export class Queue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  constructor(private readonly rank: (item: T) => number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** The oldest item, left in place. */
  get first(): T | undefined {
    return this.items[this.head];
  }

  /** Puts `item` in its place by rank, so an item that comes back keeps its order with the rest. */
  insert(item: T): void {
    const { items, rank } = this;
    const r = rank(item);
    let low = this.head;
    let high = items.length;
    // Most items come last, in admission order.
    if (low < high && rank(items[high - 1]!) < r) low = high;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (rank(items[mid]!) < r) low = mid + 1;
      else high = mid;
    }
    items.splice(low, 0, item);
  }

  shift(): T | undefined {
    const { items } = this;
    if (this.head === items.length) return undefined;
    const item = items[this.head];
    items[this.head++] = undefined;
    // Emptied, or taken slots are half of a long array: let go of them.
    if (this.head === items.length || (this.head >= 1024 && this.head * 2 >= items.length)) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns the items `test` picks (every item without one), oldest first; the others keep their order. */
  take(test: (item: T) => boolean = () => true): T[] {
    const taken: T[] = [];
    const kept: T[] = [];
    for (const item of this) (test(item) ? taken : kept).push(item);
    this.items = kept;
    this.head = 0;
    return taken;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}
