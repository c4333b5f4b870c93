// Property test of hard budgets against real processes: waves of 50 concurrent requests of
// generated shapes (every endpoint, n, best_of, prompt and input arrays, dense unicode,
// ignore_eos, missing max_tokens, tools, Anthropic messages) hit a key with a hard budget, on one
// gateway (SQLite, in-process counters) and on two gateways sharing PostgreSQL and Redis, each
// with its simulator replicas. Whatever the shapes, the ledger must show every request's cost
// within what it reserved, and total spend within the limit plus one request's maximum cost.
// Seeded (BUDGET_PROPERTY_SEED overrides the seed; a failure message names it).

import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';
import { freshPostgresSchema, REDIS_URL } from '../support/databases.ts';
import { requireRedis } from '../tenancy/support/redis.ts';
import { randomShapes, type RequestShape } from '../support/request-shapes.ts';
import { waitFor } from '../support/wait.ts';

const MODEL = 'sim-llama-3.1-8b';
const MASTER = 'sk-master-budget-property';
const SEED = Number(process.env.BUDGET_PROPERTY_SEED ?? 20_261_112);
const WAVES = 3;
const CONCURRENT = 50;
const LIMIT_USD = 1.5;

const config = {
  ...simModelConfig({ replicas: 2, timeScale: 0.01 }),
  finops: {
    // Priced like a dear hosted model, so a few waves of requests exhaust the budget.
    prices: { [MODEL]: { input_per_1m: 40, cached_input_per_1m: 20, output_per_1m: 120 } },
    budget_enforcement: { default_max_output_tokens: 200 },
  },
};

interface LedgerRow {
  request_id: string;
  endpoint: string;
  status: number;
  cost_usd: number;
  reserved_usd: number | null;
  prompt_tokens: number;
  completion_tokens: number;
}

type LedgerReader = (keyId: string) => Promise<LedgerRow[]>;

const LEDGER_SQL = 'SELECT request_id, endpoint, status, cost_usd, reserved_usd, prompt_tokens, completion_tokens FROM usage_records WHERE key_id = ?';

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

async function send(gateway: RunningProcess, key: string, shape: RequestShape): Promise<{ status: number; text: string }> {
  const auth: Record<string, string> = shape.endpoint === '/v1/messages' ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key}` };
  const res = await fetch(`${gateway.url}${shape.endpoint}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(shape.body) });
  return { status: res.status, text: await res.text() };
}

/** A refusal must be the budget's, in the endpoint's error shape. */
function assertBudgetRefusal(shape: RequestShape, text: string): void {
  const body = JSON.parse(text) as { type?: string; error: { type: string; code?: string; message: string } };
  if (shape.endpoint === '/v1/messages') assert.equal(body.type, 'error');
  else assert.equal(body.error.code, 'budget_exceeded', text);
  assert.equal(body.error.type, 'rate_limit_error');
  assert.match(body.error.message, /^Budget exceeded/);
}

async function runProperty(t: TestContext, gateways: RunningProcess[], readLedger: LedgerReader, seed: number): Promise<void> {
  const key = await admin(gateways[0], 'POST', '/keys', { name: `budget-property-${seed}` });
  const keyId = key.id as string;
  const budget = await admin(gateways[gateways.length - 1], 'POST', '/budgets', { scope: 'key', scope_id: keyId, period: 'monthly', limit_usd: LIMIT_USD });
  // Every gateway enforces it before the first wave: the property is about spend, not broadcast delay.
  for (const g of gateways) await waitFor('every gateway enforcing the budget', async () => (await admin(g, 'GET', `/budgets/${budget.id as string}`)).enforced_by_this_replica === true);
  const statuses = new Map<number, number>();
  for (let wave = 0; wave < WAVES; wave++) {
    const shapes = randomShapes(seed + wave, CONCURRENT, { model: MODEL, maxTokens: 128, maxTextUnits: 300 });
    const results = await Promise.all(shapes.map((shape, i) => send(gateways[i % gateways.length], key.key as string, shape)));
    results.forEach(({ status, text }, i) => {
      const context = `seed ${seed + wave}, request ${i} (${shapes[i].label}): ${status} ${text.slice(0, 300)}`;
      assert.ok(status === 200 || status === 429, context);
      if (status === 429) assertBudgetRefusal(shapes[i], text);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
  }
  assert.ok((statuses.get(200) ?? 0) >= 10, `enough requests were served to spend: ${JSON.stringify([...statuses])}`);
  assert.ok((statuses.get(429) ?? 0) > 0, 'the budget refused some');
  const served = statuses.get(200) ?? 0;

  // Reports flush each gateway's ledger queue first.
  for (const g of gateways) await admin(g, 'GET', '/spend?from=1h&group_by=key');
  const rows = await readLedger(keyId);
  assert.equal(rows.length, WAVES * CONCURRENT, 'one ledger row per request');
  let spent = 0;
  let largestReservation = 0;
  let checked = 0;
  for (const r of rows) {
    const cost = Number(r.cost_usd);
    spent += cost;
    if (Number(r.status) !== 200) continue;
    assert.notEqual(r.reserved_usd, null, `${r.request_id} ran without a reservation`);
    const reserved = Number(r.reserved_usd);
    largestReservation = Math.max(largestReservation, reserved);
    checked += 1;
    assert.ok(cost <= reserved + 1e-6, `seed ${seed}: ${r.request_id} (${r.endpoint}, ${r.prompt_tokens} + ${r.completion_tokens} tokens) cost $${cost}, above its $${reserved} reservation`);
  }
  assert.equal(checked, served, 'every served request was checked against its reservation');
  t.diagnostic(`seed ${seed}: ${JSON.stringify([...statuses])} statuses, spent $${spent.toFixed(4)} of $${LIMIT_USD}, largest reservation $${largestReservation.toFixed(4)}`);
  assert.ok(spent <= LIMIT_USD + largestReservation, `seed ${seed}: spent $${spent} > $${LIMIT_USD} + one request's maximum $${largestReservation}`);
  assert.ok(spent <= LIMIT_USD + 1e-6, `seed ${seed}: with every cost within its reservation, spend stays within the limit ($${spent})`);

  const current = (await admin(gateways[0], 'GET', `/budgets/${budget.id as string}`)).current_period as { spent_usd: number; in_flight_usd: number };
  assert.equal(current.in_flight_usd, 0, 'every reservation was settled');
  assert.ok(Math.abs(current.spent_usd - spent) < 1e-4, `counter $${current.spent_usd} vs ledger $${spent}`);
  assert.deepEqual((await admin(gateways[0], 'GET', `/budgets/${budget.id as string}/reservations`)).data, []);
}

describe('hard budget property: one gateway, SQLite and in-process counters', () => {
  let gateway: RunningProcess;
  let db: Database.Database;
  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-budget-'));
    gateway = await startGateway({ config, dataDir, env: { SWITCHYARD_MASTER_KEY: MASTER } });
    db = new Database(join(dataDir, 'switchyard.db'), { readonly: true });
  });
  after(async () => {
    db?.close();
    await gateway?.stop();
  });

  it(`spend stays within the limit under ${WAVES} waves of ${CONCURRENT} concurrent requests of any shape`, async (t) => {
    await runProperty(t, [gateway], async (keyId) => db.prepare(LEDGER_SQL).all(keyId) as LedgerRow[], SEED);
  });
});

describe('hard budget property: two gateways sharing PostgreSQL and Redis', () => {
  let gateways: RunningProcess[] = [];
  let client: pg.Client | undefined;
  let dropSchema: (() => Promise<void>) | undefined;
  before(async (t) => {
    const schema = await freshPostgresSchema(t as never);
    if (!schema || !(await requireRedis(t as never))) return;
    dropSchema = schema.drop;
    const env = { SWITCHYARD_MASTER_KEY: MASTER, DATABASE_URL: schema.url, REDIS_URL };
    // One at a time: both migrate the same fresh schema.
    gateways.push(await startGateway({ config, env }));
    gateways.push(await startGateway({ config, env }));
    client = new pg.Client({ connectionString: schema.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await Promise.all(gateways.map((g) => g.stop()));
    gateways = [];
    await dropSchema?.();
  });

  it(`spend stays within the limit under ${WAVES} waves of ${CONCURRENT} concurrent requests split across both`, async (t) => {
    if (!client) return t.skip('PostgreSQL or Redis not available');
    const read: LedgerReader = async (keyId) => (await client!.query<LedgerRow>(LEDGER_SQL.replace('?', '$1'), [keyId])).rows;
    await runProperty(t, gateways, read, SEED + 1_000);
  });
});
