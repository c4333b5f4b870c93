// The authenticate stage: master key, virtual keys, and the loopback gateway without a master key.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeName } from '../../src/api/edge.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { authenticateStage } from '../../src/tenancy/authenticate.ts';
import { KeysService } from '../../src/tenancy/keys.ts';
import { ANONYMOUS, MASTER } from '../../src/tenancy/principal.ts';
import { countingStore, fakeContext, sqliteTenancy } from './support/fixtures.ts';

const MASTER_KEY = 'sk-master-0123456789';

async function setup(masterKey: string | undefined) {
  const { opened, store } = await sqliteTenancy();
  const counted = countingStore(store);
  const keys = new KeysService({ store: counted });
  const stage = authenticateStage({ keys, masterKey });
  const run = async (headers: Record<string, string>, edge: EdgeName = 'openai') => {
    const ctx = fakeContext({ headers, edge });
    let reached = false;
    await stage(ctx, async () => {
      reached = true;
    });
    assert.ok(reached);
    return ctx.principal;
  };
  return { keys, counted, run, close: async () => (await keys.close(), await opened.close()) };
}

async function refused(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('authenticate stage with a master key', () => {
  it('admits the master key as an unlimited admin principal', async () => {
    const s = await setup(MASTER_KEY);
    assert.equal(await s.run({ authorization: `Bearer ${MASTER_KEY}` }), MASTER);
    assert.equal(await s.run({ 'x-api-key': MASTER_KEY }, 'anthropic'), MASTER);
    await s.close();
  });

  it('admits virtual keys as their own principal, on both edges', async () => {
    const s = await setup(MASTER_KEY);
    const { key, secret } = await s.keys.createKey({ name: 'app' });
    assert.deepEqual(await s.run({ authorization: `Bearer ${secret}` }), { keyId: key.id, teamId: null, isMaster: false, keyName: 'app' });
    assert.equal((await s.run({ 'x-api-key': secret }, 'anthropic'))?.keyId, key.id);
    await s.close();
  });

  it('refuses missing, wrong, revoked and expired keys with 401', async () => {
    const s = await setup(MASTER_KEY);
    const missing = await refused(s.run({}));
    assert.equal(missing.code, 'missing_api_key');
    assert.equal(missing.status, 401);
    assert.equal((await refused(s.run({ 'x-api-key': MASTER_KEY }))).code, 'missing_api_key', 'x-api-key is the Anthropic edge header only');

    const before = s.counted.total();
    assert.equal((await refused(s.run({ authorization: 'Bearer not-one-of-ours' }))).code, 'invalid_api_key');
    assert.equal(s.counted.total(), before, 'a key not shaped like ours is refused without a database lookup');
    assert.equal((await refused(s.run({ authorization: 'Bearer sk-sy-00000000000000000000000000000000' }))).code, 'invalid_api_key');

    const revoked = await s.keys.createKey({});
    await s.keys.revokeKey(revoked.key.id);
    assert.equal((await refused(s.run({ authorization: `Bearer ${revoked.secret}` }))).code, 'api_key_revoked');
    const expired = await s.keys.createKey({ expiresAt: Date.now() - 1 });
    assert.equal((await refused(s.run({ authorization: `Bearer ${expired.secret}` }))).code, 'api_key_expired');
    await s.close();
  });
});

describe('authenticate stage without a master key (loopback gateway)', () => {
  it('lets anonymous callers and placeholder keys through, as before', async () => {
    const s = await setup(undefined);
    assert.equal(await s.run({}), ANONYMOUS);
    assert.equal(await s.run({ authorization: 'Bearer dummy' }), ANONYMOUS, 'SDKs insist on some key');
    await s.close();
  });

  it('still checks virtual keys, so their limits apply and revoked keys are refused', async () => {
    const s = await setup(undefined);
    const { key, secret } = await s.keys.createKey({});
    assert.equal((await s.run({ authorization: `Bearer ${secret}` }))?.keyId, key.id);
    await s.keys.revokeKey(key.id);
    assert.equal((await refused(s.run({ authorization: `Bearer ${secret}` }))).code, 'api_key_revoked');
    await s.close();
  });
});
