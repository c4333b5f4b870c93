// `switchyard keys` and `switchyard teams` against a real admin API on 127.0.0.1.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { parseExpiry, registerKeysCommand, type CliIo } from '../../src/cli/keys-command.ts';
import type { AdminRoute } from '../../src/api/routes.ts';
import { ADMIN_MASTER_KEY, startAdminServer } from '../tenancy/support/admin-server.ts';

const budgetCalls: unknown[] = [];
const budgetsStub: AdminRoute = {
  method: 'POST',
  pattern: /^\/budgets\/?$/,
  handler: async (req) => {
    budgetCalls.push(req.body);
    return { status: 201, body: { object: 'budget', id: 'bud_1' } };
  },
};

// One fixed clock for the CLI and the admin server it talks to: expiry is computed on one side and
// checked on the other, so a fixed date on one side and the real clock on the other fails on some day.
const NOW = Date.parse('2026-11-01T00:00:00Z');
const clock = () => NOW;

let withBudgets: Awaited<ReturnType<typeof startAdminServer>>;
let withoutBudgets: Awaited<ReturnType<typeof startAdminServer>>;

before(async () => {
  withBudgets = await startAdminServer([budgetsStub], clock);
  withoutBudgets = await startAdminServer([], clock);
});
after(async () => {
  await withBudgets.close();
  await withoutBudgets.close();
});

async function cli(url: string, args: string[], env: NodeJS.ProcessEnv = { SWITCHYARD_MASTER_KEY: ADMIN_MASTER_KEY }) {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env, setExitCode: (c) => (code = c), now: clock };
  const program = new Command().exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  registerKeysCommand(program, io);
  await program.parseAsync([...args, '--url', url], { from: 'user' });
  return { out, err, code };
}

describe('switchyard teams and keys', () => {
  it('creates a team and a key in it, printing the secret once', async () => {
    const team = await cli(withBudgets.url, ['teams', 'create', 'search', '--rpm', '600', '--models', 'llama-8b,gpt-4o']);
    assert.equal(team.code, 0, team.err);
    assert.match(team.out, /Created team search \(team_\w+\)/);
    const listed = await cli(withBudgets.url, ['teams', 'list']);
    assert.match(listed.out, /^ID\s+NAME\s+RPM/);
    assert.match(listed.out, /search\s+600\s+-\s+-\s+llama-8b,gpt-4o/);

    const key = await cli(withBudgets.url, ['keys', 'create', '--team', 'search', '--name', 'notebook', '--tpm', '5000', '--expires', '30d', '--budget', '250']);
    assert.equal(key.code, 0, key.err);
    const secret = /sk-sy-[0-9A-Za-z]{32}/.exec(key.out)?.[0];
    assert.ok(secret, key.out);
    assert.match(key.out, /shown only once/);
    assert.match(key.out, /Monthly budget: \$250/);
    const keyId = /Created key (key_\w+)/.exec(key.out)![1];
    assert.deepEqual(budgetCalls, [{ scope: 'key', scope_id: keyId, period: 'monthly', limit_usd: 250 }]);

    const stored = await withBudgets.tenancy.keys.authenticateSecret(secret);
    assert.equal(stored.key.tpm, 5000);
    assert.equal(stored.team?.name, 'search');
    assert.equal(stored.key.expiresAt, Date.parse('2026-12-01T00:00:00Z'));

    const list = await cli(withBudgets.url, ['keys', 'list', '--team', 'search']);
    assert.match(list.out, new RegExp(`${keyId}\\s+notebook\\s+${secret.slice(0, 12)}\\.\\.\\.`));
    assert.ok(!list.out.includes(secret.slice(12)), 'the list never shows the secret');
    const json = JSON.parse((await cli(withBudgets.url, ['keys', 'list', '--json'])).out) as { id: string; status: string }[];
    assert.equal(json.find((k) => k.id === keyId)?.status, 'active');

    const revoked = await cli(withBudgets.url, ['keys', 'revoke', keyId]);
    assert.match(revoked.out, new RegExp(`Revoked key ${keyId}`));
    await assert.rejects(withBudgets.tenancy.keys.authenticateSecret(secret), /revoked/);
  });

  it('warns clearly when the gateway has no budgets endpoint', async () => {
    const res = await cli(withoutBudgets.url, ['keys', 'create', '--budget', '10']);
    assert.match(res.out, /sk-sy-/, 'the key is still created and shown');
    assert.match(res.err, /no budgets endpoint .*404.* WITHOUT a budget/);
    assert.equal(res.code, 1);
  });

  it('reports API and connection errors on one line with exit code 1', async () => {
    const unknownTeam = await cli(withBudgets.url, ['keys', 'create', '--team', 'nobody']);
    assert.match(unknownTeam.err, /no team named 'nobody'/);
    assert.equal(unknownTeam.code, 1);
    const notFound = await cli(withBudgets.url, ['keys', 'revoke', 'key_nope']);
    assert.match(notFound.err, /404: No API key with id 'key_nope'/);
    const noKey = await cli(withBudgets.url, ['teams', 'list'], {});
    assert.match(noKey.err, /401: .*set SWITCHYARD_MASTER_KEY/);
    const down = await cli('http://127.0.0.1:1', ['teams', 'list']);
    assert.match(down.err, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1/);
  });

  it('validates flags before calling the gateway', async () => {
    await assert.rejects(cli(withBudgets.url, ['keys', 'create', '--rpm', '0']), /positive integer/);
    await assert.rejects(cli(withBudgets.url, ['keys', 'create', '--budget', 'lots']), /USD/);
    const now = Date.parse('2026-11-01T00:00:00Z');
    assert.equal(parseExpiry('12h', now), now / 1000 + 43_200);
    assert.equal(parseExpiry('2027-01-01', now), Date.parse('2027-01-01') / 1000);
    assert.throws(() => parseExpiry('yesterday', now));
    assert.throws(() => parseExpiry('2020-01-01', now), /future/);
  });
});
