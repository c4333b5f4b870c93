// SqlClient over node-postgres. `?` placeholders are rewritten to $1..$n once per statement text.

import pg from 'pg';
import type { Row, SqlClient, SqlExecutor, SqlValue } from './sql.ts';

// BIGINT (int8) and NUMERIC arrive as strings by default; our BIGINTs are epoch ms and counts,
// well inside a double's exact range.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const translated = new Map<string, string>();

/** Rewrites `?` placeholders to `$n`, leaving question marks inside string literals alone. */
export function toPostgresPlaceholders(sql: string): string {
  let out = translated.get(sql);
  if (out !== undefined) return out;
  let n = 0;
  let inString = false;
  out = '';
  for (const ch of sql) {
    if (ch === "'") inString = !inString;
    out += ch === '?' && !inString ? `$${++n}` : ch;
  }
  translated.set(sql, out);
  return out;
}

class PgExecutor implements SqlExecutor {
  constructor(protected readonly target: pg.Pool | pg.PoolClient) {}

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const res = await this.target.query(toPostgresPlaceholders(sql), params as unknown[]);
    return res.rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const res = await this.target.query(toPostgresPlaceholders(sql), params as unknown[]);
    return res.rowCount ?? 0;
  }
}

export class PostgresClient extends PgExecutor implements SqlClient {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;

  constructor(connectionString: string, max = 10) {
    const pool = new pg.Pool({ connectionString, max });
    super(pool);
    this.pool = pool;
    // An idle client dropped by the server must not crash the process.
    pool.on('error', () => {});
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async exclusive<T>(lockId: number, fn: () => Promise<T>): Promise<T> {
    // Lock and unlock on the same connection: from a pooled query the unlock may land on another
    // connection, leaving the lock held by an idle one that a busy pool never closes.
    const holder = await this.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [lockId]);
      try {
        return await fn();
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [lockId]);
      }
    } finally {
      holder.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
