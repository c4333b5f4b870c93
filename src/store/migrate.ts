// Applies the shared migrations in order, once each, on either backend. On PostgreSQL an advisory
// lock serialises gateway replicas starting together.

import type { SqlClient } from './sql.ts';
import { MIGRATIONS } from './migrations.ts';

const LOCK_ID = 727_274_001;

export async function migrate(sql: SqlClient): Promise<number> {
  await sql.exclusive(LOCK_ID, async () => {
    // Under the lock too: two replicas creating it at once can collide in PostgreSQL's catalog.
    await sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const applied = new Set((await sql.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await sql.transaction(async (tx) => {
        for (const statement of m.sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean)) await tx.run(statement);
        await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, new Date().toISOString()]);
      });
    }
  });
  return MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
}
