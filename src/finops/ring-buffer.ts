// A fixed-capacity FIFO with O(1) push and shift. When full, a push evicts the oldest item, so
// memory stays bounded whatever the database does (unbounded spend-log queues are how other
// gateways run out of memory when their database slows down).

export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Appends; returns the evicted oldest item when the buffer was full. */
  push(item: T): T | undefined {
    let evicted: T | undefined;
    if (this.count === this.capacity) {
      evicted = this.items[this.head];
      this.head = (this.head + 1) % this.capacity;
      this.count -= 1;
    }
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count += 1;
    return evicted;
  }

  /** Removes and returns up to n of the oldest items, oldest first. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.count > 0) {
      out.push(this.items[this.head] as T);
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count -= 1;
    }
    return out;
  }

  /**
   * Puts items back in front (a batch whose write failed), oldest first. What does not fit is
   * dropped from the old end; returns how many were dropped.
   */
  unshiftAll(items: readonly T[]): number {
    const room = this.capacity - this.count;
    const keep = items.slice(Math.max(0, items.length - room));
    for (let i = keep.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.items[this.head] = keep[i];
      this.count += 1;
    }
    return items.length - keep.length;
  }
}
