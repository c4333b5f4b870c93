// A cumulative Prometheus histogram with fixed bucket bounds, cheap enough to observe every token.

export class Histogram {
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Bucket counts are per bucket here and accumulated when rendered.
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.counts.length) this.counts[lo]++;
  }

  /** Cumulative counts per bound (Prometheus `le` semantics), without the +Inf bucket. */
  cumulative(): number[] {
    const out: number[] = [];
    let acc = 0;
    for (const c of this.counts) out.push((acc += c));
    return out;
  }
}
