// Keys service: secrets are shown once and stored only as a hash; the hot path runs from a cache
// that revocations, updates and expiry never get past.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../../src/api/errors.ts';
import { KeysService, assertModelAllowed, isModelAllowed } from '../../src/tenancy/keys.ts';
import { RedisInvalidationBus } from '../../src/tenancy/invalidation.ts';
import type { TenancyStore } from '../../src/tenancy/types.ts';
import { countingStore, sqliteTenancy } from './support/fixtures.ts';
import { REDIS_URL, requireRedis, uniquePrefix } from './support/redis.ts';

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('keys service', () => {
  it('issues sk-sy- secrets once and stores only their hash and display prefix', async () => {
    const { opened, store, dir } = await sqliteTenancy();
    const keys = new KeysService({ store });
    const { key, secret } = await keys.createKey({ name: 'ci' });
    assert.match(secret, /^sk-sy-[0-9A-Za-z]{32}$/);
    assert.equal(key.keyHash, createHash('sha256').update(secret).digest('hex'));
    assert.equal(key.keyPrefix, secret.slice(0, 12));
    assert.ok(!JSON.stringify(key).includes(secret));
    const rows = await opened.sql.query('SELECT * FROM api_keys');
    assert.ok(!JSON.stringify(rows).includes(secret.slice(12)), 'no column holds the secret');
    await keys.close();
    await opened.close();
    for (const file of readdirSync(dir)) {
      assert.ok(!readFileSync(join(dir, file)).includes(secret.slice(12)), `${file} does not contain the secret`);
    }
    const second = await new KeysService({ store: (await sqliteTenancy()).store }).createKey({});
    assert.notEqual(second.secret, secret);
  });

  it('authenticates from the cache without touching the database', async () => {
    const { opened, store } = await sqliteTenancy();
    const team = await store.createTeam({ name: 'search' });
    const counted = countingStore(store);
    const keys = new KeysService({ store: counted });
    const { key, secret } = await keys.createKey({ name: 'ci', teamId: team.id });
    const first = await keys.authenticateSecret(secret);
    assert.deepEqual(first.principal, { keyId: key.id, teamId: team.id, isMaster: false, keyName: 'ci' });
    assert.equal(first.team?.name, 'search');
    const before = counted.total();
    for (let i = 0; i < 100; i++) assert.equal((await keys.authenticateSecret(secret)).principal, first.principal);
    assert.equal(counted.total(), before, 'cache hits never reach the store');
    await keys.close();
    await opened.close();
  });

  it('reads the database once for a burst of requests with an uncached key', async () => {
    const { opened, store } = await sqliteTenancy();
    const counted = countingStore(store);
    const keys = new KeysService({ store: counted });
    const { secret } = await keys.createKey({});
    await Promise.all(Array.from({ length: 50 }, () => keys.authenticateSecret(secret)));
    assert.equal(counted.calls.findKeyByHash, 1);
    await keys.close();
    await opened.close();
  });

  it('tells unknown, revoked and expired keys apart without echoing the secret', async () => {
    const { opened, store } = await sqliteTenancy();
    let now = 1_800_000_000_000;
    const keys = new KeysService({ store, now: () => now, cacheTtlMs: 60_000 });
    const unknown = await refusal(keys.authenticateSecret('sk-sy-thisisnotakeythisisnotakey1234'));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.code, 'invalid_api_key');
    assert.ok(!unknown.message.includes('thisisnotakey'));

    const { key, secret } = await keys.createKey({ expiresAt: now + 1000 });
    await keys.authenticateSecret(secret); // cached from here on
    now += 1000;
    const expired = await refusal(keys.authenticateSecret(secret));
    assert.equal(expired.code, 'api_key_expired', 'expiry is checked on every request, not only when the cache fills');
    assert.match(expired.message, new RegExp(key.id));
    assert.ok(!expired.message.includes(secret));

    const other = await keys.createKey({});
    await keys.authenticateSecret(other.secret);
    await keys.revokeKey(other.key.id);
    const revoked = await refusal(keys.authenticateSecret(other.secret));
    assert.equal(revoked.code, 'api_key_revoked', 'revocation evicts the cached identity at once');
    assert.ok(!revoked.message.includes(other.secret));
    await keys.close();
    await opened.close();
  });

  it('applies key and team updates at once', async () => {
    const { opened, store } = await sqliteTenancy();
    const keys = new KeysService({ store, cacheTtlMs: 60_000 });
    const team = await store.createTeam({ name: 'ads', rpm: 10 });
    const { key, secret } = await keys.createKey({ teamId: team.id, models: ['a'] });
    assert.deepEqual((await keys.authenticateSecret(secret)).key.models, ['a']);
    await keys.updateKey(key.id, { models: ['a', 'b'] });
    assert.deepEqual((await keys.authenticateSecret(secret)).key.models, ['a', 'b']);
    await keys.updateTeam(team.id, { rpm: 20 });
    assert.equal((await keys.authenticateSecret(secret)).team?.rpm, 20);
    await keys.updateKey(key.id, { expiresAt: Date.now() - 1 });
    assert.equal((await refusal(keys.authenticateSecret(secret))).code, 'api_key_expired');
    await keys.close();
    await opened.close();
  });

  it('does not cache a read that raced with a revocation', async () => {
    const { opened, store } = await sqliteTenancy();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let hold = false;
    const slow: TenancyStore = Object.assign(Object.create(store) as TenancyStore, {
      findKeyByHash: async (hash: string) => {
        const row = await store.findKeyByHash(hash);
        if (hold) await gate; // the row was read before the revocation below commits
        return row;
      },
    });
    const keys = new KeysService({ store: slow, cacheTtlMs: 60_000 });
    const { key, secret } = await keys.createKey({});
    hold = true;
    const racing = keys.authenticateSecret(secret);
    await sleep(5);
    await keys.revokeKey(key.id);
    release();
    await racing; // the request that raced may pass: it started before the revocation finished
    hold = false;
    assert.equal((await refusal(keys.authenticateSecret(secret))).code, 'api_key_revoked', 'its stale read was not cached');
    await keys.close();
    await opened.close();
  });

  it('records last use in batches, off the request path', async () => {
    const { opened, store } = await sqliteTenancy();
    const counted = countingStore(store);
    const keys = new KeysService({ store: counted, touchIntervalMs: 60_000 });
    const { key, secret } = await keys.createKey({});
    for (let i = 0; i < 5; i++) await keys.authenticateSecret(secret);
    assert.equal(counted.calls.touchKeys ?? 0, 0);
    assert.equal((await store.getKey(key.id))?.lastUsedAt, null);
    await keys.flushTouches();
    assert.equal(counted.calls.touchKeys, 1);
    assert.ok((await store.getKey(key.id))?.lastUsedAt);
    await keys.close();
    await opened.close();
  });

  it('evicts across replicas through Redis pub/sub', async (t) => {
    if (!(await requireRedis(t))) return;
    const { opened, store } = await sqliteTenancy();
    const channel = uniquePrefix('invalidate');
    // Two gateways sharing one database; a long TTL, so only the broadcast can explain a refusal.
    const a = new KeysService({ store, bus: new RedisInvalidationBus({ url: REDIS_URL, channel }), cacheTtlMs: 60_000 });
    const b = new KeysService({ store, bus: new RedisInvalidationBus({ url: REDIS_URL, channel }), cacheTtlMs: 60_000 });
    await a.start();
    await b.start();
    try {
      const team = await store.createTeam({ name: 'shared', tpm: 100 });
      const { key, secret } = await a.createKey({ teamId: team.id });
      assert.equal((await b.authenticateSecret(secret)).key.id, key.id);
      assert.equal(b.cacheSize, 1);

      await a.updateTeam(team.id, { tpm: 200 });
      await waitFor(async () => (await b.authenticateSecret(secret)).team?.tpm === 200, 'team update reaches replica b');

      await a.revokeKey(key.id);
      const started = Date.now();
      await waitFor(async () => {
        try {
          await b.authenticateSecret(secret);
          return false;
        } catch (err) {
          return (err as GatewayError).code === 'api_key_revoked';
        }
      }, 'revocation reaches replica b');
      assert.ok(Date.now() - started < 1000, 'well before the 60 s cache TTL');
    } finally {
      await a.close();
      await b.close();
      await opened.close();
    }
  });
});

describe('invalidation bus', () => {
  it('clears the whole cache after a reconnect, since messages sent meanwhile are lost', async (t) => {
    if (!(await requireRedis(t))) return;
    const { opened, store } = await sqliteTenancy();
    const bus = new RedisInvalidationBus({ url: REDIS_URL, channel: uniquePrefix('resync') });
    const keys = new KeysService({ store, bus, cacheTtlMs: 60_000 });
    await keys.start();
    try {
      const { secret } = await keys.createKey({});
      await keys.authenticateSecret(secret);
      assert.equal(keys.cacheSize, 1);
      (bus as unknown as { connection: { subscriber: { disconnect(reconnect: boolean): void } } }).connection.subscriber.disconnect(true);
      await waitFor(async () => keys.cacheSize === 0, 'cache cleared on reconnect');
    } finally {
      await keys.close();
      await opened.close();
    }
  });
});

describe('model allowlists', () => {
  it('refuses a model the key or its team leaves out, naming it', async () => {
    const { opened, store } = await sqliteTenancy();
    const keys = new KeysService({ store });
    const team = await store.createTeam({ name: 'nlp', models: ['llama-8b', 'llama-70b'] });
    const narrow = await keys.createKey({ teamId: team.id, models: ['llama-8b', 'gpt-4o'] });
    const id = await keys.authenticateSecret(narrow.secret);
    assert.doesNotThrow(() => assertModelAllowed(id, 'llama-8b'));
    const byKey = (() => {
      try {
        assertModelAllowed(id, 'llama-70b');
      } catch (err) {
        return err as GatewayError;
      }
    })();
    assert.equal(byKey?.status, 403);
    assert.equal(byKey?.kind, 'permission');
    assert.match(byKey!.message, /'llama-70b'/);
    assert.throws(() => assertModelAllowed(id, 'gpt-4o'), (err: GatewayError) => err.status === 403 && /Team 'nlp'.*'gpt-4o'/.test(err.message));
    assert.equal(isModelAllowed(id, 'llama-8b'), true);
    assert.equal(isModelAllowed(id, 'gpt-4o'), false);
    assert.equal(isModelAllowed(undefined, 'anything'), true);
    await keys.close();
    await opened.close();
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting: ${what}`);
}

describe('identities of principals made elsewhere (batch workers)', () => {
  it('reads the key fresh and refuses one revoked since', async () => {
    const { opened, store } = await sqliteTenancy();
    const keys = new KeysService({ store });
    const { key } = await keys.createKey({ rpm: 7 });
    const principal = { keyId: key.id, teamId: null, isMaster: false };
    assert.equal((await keys.identityOf(principal))?.key.rpm, 7);
    await keys.revokeKey(key.id);
    assert.equal((await refusal(keys.identityOf(principal))).code, 'api_key_revoked');
    assert.equal(await keys.identityOf({ keyId: null, teamId: null, isMaster: true }), undefined);
    await keys.close();
    await opened.close();
  });
});
