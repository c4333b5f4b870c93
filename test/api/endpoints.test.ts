// The endpoint table and the edge registry are the one definition their readers share: the server's
// route matching and error shapes, batch's accepted urls and the kind and edge of an item, and the
// CLI's list of batch targets and its guess from a bare body.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalEmbeddingResponse } from '../../src/api/canonical.ts';
import { DEFAULT_EDGE, EDGES, edgeForPath } from '../../src/api/edges.ts';
import { BATCHABLE_PATHS, batchableEndpointOf, ENDPOINTS, endpointAt } from '../../src/api/endpoints.ts';
import { parseBody } from '../../src/api/parse.ts';
import { BatchExecutor } from '../../src/batch/executor.ts';
import { parseBatchLine } from '../../src/batch/files/jsonl.ts';
import type { BatchRecord, ClaimedItem } from '../../src/batch/types.ts';
import { normaliseLine } from '../../src/cli/batch-input.ts';
import { createKernel, type Stage } from '../../src/pipeline/index.ts';
import { matchRoute } from '../../src/server/routes.ts';

describe('the edge registry', () => {
  it('registers every edge under its own name', () => {
    for (const [name, edge] of Object.entries(EDGES)) assert.equal(edge.name, name);
  });

  it('names the edge of every endpoint', () => {
    for (const e of ENDPOINTS) assert.ok(e.edge in EDGES, `${e.path}: edge ${e.edge} is not registered`);
  });
});

describe('the server routes by the table', () => {
  it('answers every endpoint with POST, its kind and its edge', () => {
    for (const e of ENDPOINTS) {
      for (const path of [e.path, `${e.path}/`]) {
        const match = matchRoute('POST', path);
        assert.ok(match.found && match.route.type === 'inference', path);
        assert.equal(match.route.kind, e.kind);
        assert.equal(match.route.edge, EDGES[e.edge]);
      }
      assert.deepEqual(matchRoute('GET', e.path), { found: false, allow: 'POST' });
    }
  });

  it('answers a path under an endpoint, or with a query, in that endpoint edge shape; other paths in the default', () => {
    assert.equal(edgeForPath('/v1/messages'), EDGES.anthropic);
    assert.equal(edgeForPath('/v1/messages?beta=true'), EDGES.anthropic);
    assert.equal(edgeForPath('/v1/messages/count_tokens'), EDGES.anthropic);
    assert.equal(edgeForPath('/v1/chat/completions'), EDGES.openai);
    assert.equal(edgeForPath('/v1/files'), DEFAULT_EDGE);
    assert.equal(edgeForPath('/v1/messagesx'), DEFAULT_EDGE, 'a path merely starting with the same letters is not under it');
    assert.equal(edgeForPath('/'), DEFAULT_EDGE);
  });
});

describe('batch reads the table', () => {
  const line = (url: string) => JSON.stringify({ custom_id: 'a', method: 'POST', url, body: { model: 'm', input: 'x' } });

  it('accepts exactly the batchable endpoints as line urls', () => {
    assert.deepEqual(BATCHABLE_PATHS, ENDPOINTS.filter((e) => e.batchable).map((e) => e.path));
    for (const path of BATCHABLE_PATHS) assert.equal(typeof parseBatchLine(line(path)), 'object', path);
    for (const e of ENDPOINTS.filter((r) => !r.batchable)) {
      assert.equal(parseBatchLine(line(e.path)), `url must be one of ${BATCHABLE_PATHS.join(', ')}`);
    }
  });

  it('runs each item as its endpoint kind and answers in its edge', async () => {
    const seen: { kind: string; edge: string }[] = [];
    const upstream: Stage = async (ctx) => {
      seen.push({ kind: ctx.kind, edge: ctx.edge.name });
      const response: CanonicalEmbeddingResponse = { kind: 'embedding', upstreamModel: 'up', data: [{ index: 0, embedding: [0.5] }], usage: { prompt_tokens: 1, completion_tokens: 0 } };
      ctx.result = { type: 'json', response };
    };
    const executor = new BatchExecutor({ pipeline: createKernel([parseBody, upstream]), maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 } });
    const item: ClaimedItem = { id: 'item-1', batchId: 'b', customId: 'a', model: 'm', body: JSON.stringify({ model: 'm', input: 'x' }), attempts: 1, history: [], leaseToken: 't' };
    const batch = { endpoint: '/v1/embeddings', owner: { keyId: 'k', teamId: null, keyName: null } } as BatchRecord;
    const outcome = await executor.execute(item, batch, new AbortController().signal);
    assert.equal(outcome.state, 'succeeded', outcome.errorMessage ?? '');
    assert.deepEqual(seen, [{ kind: 'embedding', edge: 'openai' }]);
    assert.equal((JSON.parse(outcome.response!) as { object: string }).object, 'list', 'rendered as an OpenAI embeddings list');
  });
});

describe('the CLI reads the table', () => {
  it('guesses a bare body endpoint from the field its requests require', () => {
    for (const path of BATCHABLE_PATHS) {
      const field = endpointAt(path)!.requiredField;
      assert.equal(batchableEndpointOf({ model: 'm', [field]: 'x' }), path);
      const wrapped = normaliseLine(JSON.stringify({ model: 'm', [field]: 'x' }), 3, {});
      assert.ok(wrapped.kind === 'request');
      assert.equal(wrapped.url, path);
    }
    assert.equal(batchableEndpointOf({ model: 'm' }), undefined);
    assert.equal(batchableEndpointOf({ messages: [], prompt: 'x' }), '/v1/chat/completions', 'the first row wins');
  });
});
