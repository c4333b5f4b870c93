// The embedded store: one SQLite file in the data dir, WAL mode, migrations applied at open.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export interface SqliteStore {
  readonly db: Database.Database;
  readonly path: string;
  readonly instanceId: string;
  readonly schemaVersion: number;
  close(): void;
}

function applyMigrations(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
  }
  return MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
}

/** Opens (creating on first run) the data dir's database. Runs at start-up only, never per request. */
export function openSqliteStore(dataDir: string): SqliteStore {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'switchyard.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const schemaVersion = applyMigrations(db);
  db.prepare('INSERT OR IGNORE INTO switchyard_meta (key, value) VALUES (?, ?)').run('instance_id', randomUUID());
  db.prepare('INSERT OR IGNORE INTO switchyard_meta (key, value) VALUES (?, ?)').run('created_at', new Date().toISOString());
  const instanceId = (db.prepare('SELECT value FROM switchyard_meta WHERE key = ?').get('instance_id') as { value: string }).value;
  return { db, path, instanceId, schemaVersion, close: () => db.close() };
}
