// While another connection holds the SQLite write lock (the ledger's writer thread committing a
// batch), a write on the main connection waits without holding the event loop: timers keep
// firing on time, and the write goes through once the lock is free. Before, SQLite's busy
// handler slept on the event loop's thread for as long as the lock was held.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteClient } from '../../src/store/sqlite-client.ts';

it('a write waiting for the write lock leaves the event loop free, and lands once the lock is released', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'sy-busy-')), 'test.db');
  const sql = new SqliteClient(path);
  await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT)');
  await sql.run("INSERT INTO t (id, state) VALUES (1, 'a')");
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE'); // holds the write lock, as the writer thread does while it commits
  try {
    let settled = false;
    const write = sql.run("UPDATE t SET state = 'b' WHERE id = 1").finally(() => (settled = true));
    const transaction = sql.transaction(async (tx) => tx.run("UPDATE t SET state = 'c' WHERE id = 1"));
    // 20 timer turns of 5 ms: each late by little, so the loop was never held while the write waited.
    let worstLateMs = 0;
    for (let i = 0; i < 20; i++) {
      const due = performance.now() + 5;
      await new Promise((resolve) => setTimeout(resolve, 5));
      worstLateMs = Math.max(worstLateMs, performance.now() - due);
    }
    assert.equal(settled, false, 'the write waits for the lock');
    assert.ok(worstLateMs < 40, `timers ran up to ${worstLateMs.toFixed(1)} ms late`);
    other.exec('COMMIT');
    assert.equal(await write, 1);
    assert.equal(await transaction, 1);
    assert.deepEqual(await sql.query('SELECT state FROM t WHERE id = 1'), [{ state: 'c' }]);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await sql.close();
  }
});
