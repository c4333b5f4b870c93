// The authenticate stage with a fake next(): master key, virtual keys, the loopback gateway without
// a master key, refusals in the shape of the caller's edge; and the admin API's master-key check.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeName } from '../../src/api/edge.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { EDGES } from '../../src/api/edges.ts';
import { authenticateStage, createAdminAuthorizer } from '../../src/tenancy/authenticate.ts';
import { KeysService } from '../../src/tenancy/keys.ts';
import { ANONYMOUS, MASTER } from '../../src/tenancy/principal.ts';
import { countingStore, fakeContext, sqliteTenancy } from './support/fixtures.ts';

const MASTER_KEY = 'sk-master-0123456789';

async function setup(masterKey: string | undefined) {
  const { opened, store } = await sqliteTenancy();
  const counted = countingStore(store);
  const keys = new KeysService({ store: counted });
  const stage = authenticateStage({ keys, masterKey });
  let nextCalls = 0;
  const run = async (headers: Record<string, string>, edge: EdgeName = 'openai') => {
    const ctx = fakeContext({ headers, edge });
    const before = nextCalls;
    await stage(ctx, async () => {
      nextCalls += 1;
    });
    assert.equal(nextCalls, before + 1, 'an admitted caller goes on, once');
    return ctx.principal;
  };
  return { keys, counted, run, nextCalls: () => nextCalls, close: async () => (await keys.close(), await opened.close()) };
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

describe('authenticate stage refusals', () => {
  it('a refused caller never reaches the next stage', async () => {
    const s = await setup(MASTER_KEY);
    await refused(s.run({}));
    await refused(s.run({ authorization: 'Bearer sk-sy-00000000000000000000000000000000' }));
    assert.equal(s.nextCalls(), 0);
    await s.close();
  });

  it('answers a missing key in the OpenAI shape, naming the header to send', async () => {
    const s = await setup(MASTER_KEY);
    const err = await refused(s.run({}, 'openai'));
    assert.deepEqual(EDGES.openai.renderError(err), {
      error: { message: 'Missing API key: send an Authorization: Bearer <key> header.', type: 'authentication_error', param: null, code: 'missing_api_key' },
    });
    await s.close();
  });

  it('answers a missing key in the Anthropic shape, naming x-api-key as well', async () => {
    const s = await setup(MASTER_KEY);
    const err = await refused(s.run({}, 'anthropic'));
    assert.equal(err.status, 401);
    assert.deepEqual(EDGES.anthropic.renderError(err), {
      type: 'error',
      error: { type: 'authentication_error', message: 'Missing API key: send an x-api-key header or Authorization: Bearer <key>.' },
    });
    await s.close();
  });

  it('answers an invalid key in each edge shape', async () => {
    const s = await setup(MASTER_KEY);
    const openai = await refused(s.run({ authorization: 'Bearer wrong' }, 'openai'));
    assert.deepEqual(EDGES.openai.renderError(openai), { error: { message: 'Invalid API key.', type: 'authentication_error', param: null, code: 'invalid_api_key' } });
    const anthropic = await refused(s.run({ 'x-api-key': 'wrong' }, 'anthropic'));
    assert.deepEqual(EDGES.anthropic.renderError(anthropic), { type: 'error', error: { type: 'authentication_error', message: 'Invalid API key.' } });
    await s.close();
  });

  it('prefers Authorization: Bearer over x-api-key, and trims what it reads', async () => {
    const s = await setup(MASTER_KEY);
    assert.equal(await s.run({ authorization: `Bearer  ${MASTER_KEY} `, 'x-api-key': 'wrong' }, 'anthropic'), MASTER);
    assert.equal(await s.run({ 'x-api-key': ` ${MASTER_KEY}` }, 'anthropic'), MASTER);
    await s.close();
  });
});

describe('the admin authorizer', () => {
  const check = (authorize: ReturnType<typeof createAdminAuthorizer>, headers: Record<string, string>): GatewayError | undefined => {
    try {
      authorize(headers);
      return undefined;
    } catch (err) {
      if (err instanceof GatewayError) return err;
      throw err;
    }
  };

  it('admits the master key only, as a Bearer token', () => {
    const authorize = createAdminAuthorizer(MASTER_KEY);
    assert.equal(check(authorize, { authorization: `Bearer ${MASTER_KEY}` }), undefined);
    assert.equal(check(authorize, { authorization: `bearer ${MASTER_KEY}` }), undefined, 'the scheme is case-insensitive');
    assert.equal(check(authorize, {})?.code, 'missing_api_key');
    assert.equal(check(authorize, { authorization: 'Bearer ' })?.code, 'missing_api_key');
    assert.equal(check(authorize, { 'x-api-key': MASTER_KEY })?.code, 'missing_api_key', 'the admin API is OpenAI-shaped: x-api-key is not read');
    const wrong = check(authorize, { authorization: `Bearer ${MASTER_KEY}x` });
    assert.equal(wrong?.code, 'invalid_api_key');
    assert.equal(wrong?.status, 401);
  });

  it('refuses a virtual key: only the master key administers', async () => {
    const s = await setup(MASTER_KEY);
    const { secret } = await s.keys.createKey({});
    assert.equal(check(createAdminAuthorizer(MASTER_KEY), { authorization: `Bearer ${secret}` })?.code, 'invalid_api_key');
    await s.close();
  });

  it('admits every caller of a gateway without a master key (it answers loopback only)', () => {
    const authorize = createAdminAuthorizer(undefined);
    assert.equal(check(authorize, {}), undefined);
    assert.equal(check(authorize, { authorization: 'Bearer anything' }), undefined);
  });
});
