// The SQLite writer thread: its transactions are visible to the main connection once they resolve,
// a failing one rolls back whole and rejects, and close() finishes what was sent before it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteClient } from '../../src/store/sqlite-client.ts';

function freshClient(): SqliteClient {
  const sql = new SqliteClient(join(mkdtempSync(join(tmpdir(), 'sy-writer-')), 'test.db'));
  sql.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  return sql;
}

describe('SqliteBackgroundWriter', () => {
  it('commits on its own thread; the main connection reads the rows once the call resolves', async () => {
    const sql = freshClient();
    const writer = sql.backgroundWriter()!;
    await writer.transaction([
      { sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [1, 'a'] },
      { sql: 'INSERT INTO t (id, v) VALUES (?, ?), (?, ?)', params: [2, 'b', 3, 'c'] },
    ]);
    assert.deepEqual(await sql.query('SELECT id, v FROM t ORDER BY id'), [
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'c' },
    ]);
    await sql.close();
  });

  it('rolls a failing transaction back whole and rejects with the error', async () => {
    const sql = freshClient();
    const writer = sql.backgroundWriter()!;
    await assert.rejects(
      writer.transaction([
        { sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [1, 'a'] },
        { sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [2, null] },
      ]),
      /NOT NULL/,
    );
    assert.deepEqual(await sql.query('SELECT COUNT(*) AS n FROM t'), [{ n: 0 }]);
    // The thread is still usable afterwards.
    await writer.transaction([{ sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [1, 'a'] }]);
    assert.deepEqual(await sql.query('SELECT COUNT(*) AS n FROM t'), [{ n: 1 }]);
    await sql.close();
  });

  it('close() lets the transactions sent before it finish', async () => {
    const sql = freshClient();
    const writer = sql.backgroundWriter()!;
    const writes = Array.from({ length: 20 }, (_, i) => writer.transaction([{ sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [i, 'x'] }]));
    const path = sql.db.name;
    await sql.close();
    await Promise.all(writes);
    const reopened = new SqliteClient(path);
    assert.deepEqual(await reopened.query('SELECT COUNT(*) AS n FROM t'), [{ n: 20 }]);
    await assert.rejects(writer.transaction([{ sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [99, 'late'] }]), /closed/);
    await reopened.close();
  });

  it('is not offered for an in-memory database, which another connection cannot open', async () => {
    const sql = new SqliteClient(':memory:');
    assert.equal(sql.backgroundWriter(), undefined);
    await sql.close();
  });
});
