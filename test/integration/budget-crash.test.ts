// A gateway killed with SIGKILL mid-request must not lock budget: its reservations on the shared
// Redis counters expire after reservation_timeout_ms, and until then the admin API of another
// replica lists them and can release them at once. Real processes: three gateways sharing
// PostgreSQL and Redis, one simulator that holds requests open (its hang fault).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { freshPostgresSchema, REDIS_URL } from '../support/databases.ts';
import { requireRedis } from '../tenancy/support/redis.ts';

const MODEL = 'sim-llama-3.1-8b';
const MASTER = 'sk-master-budget-crash';
const RESERVATION_TIMEOUT_MS = 8_000;

interface Reservation {
  id: string;
  amount_usd: number;
  gateway: string;
  expires_at: string;
}

async function admin(gateway: RunningProcess, method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${gateway.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A chat whose maximum cost is about $20 at the test's prices (2,000 output tokens at $10,000/1M). */
function chat(gateway: RunningProcess, key: string, maxTokens = 2_000): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens }),
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('a gateway killed mid-request against Redis', () => {
  let sim: RunningProcess;
  let survivor: RunningProcess;
  const doomed: RunningProcess[] = [];
  let dropSchema: (() => Promise<void>) | undefined;

  before(async (t) => {
    const schema = await freshPostgresSchema(t as never);
    if (!schema || !(await requireRedis(t as never))) return;
    dropSchema = schema.drop;
    sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0']);
    const config = {
      models: [{ name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }],
      finops: {
        prices: { [MODEL]: { input_per_1m: 100, output_per_1m: 10_000 } },
        budget_enforcement: { reservation_timeout_ms: RESERVATION_TIMEOUT_MS },
      },
    };
    const env = { SWITCHYARD_MASTER_KEY: MASTER, DATABASE_URL: schema.url, REDIS_URL };
    // One at a time: they migrate the same fresh schema.
    survivor = await startGateway({ config, env });
    for (let i = 0; i < 2; i++) doomed.push(await startGateway({ config, env }));
  });
  after(async () => {
    await Promise.all([survivor?.stop(), ...doomed.map((g) => g.stop()), sim?.stop()]);
    await dropSchema?.();
  });

  it('frees its reservations after reservation_timeout_ms, and the admin API releases them at once', async (t) => {
    if (!survivor) return t.skip('PostgreSQL or Redis not available');
    const created = await admin(survivor, 'POST', '/keys', { name: 'crash-key' });
    const key = created.key as string;
    const budget = await admin(survivor, 'POST', '/budgets', { scope: 'key', scope_id: created.id, period: 'monthly', limit_usd: 50 });
    const path = `/budgets/${budget.id as string}`;

    // The simulator now holds every request open: each doomed gateway reserves and waits.
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hangRate: 1 }) });
    const pending = doomed.map((g) => chat(g, key).catch(() => undefined));
    const held = await until('both reservations to be listed', async () => {
      const list = (await admin(survivor, 'GET', `${path}/reservations`)).data as Reservation[];
      return list.length === 2 ? list : undefined;
    });
    const holderPids = held.map((r) => Number(r.gateway.slice(r.gateway.lastIndexOf(':') + 1))).sort();
    assert.deepEqual(holderPids, doomed.map((g) => g.child.pid!).sort(), 'each names the gateway process holding it');
    for (const r of held) assert.ok(r.amount_usd > 20 && r.amount_usd < 21, `reserved $${r.amount_usd}`);

    for (const g of doomed) g.child.kill('SIGKILL');
    await Promise.all(doomed.map((g) => g.stop()));
    await Promise.all(pending);
    const killedAt = Date.now();

    // Release the first holder's reservation by id: the budget is freed by that much at once.
    const [first, second] = held;
    const released = await admin(survivor, 'DELETE', `${path}/reservations/${first.id}`);
    assert.deepEqual((released.data as Reservation[]).map((r) => r.id), [first.id]);
    const expiresAt = Date.parse(second.expires_at);
    const afterRelease = (await admin(survivor, 'GET', path)).current_period as { in_flight_usd: number };
    if (Date.now() < expiresAt - 500) {
      assert.equal(afterRelease.in_flight_usd, second.amount_usd, 'the other dead gateway still holds its reservation until it expires');
      const refused = await chat(survivor, key, 3_000);
      assert.equal(refused.status, 429, 'a $30 request does not fit next to the $20 still held');
      await refused.text();
    } else {
      t.diagnostic('the machine was too slow to observe the reservation before its expiry');
    }

    // Without anything settling it, the second reservation frees itself once it expires.
    await until('the expired reservation to free the budget', async () => {
      const current = (await admin(survivor, 'GET', path)).current_period as { in_flight_usd: number; remaining_usd: number };
      return current.in_flight_usd === 0 ? current : undefined;
    }, RESERVATION_TIMEOUT_MS + 30_000);
    assert.ok(Date.now() >= expiresAt - 50, 'not before its expiry');
    t.diagnostic(`freed ${Date.now() - killedAt} ms after the kill`);
    const current = (await admin(survivor, 'GET', path)).current_period as { spent_usd: number; remaining_usd: number };
    assert.deepEqual([current.spent_usd, current.remaining_usd], [0, 50], 'the whole budget is back; the killed requests never cost anything');
    assert.deepEqual((await admin(survivor, 'GET', `${path}/reservations`)).data, []);

    await fetch(`${sim.url}/sim/faults`, { method: 'DELETE' });
    const res = await chat(survivor, key, 4_000);
    assert.equal(res.status, 200, 'a $40 request fits the freed budget');
    await res.text();
  });
});
