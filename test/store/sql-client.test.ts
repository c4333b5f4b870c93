// The SQL surface behaves the same on SQLite and on real PostgreSQL.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/store/open.ts';
import { PostgresClient, toPostgresPlaceholders } from '../../src/store/postgres-client.ts';
import { freshPostgresSchema } from '../support/databases.ts';

type Opener = (t: TestContext) => Promise<{ store: OpenedStore; again: () => Promise<OpenedStore>; cleanup: () => Promise<void> } | undefined>;

const backends: Record<string, Opener> = {
  sqlite: async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-store-'));
    return { store: await openStore({ dataDir }), again: () => openStore({ dataDir }), cleanup: async () => {} };
  },
  postgres: async (t) => {
    const schema = await freshPostgresSchema(t);
    if (!schema) return undefined;
    return { store: await openStore({ dataDir: '.', databaseUrl: schema.url }), again: () => openStore({ dataDir: '.', databaseUrl: schema.url }), cleanup: schema.drop };
  },
};

for (const [name, open] of Object.entries(backends)) {
  describe(`store on ${name}`, () => {
    it('migrates once, keeps its instance id, and round-trips values', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const { store, again, cleanup } = opened;
      try {
        assert.equal(store.sql.dialect, name);
        const second = await again();
        assert.equal(second.instanceId, store.instanceId, 'migrations are idempotent and the instance id sticks');
        await second.close();
        await store.sql.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, x DOUBLE PRECISION, note TEXT)');
        assert.equal(await store.sql.run('INSERT INTO t (id, n, x, note) VALUES (?, ?, ?, ?)', ['a', 1_795_000_000_000, 0.125, 'what?']), 1);
        const rows = await store.sql.query<{ id: string; n: number; x: number; note: string }>('SELECT id, n, x, note FROM t WHERE id = ?', ['a']);
        assert.deepEqual(rows, [{ id: 'a', n: 1_795_000_000_000, x: 0.125, note: 'what?' }]);
        const returned = await store.sql.query<{ n: number }>('UPDATE t SET n = n + ? WHERE id = ? RETURNING n', [1, 'a']);
        assert.equal(returned[0].n, 1_795_000_000_001);
        assert.equal(await store.sql.run('INSERT INTO t (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', ['a', 5]), 0);
      } finally {
        await store.close();
        await cleanup();
      }
    });

    it('commits and rolls back transactions', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const { store, cleanup } = opened;
      try {
        await store.sql.exec('CREATE TABLE t2 (id TEXT PRIMARY KEY)');
        await store.sql.transaction(async (tx) => {
          await tx.run('INSERT INTO t2 (id) VALUES (?)', ['kept']);
        });
        await assert.rejects(
          store.sql.transaction(async (tx) => {
            await tx.run('INSERT INTO t2 (id) VALUES (?)', ['lost']);
            throw new Error('boom');
          }),
          /boom/,
        );
        const ids = (await store.sql.query<{ id: string }>('SELECT id FROM t2 ORDER BY id')).map((r) => r.id);
        assert.deepEqual(ids, ['kept']);
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}

describe('exclusive (the migration lock)', () => {
  it('on PostgreSQL releases its advisory lock even while the pool uses other connections, so replicas starting together all start', async (t) => {
    const schema = await freshPostgresSchema(t);
    if (!schema) return;
    const clients = [new PostgresClient(schema.url, 4), new PostgresClient(schema.url, 4)];
    const observer = new PostgresClient(schema.url, 1);
    const lockId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const held = async () => Number((await observer.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted", [lockId]))[0].n);
    try {
      const order: string[] = [];
      // Both at once, each keeping its pool busy meanwhile (as a batch worker's polling does).
      await Promise.all(
        clients.map((c, i) =>
          c.exclusive(lockId, async () => {
            order.push(`start ${i}`);
            await Promise.all([c.query('SELECT pg_sleep(0.05)'), c.query('SELECT pg_sleep(0.05)'), c.query('SELECT pg_sleep(0.05)')]);
            order.push(`end ${i}`);
          }),
        ),
      );
      assert.deepEqual(order.map((x) => x.split(' ')[0]), ['start', 'end', 'start', 'end'], 'one at a time');
      assert.equal(await held(), 0, 'nobody holds the lock afterwards');
      await Promise.all(clients.map((c) => c.query('SELECT 1')));
      assert.equal(await held(), 0);
    } finally {
      await Promise.all([...clients, observer].map((c) => c.close()));
      await schema.drop();
    }
  });
});

describe('placeholder translation', () => {
  it('numbers ? outside string literals only', () => {
    assert.equal(toPostgresPlaceholders("SELECT ?, '?', ? FROM x WHERE a = ?"), "SELECT $1, '?', $2 FROM x WHERE a = $3");
  });
});
