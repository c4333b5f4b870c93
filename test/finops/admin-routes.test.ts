// The FinOps admin API over real HTTP (the gateway's admin router): budgets CRUD with validation
// errors naming the field, spend reports with relative dates, the self-host vs API report, and
// createFinops end to end (reserve -> finish -> ledger -> report).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalRequest } from '../../src/api/canonical.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { call, startFinopsServer, type FinopsServer } from './admin-server.ts';

const MODELS = [
  { name: 'gpt-4o-mini', deployments: [{ provider: 'openai', id: 'oai-mini' }] },
  { name: 'llama', deployments: [{ provider: 'openai-compatible', id: 'llama-a', gpu_hourly_usd: 2.5, gpus: 1 }] },
];

function chat(model: string, maxTokens?: number): CanonicalRequest {
  return {
    kind: 'chat',
    model,
    stream: false,
    includeUsage: false,
    messages: [{ role: 'user', content: 'x'.repeat(3964) }], // 64 + 8 template + 4 role + 3964 text bytes = 4040 prompt tokens at most
    params: maxTokens === undefined ? {} : { max_tokens: maxTokens },
    extra: {},
    meta: { requestId: 'r', edge: 'openai' },
  };
}

let srv: FinopsServer;
before(async () => {
  srv = await startFinopsServer({
    models: MODELS,
    finops: {
      budgets: [{ id: 'cfg-global', scope: 'global', period: 'monthly', limit_usd: 1000 }],
      budget_enforcement: { default_max_output_tokens: 1000 },
    },
  });
});
after(async () => {
  await srv.close();
});

describe('budgets admin API', () => {
  it('needs the master key', async () => {
    const res = await call(srv.url, 'GET', '/budgets', undefined, 'sk-wrong');
    assert.equal(res.status, 401);
  });

  it('creates, lists, reads and deletes budgets', async () => {
    const created = await call(srv.url, 'POST', '/budgets', { name: 'Team eng', scope: 'team', scope_id: 'eng', period: 'weekly', limit_usd: 50, thresholds: [90, 50] });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.match(id, /^bud_/);
    assert.deepEqual(created.body.thresholds, [50, 90]);
    assert.deepEqual((created.body.current_period as Record<string, unknown>).spent_usd, 0);
    const list = await call(srv.url, 'GET', '/budgets');
    assert.deepEqual((list.body.data as { id: string }[]).map((b) => b.id), ['cfg-global', id]);
    const filtered = await call(srv.url, 'GET', '/budgets?scope=team&scope_id=eng');
    assert.equal((filtered.body.data as unknown[]).length, 1);
    const one = await call(srv.url, 'GET', `/budgets/${id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.alerts_fired, []);
    assert.equal((await call(srv.url, 'DELETE', `/budgets/${id}`)).status, 200);
    assert.equal((await call(srv.url, 'GET', `/budgets/${id}`)).status, 404);
    const cfg = await call(srv.url, 'DELETE', '/budgets/cfg-global');
    assert.equal(cfg.status, 409);
    assert.match((cfg.body.error as { message: string }).message, /defined in the config file/);
  });

  it('lists and releases the open reservations of a budget', async () => {
    await call(srv.url, 'POST', '/budgets', { id: 'held', scope: 'key', scope_id: 'k-held', period: 'monthly', limit_usd: 1 });
    const principal = { keyId: 'k-held', teamId: null };
    const a = await srv.finops.budgets.reserve(principal, 'gpt-4o-mini', 0.4, 'req-a');
    const b = await srv.finops.budgets.reserve(principal, 'gpt-4o-mini', 0.5, 'req-b');
    const list = await call(srv.url, 'GET', '/budgets/held/reservations');
    assert.equal(list.status, 200);
    assert.equal(list.body.total_usd, 0.9);
    const data = list.body.data as Record<string, unknown>[];
    assert.deepEqual(data.map((r) => [r.id, r.amount_usd, r.request_id, r.model, r.key_id]), [
      [a.id, 0.4, 'req-a', 'gpt-4o-mini', 'k-held'],
      [b.id, 0.5, 'req-b', 'gpt-4o-mini', 'k-held'],
    ]);
    assert.match(String(data[0].gateway), /:\d+$/);
    assert.ok(Date.parse(String(data[0].expires_at)) > Date.parse(String(data[0].created_at)));
    const one = await call(srv.url, 'DELETE', `/budgets/held/reservations/${a.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual([(one.body.data as { id: string }[]).map((r) => r.id), one.body.released_usd], [[a.id], 0.4]);
    assert.equal(((await call(srv.url, 'GET', '/budgets/held')).body.current_period as { in_flight_usd: number }).in_flight_usd, 0.5);
    const again = await call(srv.url, 'DELETE', `/budgets/held/reservations/${a.id}`);
    assert.equal(again.status, 404);
    assert.deepEqual([(again.body.error as { code: string }).code, (again.body.error as { param: string }).param], ['reservation_not_found', 'reservation_id']);
    const all = await call(srv.url, 'DELETE', '/budgets/held/reservations');
    assert.deepEqual((all.body.data as { id: string }[]).map((r) => r.id), [b.id]);
    const period = (await call(srv.url, 'GET', '/budgets/held')).body.current_period as { in_flight_usd: number; remaining_usd: number };
    assert.deepEqual([period.in_flight_usd, period.remaining_usd], [0, 1]);
    assert.equal((await call(srv.url, 'GET', '/budgets/nope/reservations')).status, 404);
    await srv.finops.budgets.settle(a, 0);
    await srv.finops.budgets.settle(b, 0);
  });

  it('rejects bad budgets naming the field, in the OpenAI error shape', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ scope: 'team', scope_id: 'eng', period: 'monthly', limit_usd: -5 }, 'limit_usd', /limit_usd/],
      [{ scope: 'team', period: 'monthly', limit_usd: 5 }, 'scope_id', /scope_id is required/],
      [{ scope: 'global', scope_id: 'x', period: 'monthly', limit_usd: 5 }, 'scope_id', /not allowed for global/],
      [{ scope: 'key', scope_id: 'k', period: 'yearly', limit_usd: 5 }, 'period', /period/],
      [{ scope: 'key', scope_id: 'k', period: 'daily', limit_usd: 5, thresholds: [120] }, 'thresholds[0]', /thresholds\[0\]/],
      [{ scope: 'key', scope_id: 'k', period: 'daily', limit_usd: 5, colour: 'red' }, '', /colour/],
    ];
    for (const [body, param, message] of cases) {
      const res = await call(srv.url, 'POST', '/budgets', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = res.body.error as { type: string; param: string | null; message: string; code: string };
      assert.equal(error.type, 'invalid_request_error');
      if (param) assert.equal(error.param, param);
      assert.match(error.message, message);
    }
    const dup = await call(srv.url, 'POST', '/budgets', { id: 'cfg-global', scope: 'global', period: 'daily', limit_usd: 1 });
    assert.equal(dup.status, 409);
  });
});

describe('createFinops end to end', () => {
  it('reserves before, settles and records after, and reports spend', async () => {
    const { finops } = srv;
    // gpt-4o-mini: a 4040-token prompt bound x $0.15 + 1000 default output x $0.60.
    const max = finops.maxCostOf(chat('gpt-4o-mini'));
    assert.ok(Math.abs(max - (4040 * 0.15 + 1000 * 0.6) / 1e6) < 1e-9, `max ${max}`);
    assert.ok(finops.maxCostOf(chat('gpt-4o-mini', 10)) < max, 'max_tokens bounds the output');
    await call(srv.url, 'POST', '/budgets', { id: 'tiny', scope: 'key', scope_id: 'k1', period: 'daily', limit_usd: 0.002 });
    const principal = { keyId: 'k1', teamId: 'eng' };
    const r = await finops.reserve(principal, chat('gpt-4o-mini'));
    assert.equal(r.periods.length, 2, 'the key budget and the global one');
    await assert.rejects(finops.reserve(principal, chat('gpt-4o-mini')), (e: unknown) => e instanceof GatewayError && e.code === 'budget_exceeded');
    const cost = finops.finish({
      reservation: r,
      requestId: 'req-1',
      principal,
      model: 'gpt-4o-mini',
      deploymentId: 'oai-mini',
      endpoint: '/v1/chat/completions',
      usage: { prompt_tokens: 1000, cached_tokens: 600, completion_tokens: 100 },
      status: 200,
      latencyMs: 812,
      ttftMs: 120,
    });
    assert.ok(Math.abs(cost - (400 * 0.15 + 600 * 0.075 + 100 * 0.6) / 1e6) < 1e-12);
    finops.finish({ requestId: 'req-2', principal, model: 'gpt-4o-mini', deploymentId: null, endpoint: '/v1/chat/completions', status: 502, errorCode: 'upstream_unreachable', latencyMs: 30 });
    const free = await finops.reserve(principal, chat('unpriced-local'));
    finops.finish({ reservation: free, requestId: 'req-3', principal, model: 'unpriced-local', endpoint: '/v1/chat/completions', usage: { prompt_tokens: 5, completion_tokens: 5 }, status: 499, errorCode: 'client_disconnected', latencyMs: 5 });

    const spend = await call(srv.url, 'GET', '/spend?from=1d&group_by=key');
    assert.equal(spend.status, 200);
    assert.equal(spend.body.group_by, 'key');
    const rows = spend.body.data as { group: string; requests: number; cached_tokens: number; cost_usd: number }[];
    assert.deepEqual(rows.map((x) => [x.group, x.requests, x.cached_tokens]), [['k1', 3, 600]]);
    assert.equal((spend.body.total as { requests: number }).requests, 3);
    const [row] = await srv.store.sql.query<{ status: number; error_code: string | null; latency_ms: number; ttft_ms: number | null }>(
      "SELECT status, error_code, latency_ms, ttft_ms FROM usage_records WHERE request_id = 'req-1'",
    );
    assert.deepEqual({ ...row }, { status: 200, error_code: null, latency_ms: 812, ttft_ms: 120 });
    const budget = await call(srv.url, 'GET', '/budgets/tiny');
    const current = budget.body.current_period as { spent_usd: number; in_flight_usd: number };
    assert.equal(current.in_flight_usd, 0);
    assert.ok(Math.abs(current.spent_usd - cost) < 1e-6);
  });

  it('validates spend report arguments', async () => {
    const bad = await call(srv.url, 'GET', '/spend?group_by=colour');
    assert.equal(bad.status, 400);
    assert.equal((bad.body.error as { param: string }).param, 'group_by');
    const when = await call(srv.url, 'GET', '/spend?from=last%20week');
    assert.equal((when.body.error as { param: string }).param, 'from');
    const order = await call(srv.url, 'GET', '/spend?from=2026-11-02&to=2026-11-01');
    assert.equal(order.status, 400);
    const iso = await call(srv.url, 'GET', '/spend?from=2020-01-01&to=2020-01-02&group_by=day');
    assert.deepEqual(iso.body.data, []);
    assert.equal(iso.body.from, '2020-01-01T00:00:00.000Z');
  });

  it('serves the self-host vs API report', async () => {
    srv.finops.finish({ requestId: 'req-l', principal: { keyId: 'k2', teamId: null }, model: 'llama', deploymentId: 'llama-a', endpoint: '/v1/chat/completions', usage: { prompt_tokens: 30_000, completion_tokens: 10_000 }, status: 200, latencyMs: 100 });
    const res = await call(srv.url, 'GET', '/reports/self-host-vs-api?model=llama&reference=gpt-4o&window=1h');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.object, 'self_host_vs_api_report');
    assert.equal(res.body.reference_model, 'gpt-4o');
    const self = res.body.self_hosted as { total_tokens: number; gpu_cost_usd: number; usd_per_1m_tokens: number };
    assert.equal(self.total_tokens, 40_000);
    assert.equal(self.gpu_cost_usd, 2.5);
    assert.equal(self.usd_per_1m_tokens, 62.5);
    assert.equal(res.body.cheaper, 'api');
    const missing = await call(srv.url, 'GET', '/reports/self-host-vs-api?model=gpt-4o-mini');
    assert.equal(missing.status, 404);
    const ref = await call(srv.url, 'GET', '/reports/self-host-vs-api?model=llama&reference=nope');
    assert.equal((ref.body.error as { param: string }).param, 'reference');
    const win = await call(srv.url, 'GET', '/reports/self-host-vs-api?model=llama&window=5');
    assert.equal((win.body.error as { param: string }).param, 'window');
  });
});
