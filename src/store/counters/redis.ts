// Counters in Redis, shared by every gateway replica. Each operation is one Lua script call (one
// round trip); auto-pipelining folds calls made in the same tick (e.g. settling four counters when a
// request ends) into one write. Every failure is a RedisUnavailableError naming REDIS_URL, thrown at
// once while Redis is unreachable (see RedisConnection): callers fail open or closed, never wait.

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConsumeResult, CounterCheck, CounterStore, HeldReservation, ReservationHold } from './types.ts';
import { ADJUST, CONSUME, GET, RELEASE_RESERVATIONS, RESERVATIONS, RESERVE, SETTLE_RESERVATION } from './redis-scripts.ts';
import { RedisConnection } from '../redis-connection.ts';

export type RedisCounterOptions = {
  /** Prepended to every key, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
} & (
  | { /** A connection this store opens, and closes with itself. */ url: string; /** Bound on one command (default 1 s). */ commandTimeoutMs?: number }
  | { /** A connection shared with others (pub/sub); the caller closes it. */ connection: RedisConnection }
);

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
  private readonly connection: RedisConnection;
  private readonly ownsConnection: boolean;
  private readonly prefix: string;

  constructor(options: RedisCounterOptions) {
    this.prefix = options.prefix ?? 'sy:';
    this.ownsConnection = !('connection' in options);
    this.connection = 'connection' in options ? options.connection : new RedisConnection({ url: options.url, commandTimeoutMs: options.commandTimeoutMs });
  }

  /** The command client (tests and diagnostics). */
  get redis(): Redis {
    return this.connection.commands;
  }

  get generation(): number {
    return this.connection.generation;
  }

  async consume(checks: readonly CounterCheck[]): Promise<ConsumeResult> {
    if (checks.length === 0) return { ok: true, values: [], resetsInMs: [] };
    const keys = checks.map((c) => this.prefix + c.key);
    const args = checks.flatMap((c) => [String(c.limit), String(c.amount), c.windowMs ?? 0, c.ttlMs ?? 0]);
    return consumeResult((await this.run(consumeScript, keys, args, 'counter check')) as unknown[], checks.length);
  }

  async reserve(checks: readonly CounterCheck[], hold: ReservationHold): Promise<ConsumeResult> {
    if (checks.length === 0) return { ok: true, values: [], resetsInMs: [] };
    const keys = checks.map((c) => this.prefix + c.key);
    const args: Arg[] = [hold.id, hold.holdMs, hold.info];
    for (const c of checks) args.push(String(c.limit), String(c.amount), c.ttlMs ?? 0);
    return consumeResult((await this.run(reserveScript, keys, args, 'budget reservation')) as unknown[], checks.length);
  }

  async settleReservation(key: string, id: string, actual: number, options: { ttlMs?: number } = {}): Promise<number> {
    return Number(await this.run(settleReservationScript, [this.prefix + key], [id, String(actual), options.ttlMs ?? 0], 'budget settlement'));
  }

  async reservations(key: string): Promise<HeldReservation[]> {
    return heldReservations(await this.run(reservationsScript, [this.prefix + key], [], 'reservation list'));
  }

  async releaseReservations(key: string, ids?: readonly string[]): Promise<HeldReservation[]> {
    // An empty id list means "all" to the script, so asking to release none must not reach it.
    if (ids && ids.length === 0) return [];
    return heldReservations(await this.run(releaseReservationsScript, [this.prefix + key], ids ?? [], 'reservation release'));
  }

  /** Never leaves a counter below zero: a release after the counter expired must not create credit. */
  async adjust(key: string, delta: number, options: { windowMs?: number; ttlMs?: number } = {}): Promise<number> {
    const reply = await this.run(adjustScript, [this.prefix + key], [String(delta), options.windowMs ?? 0, options.ttlMs ?? 0], 'counter update');
    return Number(reply);
  }

  async get(key: string, options: { windowMs?: number } = {}): Promise<number> {
    return Number(await this.run(getScript, [this.prefix + key], [options.windowMs ?? 0], 'counter read'));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.connection.close();
  }

  private run(script: LuaScript, keys: readonly string[], args: readonly Arg[], what: string): Promise<unknown> {
    return this.connection.command((redis) => script.run(redis, keys, args), what);
  }
}
