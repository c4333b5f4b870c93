// The resolve-model stage with a fake rest of the pipeline: it puts the model's pool in its slot
// and hands over, or answers 404 in the endpoint's error shape, naming only what the client sent.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalRequest } from '../../../src/api/canonical.ts';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import { openAIEdge } from '../../../src/api/openai/index.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { RequestContext, type ContextInit } from '../../../src/pipeline/index.ts';
import { createModelRegistry } from '../../../src/routing/registry.ts';
import { POOL, resolveModel } from '../../../src/routing/stages/resolve-model.ts';
import { RequestCancel } from '../../../src/util/cancel-signal.ts';
import { runStage } from '../../support/pipeline.ts';

const registry = createModelRegistry(
  validateConfig(
    { models: [{ name: 'llama-secret-internal', deployments: [{ provider: 'openai-compatible', url: 'http://10.1.2.3:8000/v1' }] }] },
    'test',
    {},
  ).models,
);
after(() => registry.close());

function context(model: string, edge: ContextInit['edge'] = openAIEdge): RequestContext {
  const ctx = new RequestContext({
    edge,
    kind: 'chat',
    endpoint: '/v1/chat/completions',
    headers: {},
    rawBody: Buffer.from('{}'),
    requestId: 'req-1',
    signal: new RequestCancel(),
    priority: 5,
    startedAt: 0,
  });
  const request: CanonicalRequest = { kind: 'chat', model, stream: false, includeUsage: false, messages: [{ role: 'user', content: 'hi' }], params: {}, extra: {}, meta: { requestId: 'req-1', edge: 'openai' } };
  ctx.request = request;
  return ctx;
}

describe('resolve-model stage', () => {
  it("puts the model's pool in its slot, then hands over", async () => {
    const ctx = context('llama-secret-internal');
    let seen: unknown;
    await runStage(ctx, resolveModel(registry), async () => {
      seen = ctx.get(POOL);
      ctx.result = { type: 'json', response: { kind: 'chat', id: 'x', created: 0, upstreamModel: 'm', choices: [], usage: { prompt_tokens: 0, completion_tokens: 0 } } };
    });
    assert.equal(seen, registry.get('llama-secret-internal'));
  });

  it('answers 404 model_not_found for an unknown model without calling the rest, in either edge shape', async () => {
    for (const edge of [openAIEdge, anthropicEdge]) {
      const ctx = context('gpt-5-turbo', edge);
      let called = false;
      const err = await runStage(ctx, resolveModel(registry), async () => {
        called = true;
      }).then(
        () => assert.fail('expected a 404'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof GatewayError);
      assert.equal(called, false);
      assert.equal(ctx.get(POOL), undefined);
      assert.equal(err.status, 404);
      assert.equal(ctx.end?.status, 404, 'the request ends with it');
      const body = JSON.stringify(edge.renderError(err));
      assert.match(body, /The model `gpt-5-turbo` does not exist or you do not have access to it\. List available models with GET \/v1\/models\./);
      assert.doesNotMatch(body, /llama-secret-internal|10\.1\.2\.3/, 'never names configured models or upstreams');
      if (edge === openAIEdge) assert.deepEqual(JSON.parse(body).error, { message: err.message, type: 'not_found_error', param: 'model', code: 'model_not_found' });
      else assert.deepEqual(JSON.parse(body), { type: 'error', error: { type: 'not_found_error', message: err.message } });
    }
  });
});
