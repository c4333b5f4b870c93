// Counters in Redis, shared by every gateway replica. Each operation is one Lua script call (one
// round trip); auto-pipelining folds calls made in the same tick (e.g. settling four counters when a
// request ends) into one write.

import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ConsumeResult, CounterCheck, CounterStore, HeldReservation, ReservationHold } from './types.ts';
import { ADJUST, CONSUME, GET, RELEASE_RESERVATIONS, RESERVATIONS, RESERVE, SETTLE_RESERVATION } from './redis-scripts.ts';

export interface RedisCounterOptions {
  url: string;
  /** Prepended to every key, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /** Bound on one command, so a stalled Redis fails a request instead of hanging it. */
  commandTimeoutMs?: number;
  /** Connection errors (ioredis reconnects by itself); without a listener they would go to stderr. */
  onError?: (err: Error) => void;
}

type Arg = string | number;

class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, falling back to EVAL once when the server does not know the script yet (NOSCRIPT). */
  async run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const consumeScript = new LuaScript(CONSUME);
const adjustScript = new LuaScript(ADJUST);
const getScript = new LuaScript(GET);
const reserveScript = new LuaScript(RESERVE);
const settleReservationScript = new LuaScript(SETTLE_RESERVATION);
const reservationsScript = new LuaScript(RESERVATIONS);
const releaseReservationsScript = new LuaScript(RELEASE_RESERVATIONS);

/** Parses the flat {id, expiresAt, amount, info, ...} reply of the reservation scripts. */
function heldReservations(reply: unknown): HeldReservation[] {
  const flat = reply as string[];
  const out: HeldReservation[] = [];
  for (let i = 0; i < flat.length; i += 4) out.push({ id: flat[i], expiresAt: Number(flat[i + 1]), amount: Number(flat[i + 2]), info: flat[i + 3] });
  return out;
}

function consumeResult(reply: unknown[], n: number): ConsumeResult {
  if (Number(reply[0]) === 1) return { ok: true, values: reply.slice(1, 1 + n).map(Number), resetsInMs: reply.slice(1 + n, 1 + 2 * n).map(Number) };
  return { ok: false, failed: Number(reply[1]), current: Number(reply[2]), limit: Number(reply[3]), resetsInMs: Number(reply[4]) };
}

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis' as const;
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(options: RedisCounterOptions) {
    this.prefix = options.prefix ?? 'sy:';
    this.redis = new Redis(options.url, {
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2_000,
    });
    this.redis.on('error', options.onError ?? (() => {}));
  }

  async consume(checks: readonly CounterCheck[]): Promise<ConsumeResult> {
    if (checks.length === 0) return { ok: true, values: [], resetsInMs: [] };
    const keys = checks.map((c) => this.prefix + c.key);
    const args = checks.flatMap((c) => [String(c.limit), String(c.amount), c.windowMs ?? 0, c.ttlMs ?? 0]);
    return consumeResult((await consumeScript.run(this.redis, keys, args)) as unknown[], checks.length);
  }

  async reserve(checks: readonly CounterCheck[], hold: ReservationHold): Promise<ConsumeResult> {
    if (checks.length === 0) return { ok: true, values: [], resetsInMs: [] };
    const keys = checks.map((c) => this.prefix + c.key);
    const args: Arg[] = [hold.id, hold.holdMs, hold.info];
    for (const c of checks) args.push(String(c.limit), String(c.amount), c.ttlMs ?? 0);
    return consumeResult((await reserveScript.run(this.redis, keys, args)) as unknown[], checks.length);
  }

  async settleReservation(key: string, id: string, actual: number, options: { ttlMs?: number } = {}): Promise<number> {
    return Number(await settleReservationScript.run(this.redis, [this.prefix + key], [id, String(actual), options.ttlMs ?? 0]));
  }

  async reservations(key: string): Promise<HeldReservation[]> {
    return heldReservations(await reservationsScript.run(this.redis, [this.prefix + key], []));
  }

  async releaseReservations(key: string, ids?: readonly string[]): Promise<HeldReservation[]> {
    // An empty id list means "all" to the script, so asking to release none must not reach it.
    if (ids && ids.length === 0) return [];
    return heldReservations(await releaseReservationsScript.run(this.redis, [this.prefix + key], ids ?? []));
  }

  /** Never leaves a counter below zero: a release after the counter expired must not create credit. */
  async adjust(key: string, delta: number, options: { windowMs?: number; ttlMs?: number } = {}): Promise<number> {
    const reply = await adjustScript.run(this.redis, [this.prefix + key], [String(delta), options.windowMs ?? 0, options.ttlMs ?? 0]);
    return Number(reply);
  }

  async get(key: string, options: { windowMs?: number } = {}): Promise<number> {
    return Number(await getScript.run(this.redis, [this.prefix + key], [options.windowMs ?? 0]));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
