// In-process counters: the single-gateway default. Same semantics as the Redis store (fixed
// windows aligned to multiples of windowMs since the epoch, all-or-nothing consume), so a test
// suite written once holds for both.

import type { ConsumeResult, CounterCheck, CounterStore } from './types.ts';

interface Entry {
  value: number;
  /** Start of the fixed window this value belongs to; null for window-less counters. */
  windowStart: number | null;
  /** Epoch ms after which the entry counts as absent; null for "until released". */
  expiresAt: number | null;
}

export interface MemoryCounterOptions {
  /** Clock, injectable so tests can cross window boundaries without waiting. */
  now?: () => number;
  /** How often expired entries are swept, so idle keys do not accumulate. */
  sweepIntervalMs?: number;
}

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryCounterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweeper.unref();
  }

  /** The live entry for key in the current window, or undefined when absent, expired or rolled over. */
  private live(key: string, windowMs: number | undefined, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const rolled = windowMs ? entry.windowStart !== windowStart(now, windowMs) : false;
    if (rolled || (entry.expiresAt !== null && now >= entry.expiresAt)) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async consume(checks: readonly CounterCheck[]): Promise<ConsumeResult> {
    const now = this.now();
    // Amounts already claimed by earlier checks on the same key in this call.
    const pending = new Map<string, number>();
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i];
      const current = (this.live(c.key, c.windowMs, now)?.value ?? 0) + (pending.get(c.key) ?? 0);
      if (current + c.amount > c.limit) {
        return { ok: false, failed: i, current, limit: c.limit, resetsInMs: resetIn(now, c.windowMs) };
      }
      pending.set(c.key, (pending.get(c.key) ?? 0) + c.amount);
    }
    const values: number[] = [];
    for (const c of checks) {
      let entry = this.live(c.key, c.windowMs, now);
      if (!entry) {
        entry = { value: 0, windowStart: null, expiresAt: null };
        this.entries.set(c.key, entry);
      }
      entry.value += c.amount;
      if (c.windowMs) {
        entry.windowStart = windowStart(now, c.windowMs);
        entry.expiresAt = entry.windowStart + c.windowMs;
      } else if (c.ttlMs) {
        entry.expiresAt = now + c.ttlMs;
      }
      values.push(entry.value);
    }
    return { ok: true, values, resetsInMs: checks.map((c) => resetIn(now, c.windowMs)) };
  }

  /** Never leaves a counter below zero: a release after the counter expired must not create credit. */
  async adjust(key: string, delta: number, options: { windowMs?: number; ttlMs?: number } = {}): Promise<number> {
    const now = this.now();
    const entry = this.live(key, options.windowMs, now);
    if (!entry) {
      if (delta <= 0) return 0;
      const start = options.windowMs ? windowStart(now, options.windowMs) : null;
      const expiresAt = start !== null ? start + options.windowMs! : options.ttlMs ? now + options.ttlMs : null;
      this.entries.set(key, { value: delta, windowStart: start, expiresAt });
      return delta;
    }
    entry.value += delta;
    if (entry.value <= 0) {
      this.entries.delete(key);
      return 0;
    }
    return entry.value;
  }

  async get(key: string, options: { windowMs?: number } = {}): Promise<number> {
    return this.live(key, options.windowMs, this.now())?.value ?? 0;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt !== null && now >= entry.expiresAt) this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }
}

function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

function resetIn(now: number, windowMs: number | undefined): number {
  return windowMs ? windowStart(now, windowMs) + windowMs - now : 0;
}
