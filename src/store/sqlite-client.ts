// SqlClient over better-sqlite3. Statements are prepared once and cached; the driver is
// synchronous, so callers must keep these calls off the request hot path (the ledger batches).

import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { SqliteBackgroundWriter } from './sqlite-background-writer.ts';
import type { Row, SqlClient, SqlExecutor, SqlValue } from './sql.ts';

/**
 * The main connection never waits inside SQLite for the write lock: SQLite's busy handler sleeps
 * on the calling thread, so a write (even an UPDATE that matches nothing) issued while the writer
 * thread commits a ledger batch held the event loop up to tens of ms. It fails at once instead
 * and is tried again after an asynchronous pause, for up to BUSY_TIMEOUT_MS in all.
 */
const BUSY_TIMEOUT_MS = 5_000;
const BUSY_PAUSES_MS = [1, 2, 4, 8, 16, 25, 50];
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const isBusy = (err: unknown) => typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('SQLITE_BUSY');

async function retryWhileBusy<T>(attempt: () => T): Promise<T> {
  let waited = 0;
  for (let i = 0; ; i++) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err) || waited >= BUSY_TIMEOUT_MS) throw err;
      const ms = BUSY_PAUSES_MS[Math.min(i, BUSY_PAUSES_MS.length - 1)];
      waited += ms;
      await pause(ms);
    }
  }
}

function normalise(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Transactions run one after another: the connection is shared by every async caller. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inTransaction = new AsyncLocalStorage<true>();
  /** Transactions queued or running; when it drops to 0 the AsyncLocalStorage is disabled. */
  private transactions = 0;
  private writer: SqliteBackgroundWriter | undefined;

  /** `readonly`: an existing file, opened for reading only (nothing is created or changed). */
  constructor(path: string, options: { readonly?: boolean } = {}) {
    if (options.readonly) {
      this.db = new Database(path, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 0'); // see retryWhileBusy
      return;
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 0'); // see retryWhileBusy
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
    const values = normalise(params);
    if (s.reader) return retryWhileBusy(() => s.all(...values) as T[]);
    await retryWhileBusy(() => s.run(...values));
    return [];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const s = this.statement(sql);
    const values = normalise(params);
    if (s.reader) return retryWhileBusy(() => s.all(...values).length);
    return retryWhileBusy(() => s.run(...values).changes);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    // A nested call would wait for its own outer transaction forever: refuse it instead.
    if (this.inTransaction.getStore()) throw new Error('nested SQLite transactions are not supported');
    const run = () =>
      this.inTransaction.run(true, async () => {
        await retryWhileBusy(() => this.db.exec('BEGIN IMMEDIATE'));
        try {
          const result = await fn(this);
          this.db.exec('COMMIT');
          return result;
        } catch (err) {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
          throw err;
        }
      });
    this.transactions += 1;
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    // On Node 20 an enabled AsyncLocalStorage runs a hook on every promise in the process (15 %
    // of the gateway's throughput in bench:overhead); it is only needed while a transaction runs.
    void this.queue.then(() => {
      if (--this.transactions === 0) this.inTransaction.disable();
    });
    return result;
  }

  /** One process owns a SQLite store, so there is nobody to exclude. */
  async exclusive<T>(_lockId: number, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async exec(sql: string): Promise<void> {
    await retryWhileBusy(() => this.db.exec(sql));
  }

  /**
   * A writer thread on the same file for write batches that grow with traffic (the usage ledger),
   * or undefined for an in-memory database, which another connection cannot share. Once it exists,
   * WAL checkpoints (an fsync) run on that thread only, never inside a commit on the event loop.
   */
  backgroundWriter(): SqliteBackgroundWriter | undefined {
    if (this.db.memory) return undefined;
    if (!this.writer) {
      this.writer = new SqliteBackgroundWriter(this.db.name);
      this.db.pragma('wal_autocheckpoint = 0');
    }
    return this.writer;
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.db.close();
  }
}
