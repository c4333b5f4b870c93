// The FinOps stages: the budget stage reserves before the rest of the pipeline runs and refuses
// with 429 before any upstream call; the ledger stage settles and records when the request ends.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { CanonicalRequest } from '../../src/api/canonical.ts';
import { GatewayError } from '../../src/api/errors.ts';
import type { CanonicalChunk } from '../../src/api/canonical.ts';
import { budgetStage, ledgerStage, RESERVATION } from '../../src/finops/index.ts';
import { createKernel, RequestContext, respondWithStream, type Stage } from '../../src/pipeline/index.ts';
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
    meta: { requestId: 'req', edge: 'openai' },
  };
  const c = new RequestContext({
    edge: { name: 'openai' } as RequestContext['edge'],
    kind: 'chat',
    endpoint: '/v1/chat/completions',
    headers: {},
    rawBody: Buffer.alloc(0),
    requestId: `req-${Math.random()}`,
    signal: new AbortController().signal,
    priority: 5,
    startedAt: performance.now() - 250,
    principal: { keyId: 'k1', teamId: 't1', isMaster: false },
  });
  c.request = request;
  c.served = { model: 'gpt-4o', deploymentId: 'oai' };
  c.firstTokenAt = performance.now() - 200;
  return c;
}

/** A fake upstream answering with a stream that reports this usage once read. */
function streamingUpstream(onCall: () => void): Stage {
  return async (c) => {
    onCall();
    async function* chunks(): AsyncGenerator<CanonicalChunk> {
      yield { type: 'delta', index: 0, text: 'hi' };
      yield { type: 'usage', usage: { prompt_tokens: 100, completion_tokens: 10 } };
    }
    respondWithStream(c, chunks());
  };
}

async function readToEnd(c: RequestContext): Promise<void> {
  if (c.result?.type !== 'stream') throw new Error('not a stream');
  for await (const _chunk of c.result.stream);
}

describe('finops stages', () => {
  it('reserves in the budget stage, refuses before the upstream when over budget, settles and records when the request ends', async () => {
    let calls = 0;
    const kernel = createKernel([ledgerStage(srv.finops), budgetStage(srv.finops), streamingUpstream(() => (calls += 1))]);
    // Max cost: 100 x $2.50 + 100 x $10 per 1M = $0.00125; four fit in $0.005, the fifth does not.
    const held: RequestContext[] = [];
    for (let i = 0; i < 4; i++) {
      const c = ctx();
      await kernel.run(c);
      assert.ok(c.get(RESERVATION));
      held.push(c);
    }
    const refused = ctx();
    await assert.rejects(kernel.run(refused), (e: unknown) => e instanceof GatewayError && e.status === 429 && e.code === 'budget_exceeded');
    assert.equal(calls, 4, 'no upstream call after a refusal');
    for (const c of held) await readToEnd(c);
    const budget = (await srv.finops.stores.budgets.get('k'))!;
    const deadline = Date.now() + 2_000;
    while ((await srv.finops.budgets.status(budget)).inFlightUsd > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
    await kernel.run(ctx()); // room again after settling to the real cost
    await srv.finops.recorder.flush();
    const rows = await srv.store.sql.query<{ request_id: string; latency_ms: number; ttft_ms: number; deployment: string; team_id: string; status: number; cost_usd: number }>(
      'SELECT request_id, latency_ms, ttft_ms, deployment, team_id, status, cost_usd FROM usage_records',
    );
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    for (const c of held) {
      const row = byId.get(c.requestId)!;
      assert.ok(Math.abs(row.cost_usd - (100 * 2.5 + 10 * 10) / 1e6) < 1e-12, 'costed at the real usage');
      assert.ok(row.latency_ms >= 250 && row.latency_ms < 5000, `latency ${row.latency_ms}`);
      assert.ok(row.ttft_ms >= 50 && row.ttft_ms < 5000);
      assert.equal(row.deployment, 'oai');
      assert.equal(row.team_id, 't1');
    }
    assert.equal(byId.get(refused.requestId)?.status, 429, 'the refusal is in the ledger too');
  });
});
