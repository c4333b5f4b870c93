// Opens the configured store: SQLite in the data dir by default, PostgreSQL with DATABASE_URL.
// Runs at start-up only, never per request.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { SqlClient } from './sql.ts';
import { SqliteClient } from './sqlite-client.ts';
import { PostgresClient } from './postgres-client.ts';
import { migrate } from './migrate.ts';

export interface OpenedStore {
  readonly sql: SqlClient;
  /** Where the data lives, for the start-up banner (credentials removed). */
  readonly location: string;
  readonly instanceId: string;
  readonly schemaVersion: number;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl?: string;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

export async function openStore(options: StoreOptions): Promise<OpenedStore> {
  let sql: SqlClient;
  let location: string;
  if (options.databaseUrl) {
    sql = new PostgresClient(options.databaseUrl);
    location = redactUrl(options.databaseUrl);
  } else {
    const dir = resolve(options.dataDir);
    location = join(dir, 'switchyard.db');
    try {
      mkdirSync(dir, { recursive: true });
      sql = new SqliteClient(location);
    } catch (err) {
      throw new Error(`cannot open the SQLite store at ${location} (${(err as Error).message}); set --data-dir or SWITCHYARD_DATA_DIR to a writable directory`, { cause: err });
    }
  }
  try {
    const schemaVersion = await migrate(sql);
    await sql.run('INSERT INTO switchyard_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', ['instance_id', randomUUID()]);
    await sql.run('INSERT INTO switchyard_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', ['created_at', new Date().toISOString()]);
    const [row] = await sql.query<{ value: string }>('SELECT value FROM switchyard_meta WHERE key = ?', ['instance_id']);
    return { sql, location, instanceId: row.value, schemaVersion, close: () => sql.close() };
  } catch (err) {
    await sql.close().catch(() => {});
    throw unreachable(err) ? new Error(`cannot reach the PostgreSQL store at ${location} (${(err as Error).message}); check DATABASE_URL and that the server is up`, { cause: err }) : err;
  }
}

/** Failures of reaching or logging in to PostgreSQL, as opposed to anything a migration does. */
function unreachable(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code);
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', '28P01', '28000', '3D000'].includes(code);
}

/** The store `serve` would open, for reading only: no directory, file, schema or row is created.
 *  `sql` is undefined when the SQLite file does not exist yet (nothing has been stored). */
export function openStoreReadOnly(options: StoreOptions): { sql: SqlClient | undefined; location: string } {
  if (options.databaseUrl) return { sql: new PostgresClient(options.databaseUrl, 1), location: redactUrl(options.databaseUrl) };
  const location = join(resolve(options.dataDir), 'switchyard.db');
  return { sql: existsSync(location) ? new SqliteClient(location, { readonly: true }) : undefined, location };
}
