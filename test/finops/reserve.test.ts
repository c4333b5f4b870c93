// What createFinops reserves for a request: the max_tokens it assumes is the one the upstream is
// told (only when a budget applies and the request costs something), fallback models and every
// price bucket are covered, and the ledger records what was reserved next to what was spent.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalRequest } from '../../src/api/canonical.ts';
import { call, startFinopsServer, type FinopsServer } from './admin-server.ts';

const MODELS = [
  { name: 'cheap', deployments: [{ provider: 'openai', id: 'cheap-0' }], fallbacks: ['dear'] },
  { name: 'dear', deployments: [{ provider: 'openai', id: 'dear-0' }] },
  { name: 'free', deployments: [{ provider: 'openai-compatible', id: 'free-0' }] },
];

let srv: FinopsServer;
before(async () => {
  srv = await startFinopsServer({
    models: MODELS,
    finops: {
      prices: {
        cheap: { input_per_1m: 1, output_per_1m: 2 },
        dear: { input_per_1m: 10, output_per_1m: 20 },
        // A cached rate above the input rate is odd but possible in config: the bound takes the dearest.
        odd: { input_per_1m: 1, cached_input_per_1m: 3, output_per_1m: 1 },
      },
      budget_enforcement: { default_max_output_tokens: 300, template_tokens_per_request: 0, template_tokens_per_message: 0 },
    },
  });
  await call(srv.url, 'POST', '/budgets', { id: 'key-budget', scope: 'key', scope_id: 'budgeted', period: 'monthly', limit_usd: 100 });
});
after(async () => {
  await srv.close();
});

const budgeted = { keyId: 'budgeted', teamId: null };
const unbudgeted = { keyId: 'other', teamId: null };

function request(kind: 'chat' | 'completion' | 'embedding', model: string, params: CanonicalRequest['params'] = {}): CanonicalRequest {
  const text = 'x'.repeat(96);
  return {
    kind,
    model,
    stream: false,
    includeUsage: false,
    ...(kind === 'chat' ? { messages: [{ role: 'user' as const, content: text }] } : kind === 'completion' ? { prompt: text } : { input: [text] }),
    params,
    extra: {},
    meta: { requestId: `req-${kind}-${model}`, edge: 'openai' },
  };
}

describe('reserve', () => {
  it('tells the upstream the max_tokens it reserved for when the client sent none', async () => {
    const c = request('chat', 'cheap');
    const r = await srv.finops.reserve(budgeted, c);
    assert.equal(c.params.max_tokens, 300, 'chat: default_max_output_tokens');
    const p = request('completion', 'cheap');
    await srv.finops.reserve(budgeted, p);
    assert.equal(p.params.max_tokens, 16, "completions: the OpenAI API's own default");
    const explicit = request('chat', 'cheap', { max_tokens: 7 });
    await srv.finops.reserve(budgeted, explicit);
    assert.equal(explicit.params.max_tokens, 7);
    const e = request('embedding', 'cheap');
    await srv.finops.reserve(budgeted, e);
    assert.equal(e.params.max_tokens, undefined);
    await srv.finops.budgets.settle(r, 0);
  });

  it('leaves the request alone when no budget applies or it costs nothing', async () => {
    const other = request('chat', 'cheap');
    await srv.finops.reserve(unbudgeted, other);
    assert.equal(other.params.max_tokens, undefined);
    const free = request('chat', 'free');
    const r = await srv.finops.reserve(budgeted, free);
    assert.equal(free.params.max_tokens, undefined);
    assert.equal(r.reservedMicros, 0);
  });

  it('prices the bound at the dearest of the model and its fallbacks, and at the dearest input bucket', () => {
    // 4 role + 96 text bytes = 100 prompt tokens; 10 output tokens.
    assert.equal(srv.finops.maxCostOf(request('chat', 'cheap', { max_tokens: 10 })), (100 * 10 + 10 * 20) / 1e6, 'billed at the fallback when it serves');
    assert.equal(srv.finops.maxCostOf(request('chat', 'dear', { max_tokens: 10 })), (100 * 10 + 10 * 20) / 1e6);
    assert.equal(srv.finops.maxCostOf(request('chat', 'odd', { max_tokens: 10 })), (100 * 3 + 10 * 1) / 1e6);
  });

  it('records in the ledger what was reserved next to what it cost', async () => {
    const req = request('chat', 'dear', { max_tokens: 10 });
    const r = await srv.finops.reserve(budgeted, req);
    srv.finops.finish({ reservation: r, requestId: 'req-reserved', principal: budgeted, model: 'dear', deploymentId: 'dear-0', endpoint: '/v1/chat/completions', usage: { prompt_tokens: 20, completion_tokens: 5 }, status: 200, latencyMs: 10 });
    const none = await srv.finops.reserve(unbudgeted, request('chat', 'dear', { max_tokens: 10 }));
    srv.finops.finish({ reservation: none, requestId: 'req-unbudgeted', principal: unbudgeted, model: 'dear', deploymentId: 'dear-0', endpoint: '/v1/chat/completions', usage: { prompt_tokens: 20, completion_tokens: 5 }, status: 200, latencyMs: 10 });
    await srv.finops.recorder.flush();
    const rows = await srv.store.sql.query<{ request_id: string; cost_usd: number; reserved_usd: number | null }>(
      "SELECT request_id, cost_usd, reserved_usd FROM usage_records WHERE request_id IN ('req-reserved', 'req-unbudgeted') ORDER BY request_id",
    );
    assert.deepEqual(rows.map((x) => ({ ...x })), [
      { request_id: 'req-reserved', cost_usd: (20 * 10 + 5 * 20) / 1e6, reserved_usd: 0.0012 },
      { request_id: 'req-unbudgeted', cost_usd: (20 * 10 + 5 * 20) / 1e6, reserved_usd: null },
    ]);
  });
});
