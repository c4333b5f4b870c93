// Real PostgreSQL and Redis for tests: 127.0.0.1:5432 (database `test`) and 127.0.0.1:6379.
// Locally a missing server skips the test with a reason; in CI (CI=true) it fails, so a broken
// service never turns into a silently green run.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestContext } from 'node:test';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A fresh PostgreSQL schema for one test file; returns a connection URL whose search_path points
 * at it, and a cleanup function. Skips (locally) or throws (CI) when PostgreSQL is not there.
 */
export async function freshPostgresSchema(t: TestContext): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const problem = await postgresReachable();
  if (problem) {
    if (process.env.CI) throw new Error(`PostgreSQL at ${POSTGRES_URL} is required in CI: ${problem}`);
    t.skip(`PostgreSQL not reachable at ${POSTGRES_URL}: ${problem}`);
    return undefined;
  }
  const schema = `sy_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}
