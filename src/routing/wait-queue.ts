// A priority queue of requests waiting for a free slot: lower priority number first, then FIFO.
// A binary heap keeps enqueue and dequeue O(log n) under deep queues.


export interface Waiter {
  priority: number;
  seq: number;
  wake: () => void;
  /** Set when the waiter gave up (timeout, client gone); skipped when popped. */
  cancelled: boolean;
}

function before(a: Waiter, b: Waiter): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
}

export class WaitQueue {
  private heap: Waiter[] = [];
  private nextSeq = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(priority: number, wake: () => void): Waiter {
    const waiter: Waiter = { priority, seq: this.nextSeq++, wake, cancelled: false };
    const h = this.heap;
    h.push(waiter);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
    this.live += 1;
    return waiter;
  }

  cancel(waiter: Waiter): void {
    if (waiter.cancelled) return;
    waiter.cancelled = true;
    this.live -= 1;
  }

  /** Wakes the most urgent live waiter; returns false when none is waiting. */
  wakeNext(): boolean {
    for (;;) {
      const top = this.pop();
      if (!top) return false;
      if (top.cancelled) continue;
      top.cancelled = true;
      this.live -= 1;
      top.wake();
      return true;
    }
  }

  /** Position a new waiter of this priority would take (how many would go before it). */
  aheadOf(priority: number): number {
    let n = 0;
    for (const w of this.heap) if (!w.cancelled && w.priority <= priority) n++;
    return n;
  }

  private pop(): Waiter | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
