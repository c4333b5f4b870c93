// In-process counters: the single-gateway default. Same semantics as the Redis store (fixed
// windows aligned to multiples of windowMs since the epoch, all-or-nothing consume), so a test
// suite written once holds for both.

import type { ConsumeResult, CounterCheck, CounterStore, HeldReservation, ReservationHold } from './types.ts';

interface Entry {
  value: number;
  /** Start of the fixed window this value belongs to; null for window-less counters. */
  windowStart: number | null;
  /** Epoch ms after which the entry counts as absent; null for "until released". */
  expiresAt: number | null;
}

/** The reservations held on one counter. */
interface Holds {
  byId: Map<string, HeldReservation>;
  /** No reservation expires before this, so most calls skip the scan for expired ones. */
  nextExpiry: number;
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
  private readonly holds = new Map<string, Holds>();
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
      // Reservations expire with their counter (as their Redis keys share its ttl), so they never
      // come off a later counter of the same name.
      this.holds.delete(key);
      return undefined;
    }
    return entry;
  }

  async consume(checks: readonly CounterCheck[]): Promise<ConsumeResult> {
    return this.consumeAt(checks, this.now());
  }

  /** Synchronous, so callers can extend it atomically (reserve records its holds in the same turn). */
  private consumeAt(checks: readonly CounterCheck[], now: number): ConsumeResult {
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

  async reserve(checks: readonly CounterCheck[], hold: ReservationHold): Promise<ConsumeResult> {
    const now = this.now();
    for (const c of checks) this.releaseExpired(c.key, now);
    const result = this.consumeAt(checks, now);
    if (!result.ok) return result;
    const expiresAt = now + hold.holdMs;
    checks.forEach((c) => {
      let h = this.holds.get(c.key);
      if (!h) {
        h = { byId: new Map(), nextExpiry: expiresAt };
        this.holds.set(c.key, h);
      }
      const held = h.byId.get(hold.id);
      // One id named twice on a key holds the sum, as the counter does.
      h.byId.set(hold.id, { id: hold.id, amount: (held?.amount ?? 0) + c.amount, expiresAt, info: hold.info });
      h.nextExpiry = Math.min(h.nextExpiry, expiresAt);
    });
    return result;
  }

  async settleReservation(key: string, id: string, actual: number, options: { ttlMs?: number } = {}): Promise<number> {
    const now = this.now();
    this.releaseExpired(key, now);
    const h = this.holds.get(key);
    const held = h?.byId.get(id);
    if (held) this.dropHold(key, h!, id);
    return this.adjustAt(key, actual - (held?.amount ?? 0), { ttlMs: options.ttlMs }, now);
  }

  async reservations(key: string): Promise<HeldReservation[]> {
    this.releaseExpired(key, this.now());
    return [...(this.holds.get(key)?.byId.values() ?? [])].sort((x, y) => x.expiresAt - y.expiresAt).map((r) => ({ ...r }));
  }

  async releaseReservations(key: string, ids?: readonly string[]): Promise<HeldReservation[]> {
    const now = this.now();
    this.releaseExpired(key, now);
    const h = this.holds.get(key);
    if (!h) return [];
    const released: HeldReservation[] = [];
    for (const id of ids ?? [...h.byId.keys()]) {
      const r = h.byId.get(id);
      if (!r) continue;
      this.dropHold(key, h, id);
      this.adjustAt(key, -r.amount, {}, now);
      released.push({ ...r });
    }
    return released;
  }

  /** Gives back what expired reservations on `key` hold; scans only once the earliest expiry passed. */
  private releaseExpired(key: string, now: number): void {
    const h = this.holds.get(key);
    if (!h || now < h.nextExpiry) return;
    let next = Infinity;
    for (const r of h.byId.values()) {
      if (r.expiresAt <= now) {
        h.byId.delete(r.id);
        const entry = this.live(key, undefined, now);
        if (entry) {
          entry.value -= r.amount;
          if (entry.value <= 0) this.entries.delete(key);
        }
      } else if (r.expiresAt < next) next = r.expiresAt;
    }
    h.nextExpiry = next;
    if (h.byId.size === 0) this.holds.delete(key);
  }

  private dropHold(key: string, h: Holds, id: string): void {
    h.byId.delete(id);
    if (h.byId.size === 0) this.holds.delete(key);
  }

  /** Never leaves a counter below zero: a release after the counter expired must not create credit. */
  async adjust(key: string, delta: number, options: { windowMs?: number; ttlMs?: number } = {}): Promise<number> {
    return this.adjustAt(key, delta, options, this.now());
  }

  private adjustAt(key: string, delta: number, options: { windowMs?: number; ttlMs?: number }, now: number): number {
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
    for (const key of this.holds.keys()) this.releaseExpired(key, now);
    for (const key of this.entries.keys()) this.live(key, undefined, now);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.holds.clear();
  }
}

function windowStart(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

function resetIn(now: number, windowMs: number | undefined): number {
  return windowMs ? windowStart(now, windowMs) + windowMs - now : 0;
}
