// Opens the configured store: SQLite in the data dir by default, PostgreSQL with DATABASE_URL.
// Runs at start-up only, never per request.

import { mkdirSync } from 'node:fs';
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
    mkdirSync(dir, { recursive: true });
    location = join(dir, 'switchyard.db');
    sql = new SqliteClient(location);
  }
  try {
    const schemaVersion = await migrate(sql);
    await sql.run('INSERT INTO switchyard_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', ['instance_id', randomUUID()]);
    await sql.run('INSERT INTO switchyard_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', ['created_at', new Date().toISOString()]);
    const [row] = await sql.query<{ value: string }>('SELECT value FROM switchyard_meta WHERE key = ?', ['instance_id']);
    return { sql, location, instanceId: row.value, schemaVersion, close: () => sql.close() };
  } catch (err) {
    await sql.close().catch(() => {});
    throw err;
  }
}
