// Picks the counter backend: Redis when a URL is configured (several replicas share limits),
// otherwise in-process (one gateway).

import type { CounterStore } from './types.ts';
import { MemoryCounterStore } from './memory.ts';
import { RedisCounterStore } from './redis.ts';
import type { RedisConnection } from '../redis-connection.ts';

export type { ConsumeResult, CounterCheck, CounterStore } from './types.ts';
export { MemoryCounterStore } from './memory.ts';
export { RedisCounterStore } from './redis.ts';

/** Redis counters over a connection the caller owns, or in-process ones without it. */
export function createCounterStore(redis?: RedisConnection | string, options: { prefix?: string } = {}): CounterStore {
  if (redis === undefined) return new MemoryCounterStore();
  return typeof redis === 'string' ? new RedisCounterStore({ ...options, url: redis }) : new RedisCounterStore({ ...options, connection: redis });
}
