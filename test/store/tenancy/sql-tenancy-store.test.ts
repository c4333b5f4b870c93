// The tenancy store behaves the same on SQLite and on real PostgreSQL.

import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../../src/store/open.ts';
import { SqlTenancyStore } from '../../../src/store/tenancy/sql-tenancy-store.ts';
import { DuplicateTeamNameError, UnknownTeamError } from '../../../src/tenancy/types.ts';
import { freshPostgresSchema } from '../../support/databases.ts';

type Opener = (t: TestContext) => Promise<{ store: OpenedStore; cleanup: () => Promise<void> } | undefined>;

const backends: Record<string, Opener> = {
  sqlite: async () => ({ store: await openStore({ dataDir: mkdtempSync(join(tmpdir(), 'sy-tenancy-')) }), cleanup: async () => {} }),
  postgres: async (t) => {
    const schema = await freshPostgresSchema(t);
    if (!schema) return undefined;
    return { store: await openStore({ dataDir: '.', databaseUrl: schema.url }), cleanup: schema.drop };
  },
};

async function withTenancy(t: TestContext, backend: string, fn: (s: SqlTenancyStore, clock: { now: number }) => Promise<void>): Promise<void> {
  const opened = await backends[backend](t);
  if (!opened) return;
  const clock = { now: 1_800_000_000_000 };
  try {
    await fn(new SqlTenancyStore(opened.store.sql, () => clock.now), clock);
  } finally {
    await opened.store.close();
    await opened.cleanup();
  }
}

const hash = (c: string) => c.repeat(64);

for (const backend of Object.keys(backends)) {
  describe(`tenancy store on ${backend}`, () => {
    it('creates, reads, lists, updates and deletes teams', (t) =>
      withTenancy(t, backend, async (store, clock) => {
        const team = await store.createTeam({ name: 'search', rpm: 600, tpm: 100_000, models: ['llama-8b'], metadata: { cost_center: 'cc-7' } });
        assert.match(team.id, /^team_[0-9A-Za-z]{16}$/);
        assert.deepEqual(team, {
          id: team.id,
          name: 'search',
          rpm: 600,
          tpm: 100_000,
          maxConcurrent: null,
          models: ['llama-8b'],
          metadata: { cost_center: 'cc-7' },
          createdAt: clock.now,
          updatedAt: clock.now,
        });
        assert.deepEqual(await store.getTeam(team.id), team);
        assert.deepEqual(await store.getTeamByName('search'), team);
        assert.equal(await store.getTeam('team_missing'), undefined);
        await assert.rejects(store.createTeam({ name: 'search' }), DuplicateTeamNameError);
        clock.now += 1; // listings are ordered by creation time
        const other = await store.createTeam({ name: 'ads' });
        assert.equal(other.models, null, 'no allowlist means every model');
        assert.deepEqual((await store.listTeams()).map((x) => x.name), ['search', 'ads']);

        clock.now += 1000;
        const updated = await store.updateTeam(team.id, { rpm: null, maxConcurrent: 4, models: null });
        assert.equal(updated?.rpm, null);
        assert.equal(updated?.maxConcurrent, 4);
        assert.equal(updated?.models, null);
        assert.equal(updated?.tpm, 100_000, 'fields left out of a patch keep their value');
        assert.equal(updated?.updatedAt, clock.now);
        assert.equal(await store.updateTeam('team_missing', { rpm: 1 }), undefined);
        await assert.rejects(store.updateTeam(other.id, { name: 'search' }), DuplicateTeamNameError);

        assert.equal(await store.deleteTeam(other.id), 'deleted');
        assert.equal(await store.deleteTeam(other.id), 'not_found');
      }));

    it('creates keys, finds them by hash, filters by team, updates and revokes them', (t) =>
      withTenancy(t, backend, async (store, clock) => {
        const team = await store.createTeam({ name: 'research' });
        const key = await store.createKey({ keyHash: hash('a'), keyPrefix: 'sk-sy-AAAAAA', name: 'notebook', teamId: team.id, tpm: 5000, models: ['m1', 'm2'], expiresAt: clock.now + 86_400_000 });
        assert.match(key.id, /^key_/);
        assert.deepEqual(key, {
          id: key.id,
          name: 'notebook',
          teamId: team.id,
          keyHash: hash('a'),
          keyPrefix: 'sk-sy-AAAAAA',
          rpm: null,
          tpm: 5000,
          maxConcurrent: null,
          models: ['m1', 'm2'],
          metadata: {},
          createdAt: clock.now,
          updatedAt: clock.now,
          expiresAt: clock.now + 86_400_000,
          revokedAt: null,
          lastUsedAt: null,
        });
        clock.now += 1;
        const loose = await store.createKey({ keyHash: hash('b'), keyPrefix: 'sk-sy-BBBBBB' });
        assert.equal(loose.teamId, null);
        assert.equal(loose.name, null);
        await assert.rejects(store.createKey({ keyHash: hash('c'), keyPrefix: 'x', teamId: 'team_nope' }), UnknownTeamError);

        assert.deepEqual(await store.findKeyByHash(hash('a')), key);
        assert.equal(await store.findKeyByHash(hash('f')), undefined);
        assert.deepEqual((await store.listKeys()).map((k) => k.id), [key.id, loose.id]);
        assert.deepEqual((await store.listKeys({ teamId: team.id })).map((k) => k.id), [key.id]);

        clock.now += 10;
        const moved = await store.updateKey(loose.id, { teamId: team.id, rpm: 60, metadata: { owner: 'ana' }, expiresAt: null });
        assert.equal(moved?.teamId, team.id);
        assert.deepEqual(moved?.metadata, { owner: 'ana' });
        await assert.rejects(store.updateKey(loose.id, { teamId: 'team_nope' }), UnknownTeamError);
        assert.equal(await store.updateKey('key_missing', { rpm: 1 }), undefined);

        const revoked = await store.revokeKey(key.id, clock.now);
        assert.equal(revoked?.revokedAt, clock.now);
        const again = await store.revokeKey(key.id, clock.now + 500);
        assert.equal(again?.revokedAt, clock.now, 'the first revocation time is kept');
        assert.equal(await store.revokeKey('key_missing'), undefined);

        await store.touchKeys([key.id, loose.id], clock.now + 100);
        await store.touchKeys([key.id], clock.now + 50);
        assert.equal((await store.getKey(key.id))?.lastUsedAt, clock.now + 100, 'last_used_at never goes back');
      }));

    it('refuses to delete a team with active keys and detaches revoked ones', (t) =>
      withTenancy(t, backend, async (store) => {
        const team = await store.createTeam({ name: 'ops' });
        const key = await store.createKey({ keyHash: hash('d'), keyPrefix: 'sk-sy-DDDDDD', teamId: team.id });
        assert.equal(await store.deleteTeam(team.id), 'has_keys');
        await store.revokeKey(key.id);
        assert.equal(await store.deleteTeam(team.id), 'deleted');
        assert.equal((await store.getKey(key.id))?.teamId, null, 'the revoked key stays, without its team');
      }));

    it('keeps key hashes unique', (t) =>
      withTenancy(t, backend, async (store) => {
        await store.createKey({ keyHash: hash('e'), keyPrefix: 'p' });
        await assert.rejects(store.createKey({ keyHash: hash('e'), keyPrefix: 'p' }));
      }));
  });
}
