// The tenancy admin API over real HTTP, through the gateway's admin router.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_MASTER_KEY, startAdminServer } from './support/admin-server.ts';

let server: Awaited<ReturnType<typeof startAdminServer>>;

before(async () => {
  server = await startAdminServer();
});
after(async () => {
  await server.close();
});

async function api(method: string, path: string, body?: unknown, key = ADMIN_MASTER_KEY): Promise<{ status: number; body: Record<string, unknown> & { data?: Record<string, unknown>[]; error?: Record<string, unknown> } }> {
  const res = await fetch(`${server.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as never };
}

describe('admin API: teams', () => {
  it('creates, lists, reads, updates and deletes teams', async () => {
    const created = await api('POST', '/teams', { name: 'search', rpm: 600, models: ['llama-8b'], metadata: { cc: 7 } });
    assert.equal(created.status, 201);
    assert.equal(created.body.object, 'team');
    assert.equal(created.body.name, 'search');
    assert.equal(created.body.max_concurrent, null);
    assert.equal(typeof created.body.created_at, 'number');
    const id = created.body.id as string;

    assert.ok((await api('GET', '/teams')).body.data?.some((t) => t.id === id));
    assert.deepEqual((await api('GET', '/teams?name=search')).body.data?.map((t) => t.id), [id]);
    assert.deepEqual((await api('GET', '/teams?name=nobody')).body.data, []);
    assert.equal((await api('GET', `/teams/${id}`)).body.rpm, 600);

    const patched = await api('PATCH', `/teams/${id}`, { rpm: null, tpm: 5000 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.rpm, null);
    assert.equal(patched.body.tpm, 5000);
    assert.deepEqual(patched.body.models, ['llama-8b']);

    const deleted = await api('DELETE', `/teams/${id}`);
    assert.deepEqual(deleted.body, { object: 'team', id, deleted: true });
    assert.equal((await api('GET', `/teams/${id}`)).status, 404);
  });

  it('answers 409 for a taken name and for deleting a team with active keys', async () => {
    const team = await api('POST', '/teams', { name: 'ads' });
    const dup = await api('POST', '/teams', { name: 'ads' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error?.param, 'name');
    const key = await api('POST', '/keys', { team_id: team.body.id });
    const refused = await api('DELETE', `/teams/${team.body.id}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'team_has_active_keys');
    await api('POST', `/keys/${key.body.id}/revoke`);
    assert.equal((await api('DELETE', `/teams/${team.body.id}`)).status, 200);
  });

  it('rejects bad bodies with 400 naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'name', /name is required/],
      [{ name: '' }, 'name', /must not be empty/],
      [{ name: 'x', rpm: 0 }, 'rpm', /positive integer/],
      [{ name: 'x', tpm: 1.5 }, 'tpm', /positive integer/],
      [{ name: 'x', models: 'llama' }, 'models', /list of model names/],
      [{ name: 'x', colour: 'red' }, 'colour', /Unknown field 'colour'/],
      [[1, 2], '', /JSON object/],
    ];
    for (const [body, param, message] of cases) {
      const res = await api('POST', '/teams', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error?.type, 'invalid_request_error');
      assert.equal(res.body.error?.param ?? '', param, JSON.stringify(res.body));
      assert.match(String(res.body.error?.message), message);
    }
    assert.equal((await api('POST', '/teams', '{not json')).status, 400);
  });

  it('answers 404 for unknown ids', async () => {
    for (const [method, path] of [['GET', '/teams/team_nope'], ['PATCH', '/teams/team_nope'], ['DELETE', '/teams/team_nope']]) {
      const res = await api(method, path, method === 'PATCH' ? { rpm: 1 } : undefined);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error?.code, 'team_not_found');
    }
  });
});

describe('admin API: keys', () => {
  it('shows the secret once, on creation, and only the prefix afterwards', async () => {
    const team = await api('POST', '/teams', { name: 'research' });
    const created = await api('POST', '/keys', { name: 'notebook', team_id: team.body.id, tpm: 10_000, models: ['llama-8b'], expires_at: '2099-01-01T00:00:00Z' });
    assert.equal(created.status, 201);
    const secret = created.body.key as string;
    assert.match(secret, /^sk-sy-[0-9A-Za-z]{32}$/);
    assert.equal(created.body.key_prefix, secret.slice(0, 12));
    assert.equal(created.body.status, 'active');
    assert.equal(created.body.expires_at, Date.parse('2099-01-01T00:00:00Z') / 1000);
    const id = created.body.id as string;

    const listed = await api('GET', '/keys');
    const one = await api('GET', `/keys/${id}`);
    const byTeam = await api('GET', `/keys?team_id=${team.body.id}`);
    assert.deepEqual(byTeam.body.data?.map((k) => k.id), [id]);
    for (const text of [JSON.stringify(listed.body), JSON.stringify(one.body), JSON.stringify(byTeam.body)]) {
      assert.ok(!text.includes(secret.slice(12)), 'no listing carries the secret');
      assert.ok(!text.includes('key_hash'), 'nor its hash');
    }
    assert.equal(one.body.key, undefined);
    assert.equal(one.body.name, 'notebook');
  });

  it('updates keys and revokes them with POST /revoke or DELETE, refusing them at once', async () => {
    const created = await api('POST', '/keys', { name: 'svc', rpm: 10 });
    const id = created.body.id as string;
    const secret = created.body.key as string;
    const { tenancy } = server;
    assert.equal((await tenancy.keys.authenticateSecret(secret)).key.rpm, 10);

    const patched = await api('PATCH', `/keys/${id}`, { rpm: 20, name: null, metadata: { owner: 'ana' } });
    assert.equal(patched.body.rpm, 20);
    assert.equal(patched.body.name, null);
    assert.equal((await tenancy.keys.authenticateSecret(secret)).key.rpm, 20, 'the update is live at once');

    const revoked = await api('POST', `/keys/${id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.status, 'revoked');
    assert.equal(typeof revoked.body.revoked_at, 'number');
    await assert.rejects(tenancy.keys.authenticateSecret(secret), /revoked/);

    const other = await api('POST', '/keys', {});
    assert.equal((await api('DELETE', `/keys/${other.body.id}`)).body.status, 'revoked');
    assert.equal((await api('GET', `/keys/${other.body.id}`)).status, 200, 'revoked keys stay listed, for the ledger');
  });

  it('validates key bodies and ids', async () => {
    assert.equal((await api('POST', '/keys', { team_id: 'team_nope' })).body.error?.param, 'team_id');
    assert.equal((await api('POST', '/keys', { expires_at: 'soon' })).body.error?.param, 'expires_at');
    assert.equal((await api('POST', '/keys', { expires_at: 1 })).body.error?.param, 'expires_at', 'not in the past');
    assert.equal((await api('POST', '/keys', { max_concurrent: -1 })).body.error?.param, 'max_concurrent');
    assert.equal((await api('PATCH', '/keys/key_nope', { rpm: 1 })).status, 404);
    assert.equal((await api('POST', '/keys/key_nope/revoke')).status, 404);
    assert.equal((await api('GET', '/keys/key_nope')).body.error?.code, 'key_not_found');
  });

  it('needs the master key', async () => {
    const created = await api('POST', '/keys', {});
    const res = await api('GET', '/keys', undefined, created.body.key as string);
    assert.equal(res.status, 401);
  });
});
