// Picks the counter backend: Redis when a URL is configured (several replicas share limits),
// otherwise in-process (one gateway).

import type { CounterStore } from './types.ts';
import { MemoryCounterStore } from './memory.ts';
import { RedisCounterStore, type RedisCounterOptions } from './redis.ts';

export type { ConsumeResult, CounterCheck, CounterStore } from './types.ts';
export { MemoryCounterStore } from './memory.ts';
export { RedisCounterStore } from './redis.ts';

export function createCounterStore(redisUrl?: string, options: Omit<RedisCounterOptions, 'url'> = {}): CounterStore {
  return redisUrl ? new RedisCounterStore({ ...options, url: redisUrl }) : new MemoryCounterStore();
}
