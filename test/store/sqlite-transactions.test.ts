// SQLite transactions queue one after another and refuse nesting, including after the
// AsyncLocalStorage behind the nesting check was disabled between transactions (it is switched
// off while none runs, because on Node 20 it taxes every promise in the process).

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteClient } from '../../src/store/sqlite-client.ts';

it('refuses a nested transaction before and after idle periods, and runs concurrent ones in turn', async () => {
  const sql = new SqliteClient(join(mkdtempSync(join(tmpdir(), 'sy-tx-')), 'test.db'));
  await sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  for (let round = 0; round < 2; round++) {
    await assert.rejects(
      sql.transaction(async () => {
        await sql.transaction(async () => {});
      }),
      /nested SQLite transactions are not supported/,
    );
    // The queue drained: the nesting check is off until the next transaction turns it back on.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all([0, 1, 2].map((i) => sql.transaction(async (tx) => tx.run('INSERT INTO t (id) VALUES (?)', [i]))));
  assert.deepEqual(await sql.query('SELECT COUNT(*) AS n FROM t'), [{ n: 3 }]);
  await sql.close();
});
