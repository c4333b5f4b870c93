// Two real gateway processes sharing real PostgreSQL and Redis: one key's RPM and budget are
// enforced jointly, a revocation on one is refused at once by the other, and secrets never reach
// the logs.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { freshPostgresSchema, REDIS_URL } from '../support/databases.ts';
import { waitFor } from '../support/wait.ts';

const MODEL = 'sim-llama-3.1-8b';
const MASTER = 'sk-master-for-tenancy-tests';

async function admin(gateway: RunningProcess, method: string, path: string, body?: object) {
  const res = await fetch(`${gateway.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function chat(gateway: RunningProcess, key: string, maxTokens = 8) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }], max_tokens: maxTokens }),
  });
}

describe('two gateways sharing PostgreSQL and Redis', () => {
  let sim: RunningProcess;
  let a: RunningProcess;
  let b: RunningProcess;
  let dropSchema: (() => Promise<void>) | undefined;
  const secrets: string[] = [];

  before(async (t) => {
    const schema = await freshPostgresSchema(t as never);
    if (!schema) return;
    dropSchema = schema.drop;
    sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0']);
    const config = {
      models: [{ name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }],
      // Priced like a hosted model so budgets have something to count.
      finops: { prices: { [MODEL]: { input_per_1m: 1000, output_per_1m: 1000 } } },
    };
    const env = { SWITCHYARD_MASTER_KEY: MASTER, DATABASE_URL: schema.url, REDIS_URL };
    [a, b] = await Promise.all([startGateway({ config, env }), startGateway({ config, env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), sim?.stop()]);
    await dropSchema?.();
  });

  it('enforces one key RPM across both gateways, with OpenAI rate-limit headers', async (t) => {
    if (!a) return t.skip('PostgreSQL not available');
    const team = await admin(a, 'POST', '/teams', { name: `team-${Date.now()}` });
    const created = await admin(a, 'POST', '/keys', { team_id: team.id, rpm: 10, name: 'rpm-key' });
    const key = created.key as string;
    secrets.push(key);
    assert.match(key, /^sk-sy-/);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 ? a : b, key)));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    assert.equal(ok.length, 10, 'exactly the RPM limit succeeds, whichever gateway served');
    assert.equal(limited.length, 10);
    const r = limited[0];
    results.splice(results.indexOf(r), 1);
    results.unshift(r);
    assert.equal(r.headers.get('x-ratelimit-limit-requests'), '10');
    assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.ok(r.headers.get('x-ratelimit-reset-requests'));
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(((await r.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.equal(ok[0].headers.get('x-ratelimit-limit-requests'), '10');
    await Promise.all(results.slice(1).map((x) => x.text()));
  });

  it('enforces one budget across both gateways without overspending by more than one request', async (t) => {
    if (!a) return t.skip('PostgreSQL not available');
    const created = await admin(a, 'POST', '/keys', { name: 'budget-key' });
    const key = created.key as string;
    secrets.push(key);
    const limitUsd = 0.5;
    const budget = await admin(b, 'POST', '/budgets', { scope: 'key', scope_id: created.id, period: 'monthly', limit_usd: limitUsd });
    // The budget binds gateway a once b's broadcast has reached it; the bound is about spend, not that delay.
    await waitFor('gateway a enforcing the budget', async () => (await admin(a, 'GET', `/budgets/${budget.id as string}`)).enforced_by_this_replica === true);
    // Each request costs about (prompt + 8 output tokens) x $1,000/1M ≈ $0.02; at most 16 output tokens are reserved.
    const statuses: number[] = [];
    for (let round = 0; round < 6; round++) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => chat(i % 2 ? a : b, key, 16)));
      for (const res of batch) {
        statuses.push(res.status);
        const body = (await res.json()) as { error?: { code: string } };
        if (res.status === 429) assert.equal(body.error?.code, 'budget_exceeded');
      }
    }
    assert.ok(statuses.includes(429), 'the budget eventually refuses');
    assert.ok(statuses.filter((s) => s === 200).length > 5);
    // Let both ledgers flush (every second), then read the spend from either gateway.
    await new Promise((r) => setTimeout(r, 2500));
    const report = await admin(a, 'GET', `/spend?group_by=key&from=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
    const row = (report.data as { group: string; cost_usd: number }[]).find((d) => d.group === created.id);
    assert.ok(row, 'spend is recorded per key');
    const oneRequestMax = ((20 + 16) * 1000) / 1e6;
    assert.ok(row.cost_usd <= limitUsd + oneRequestMax, `spent ${row.cost_usd} against a ${limitUsd} limit`);
  });

  it('refuses a key revoked on the other gateway at once', async (t) => {
    if (!a) return t.skip('PostgreSQL not available');
    const created = await admin(a, 'POST', '/keys', { name: 'doomed' });
    const key = created.key as string;
    secrets.push(key);
    assert.equal((await chat(a, key)).status, 200);
    assert.equal((await chat(b, key)).status, 200);
    await admin(b, 'POST', `/keys/${created.id}/revoke`);
    const after = await chat(a, key);
    assert.equal(after.status, 401);
    assert.match(((await after.json()) as { error: { message: string } }).error.message, /revoked/i);
  });

  it('never writes a secret to the logs', async (t) => {
    if (!a) return t.skip('PostgreSQL not available');
    assert.ok(secrets.length >= 3);
    for (const gateway of [a, b]) {
      const out = gateway.output();
      assert.ok(out.length > 0);
      for (const s of [...secrets, MASTER]) assert.ok(!out.includes(s), 'a secret appeared in the log');
    }
  });
});
