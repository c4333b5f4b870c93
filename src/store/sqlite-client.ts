// SqlClient over better-sqlite3. Statements are prepared once and cached; the driver is
// synchronous, so callers must keep these calls off the request hot path (the ledger batches).

import Database from 'better-sqlite3';
import type { Row, SqlClient, SqlExecutor, SqlValue } from './sql.ts';

function normalise(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private depth = 0;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const s = this.statement(sql);
    if (s.reader) return s.all(...normalise(params)) as T[];
    s.run(...normalise(params));
    return [];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const s = this.statement(sql);
    if (s.reader) return s.all(...normalise(params)).length;
    return s.run(...normalise(params)).changes;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // better-sqlite3 is synchronous and single-connection: an async callback may interleave with
    // other callers, so nested use is refused rather than silently sharing one transaction.
    if (this.depth > 0) throw new Error('nested SQLite transactions are not supported');
    this.depth += 1;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn(this);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.depth -= 1;
    }
  }

  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
