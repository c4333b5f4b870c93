// Applies the shared migrations in order, once each, on either backend. On PostgreSQL an advisory
// lock serialises gateway replicas starting together.

import type { SqlClient } from './sql.ts';
import { MIGRATIONS } from './migrations.ts';

const LOCK_ID = 727_274_001;

export async function migrate(sql: SqlClient): Promise<number> {
  await sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  if (sql.dialect === 'postgres') await sql.query('SELECT pg_advisory_lock(?)', [LOCK_ID]);
  try {
    const applied = new Set((await sql.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await sql.transaction(async (tx) => {
        for (const statement of m.sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean)) await tx.run(statement);
        await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
      });
    }
  } finally {
    if (sql.dialect === 'postgres') await sql.query('SELECT pg_advisory_unlock(?)', [LOCK_ID]);
  }
  return MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
}
