// The pipeline touch points: the budget stage reserves before the rest of the pipeline runs and
// refuses with 429 before any upstream call; requestEnded settles and records from the context.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { CanonicalRequest } from '../../src/api/canonical.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { budgetStage, requestEnded, reservationOf } from '../../src/finops/index.ts';
import type { RequestContext } from '../../src/server/context.ts';
import { call, startFinopsServer, type FinopsServer } from './admin-server.ts';

let srv: FinopsServer;
before(async () => {
  srv = await startFinopsServer({ models: [{ name: 'gpt-4o', deployments: [{ provider: 'openai', id: 'oai' }] }], finops: { budget_enforcement: { default_max_output_tokens: 100, template_tokens_per_request: 0, template_tokens_per_message: 0 } } });
  await call(srv.url, 'POST', '/budgets', { id: 'k', scope: 'key', scope_id: 'k1', period: 'monthly', limit_usd: 0.005 });
});
after(async () => {
  await srv.close();
});

function ctx(): RequestContext {
  const request: CanonicalRequest = {
    kind: 'chat',
    model: 'gpt-4o',
    stream: true,
    includeUsage: true,
    messages: [{ role: 'user', content: 'y'.repeat(96) }], // 4 role + 96 text bytes = 100 prompt tokens at most
    params: {},
    extra: {},
    meta: { requestId: 'req', priority: 5, edge: 'openai' },
  };
  return {
    kind: 'chat',
    endpoint: '/v1/chat/completions',
    requestId: `req-${Math.random()}`,
    startedAt: performance.now() - 250,
    principal: { keyId: 'k1', teamId: 't1', isMaster: false },
    request,
    deployment: { id: 'oai', modelName: 'gpt-4o' },
    attempts: 1,
    firstTokenAt: performance.now() - 200,
  } as unknown as RequestContext;
}

describe('pipeline touch points', () => {
  it('reserves in the stage, refuses before next() when over budget, settles from the end hook', async () => {
    const stage = budgetStage(srv.finops);
    // Max cost: 100 x $2.50 + 100 x $10 per 1M = $0.00125; four fit in $0.005, the fifth does not.
    const held: RequestContext[] = [];
    for (let i = 0; i < 4; i++) {
      const c = ctx();
      await stage(c, async () => {});
      assert.ok(reservationOf(c));
      held.push(c);
    }
    let called = false;
    await assert.rejects(stage(ctx(), async () => void (called = true)), (e: unknown) => e instanceof GatewayError && e.status === 429 && e.code === 'budget_exceeded');
    assert.equal(called, false, 'no upstream call after a refusal');
    for (const c of held) {
      const cost = requestEnded(srv.finops, c, 200, { prompt_tokens: 100, completion_tokens: 10 });
      assert.ok(Math.abs(cost - (100 * 2.5 + 10 * 10) / 1e6) < 1e-12);
      assert.equal(reservationOf(c), undefined);
    }
    const budget = (await srv.finops.stores.budgets.get('k'))!;
    const deadline = Date.now() + 2_000;
    while ((await srv.finops.budgets.status(budget)).inFlightUsd > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    await stage(ctx(), async () => {}); // room again after settling to the real cost
    const [row] = await (async () => {
      await srv.finops.recorder.flush();
      return srv.store.sql.query<{ latency_ms: number; ttft_ms: number; deployment: string; team_id: string }>('SELECT latency_ms, ttft_ms, deployment, team_id FROM usage_records LIMIT 1');
    })();
    assert.ok(row.latency_ms >= 250 && row.latency_ms < 1000, `latency ${row.latency_ms}`);
    assert.ok(row.ttft_ms >= 50 && row.ttft_ms < 1000);
    assert.equal(row.deployment, 'oai');
    assert.equal(row.team_id, 't1');
  });
});
