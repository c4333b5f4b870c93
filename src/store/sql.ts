// The one SQL surface every capability store is written against, so each store is written once
// and runs on SQLite (embedded default) and PostgreSQL (DATABASE_URL) alike.
//
// Portable SQL rules for store code: `?` placeholders (translated to $n for PostgreSQL); TEXT,
// BIGINT (epoch ms, counts), DOUBLE PRECISION (money in USD), no AUTOINCREMENT (ids are
// generated in code); JSON kept in TEXT columns; `INSERT ... ON CONFLICT ... DO NOTHING/UPDATE`
// and `RETURNING` are fine on both.

export type SqlValue = string | number | bigint | boolean | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** Runs a statement and returns its rows (empty for statements without RETURNING). */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlClient extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs fn in one transaction; it commits when fn resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs several statements separated by semicolons (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs fn while holding a lock shared by every process on this database (a session-level
   *  advisory lock on PostgreSQL, held on one dedicated connection; SQLite has one writer process). */
  exclusive<T>(lockId: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
