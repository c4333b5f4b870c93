// Exponentially weighted moving average of a latency-like signal (e.g. time to first token).
//
// Each sample moves the average by `alpha`. With `halfLifeMs` the old average also loses weight
// with elapsed time, so after a quiet minute the next sample dominates instead of being averaged
// against stale history: weight = 1 - (1 - alpha) * 2^(-elapsed / halfLife). Samples arriving at
// the same instant still each count with `alpha` (a pure time-decay EWMA would ignore them).

export interface EwmaOptions {
  /** Weight of each new sample, 0 < alpha <= 1. Default 0.2 (about the last ten samples). */
  alpha?: number;
  /** Half-life of the old average in ms of elapsed time; unset means sample-count decay only. */
  halfLifeMs?: number;
}

export class Ewma {
  private readonly alpha: number;
  private readonly halfLifeMs: number | undefined;
  private current: number | undefined;
  private lastAt = 0;
  private samples = 0;

  constructor(options: EwmaOptions = {}) {
    const alpha = options.alpha ?? 0.2;
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`Ewma alpha must be in (0, 1], got ${alpha}`);
    if (options.halfLifeMs !== undefined && !(options.halfLifeMs > 0)) throw new RangeError('Ewma halfLifeMs must be > 0');
    this.alpha = alpha;
    this.halfLifeMs = options.halfLifeMs;
  }

  /** The average, or undefined before the first sample. */
  get value(): number | undefined {
    return this.current;
  }

  get count(): number {
    return this.samples;
  }

  /** Adds a sample observed at `now` (ms; only used with halfLifeMs) and returns the new average. */
  update(sample: number, now = 0): number {
    if (!Number.isFinite(sample)) return this.current ?? Number.NaN; // a broken measurement must not poison the average
    this.samples++;
    if (this.current === undefined) {
      this.current = sample;
    } else {
      let weight = this.alpha;
      if (this.halfLifeMs !== undefined) {
        const elapsed = Math.max(0, now - this.lastAt);
        weight = 1 - (1 - this.alpha) * Math.pow(2, -elapsed / this.halfLifeMs);
      }
      this.current += weight * (sample - this.current);
    }
    this.lastAt = now;
    return this.current;
  }

  reset(): void {
    this.current = undefined;
    this.samples = 0;
    this.lastAt = 0;
  }
}
