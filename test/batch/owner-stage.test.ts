// The authenticate stage of batch items with a fake next(): the principal is the batch owner the
// worker set, and its key is checked again for every item, so revoking or expiring it stops its
// batches. Real keys service over a migrated SQLite store.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/api/errors.ts';
import { batchOwnerStage } from '../../src/batch/owner-stage.ts';
import { ownerPrincipal } from '../../src/batch/ingest.ts';
import type { Principal } from '../../src/api/principal.ts';
import { KeysService } from '../../src/tenancy/keys.ts';
import { countingStore, fakeContext, sqliteTenancy } from '../tenancy/support/fixtures.ts';

async function setup() {
  const { opened, store } = await sqliteTenancy();
  const counted = countingStore(store);
  const keys = new KeysService({ store: counted });
  const stage = batchOwnerStage(keys);
  let nextCalls = 0;
  /** Runs one item as `principal`: resolves when it went on to the next stage, else rejects with the refusal. */
  const run = async (principal: Principal | undefined) => {
    const ctx = fakeContext({ principal });
    const before = nextCalls;
    try {
      await stage(ctx, async () => {
        nextCalls += 1;
      });
    } catch (err) {
      assert.equal(nextCalls, before, 'a refused item never reaches the next stage');
      throw err;
    }
    assert.equal(nextCalls, before + 1, 'an admitted item goes on, once');
    assert.equal(ctx.principal, principal, 'the owner stays the principal');
  };
  return { keys, counted, run, close: async () => (await keys.close(), await opened.close()) };
}

const owner = (keyId: string | null) => ownerPrincipal({ owner: { keyId, teamId: null, keyName: null } });

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('batch owner stage', () => {
  it('runs an item of a live key as its owner', async () => {
    const s = await setup();
    const { key } = await s.keys.createKey({ name: 'nightly' });
    await s.run(owner(key.id));
    await s.close();
  });

  it('looks the key up again for every item, so a revoked key stops its batch at the next item', async () => {
    const s = await setup();
    const { key } = await s.keys.createKey({});
    const before = s.counted.calls.getKey ?? 0;
    await s.run(owner(key.id));
    await s.run(owner(key.id));
    assert.equal((s.counted.calls.getKey ?? 0) - before, 2, 'one lookup per item');
    await s.keys.revokeKey(key.id);
    const err = await refusal(s.run(owner(key.id)));
    assert.equal(err.code, 'api_key_revoked');
    assert.equal(err.status, 401);
    await s.close();
  });

  it('refuses the items of an expired or deleted key', async () => {
    const s = await setup();
    const expired = await s.keys.createKey({ expiresAt: Date.now() - 1 });
    assert.equal((await refusal(s.run(owner(expired.key.id)))).code, 'api_key_expired');
    const gone = await refusal(s.run(owner('key_does_not_exist')));
    assert.equal(gone.code, 'invalid_api_key');
    assert.match(gone.message, /key_does_not_exist no longer exists/);
    await s.close();
  });

  it('runs the items of a batch made with the master key without a lookup', async () => {
    const s = await setup();
    const before = s.counted.total();
    await s.run(owner(null));
    assert.equal(s.counted.total(), before);
    await s.close();
  });

  it('refuses an item that reached the pipeline without its owner as a gateway bug', async () => {
    const s = await setup();
    const err = await refusal(s.run(undefined));
    assert.equal(err.status, 500);
    assert.equal(err.code, 'batch_owner_missing');
    await s.close();
  });
});
