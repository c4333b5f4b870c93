// Real Redis for tenancy and counter tests. Locally a missing server skips with a reason; in CI
// (CI=true) it fails, so a broken service never turns into a silently green run.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { TestContext } from 'node:test';
import { REDIS_URL } from '../../support/databases.ts';

export { REDIS_URL };

async function redisProblem(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    probe.disconnect();
  }
}

/** True when Redis is there; otherwise skips the test (locally) or throws (CI). */
export async function requireRedis(t: TestContext): Promise<boolean> {
  const problem = await redisProblem();
  if (!problem) return true;
  if (process.env.CI) throw new Error(`Redis at ${REDIS_URL} is required in CI: ${problem}`);
  t.skip(`Redis not reachable at ${REDIS_URL}: ${problem}`);
  return false;
}

/** A key prefix no other test run uses, so runs never see each other's counters. */
export function uniquePrefix(label: string): string {
  return `sy-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under a prefix (test cleanup). */
export async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
