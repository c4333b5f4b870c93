// The parse stage with a fake next(): the priority header, the body parsed once into the canonical
// request of the caller's edge, the model the client asked for, and the 400s for bodies that are
// not JSON or nest too deep.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import type { EndpointKind } from '../../src/api/canonical.ts';
import type { EdgeName } from '../../src/api/edge.ts';
import { EDGES } from '../../src/api/edges.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { MAX_JSON_DEPTH } from '../../src/api/json.ts';
import { parseBody } from '../../src/api/parse.ts';
import { DEFAULT_PRIORITY, LOWEST_PRIORITY } from '../../src/api/priority.ts';
import { RequestContext } from '../../src/pipeline/index.ts';

const CHAT = { model: 'llama-8b', messages: [{ role: 'user', content: 'hi' }] };

function context(options: { body?: unknown; raw?: string; headers?: IncomingHttpHeaders; priority?: number; edge?: EdgeName; kind?: EndpointKind } = {}): RequestContext {
  const raw = options.raw ?? JSON.stringify(options.body ?? CHAT);
  return new RequestContext({
    edge: EDGES[options.edge ?? 'openai'],
    kind: options.kind ?? 'chat',
    endpoint: '/v1/chat/completions',
    headers: options.headers ?? { 'content-type': 'application/json' },
    rawBody: Buffer.from(raw),
    requestId: 'req-1',
    signal: new AbortController().signal,
    priority: options.priority ?? DEFAULT_PRIORITY,
    startedAt: 0,
  });
}

/** Runs the stage with a next() that counts its calls; returns the context and the count. */
async function parse(ctx: RequestContext): Promise<number> {
  let calls = 0;
  await parseBody(ctx, async () => {
    calls += 1;
  });
  return calls;
}

async function refusal(ctx: RequestContext): Promise<GatewayError> {
  let reached = false;
  try {
    await parseBody(ctx, async () => {
      reached = true;
    });
  } catch (err) {
    assert.equal(reached, false, 'a refused body never reaches the next stage');
    if (err instanceof GatewayError) return err;
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('parse stage: the body', () => {
  it('sets the canonical request and the model the client asked for, then calls next once', async () => {
    const ctx = context({ body: { ...CHAT, user: 'u-7' } });
    assert.equal(await parse(ctx), 1);
    assert.equal(ctx.request?.kind, 'chat');
    assert.equal(ctx.request?.model, 'llama-8b');
    assert.equal(ctx.request?.meta.requestId, 'req-1');
    assert.equal(ctx.request?.meta.edge, 'openai');
    assert.equal(ctx.request?.meta.user, 'u-7');
    assert.equal(ctx.requestedModel, 'llama-8b');
    assert.equal(ctx.served, undefined, 'what served it is routing business');
  });

  it('parses with the edge and kind of the endpoint', async () => {
    const anthropic = context({ edge: 'anthropic', body: { model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } });
    await parse(anthropic);
    assert.equal(anthropic.request?.meta.edge, 'anthropic');
    assert.equal(anthropic.request?.params.max_tokens, 5);
    assert.equal(anthropic.requestedModel, 'claude');

    const embedding = context({ kind: 'embedding', body: { model: 'embed', input: 'text' } });
    await parse(embedding);
    assert.equal(embedding.request?.kind, 'embedding');
    assert.deepEqual(embedding.request?.input, ['text']);
  });

  it('refuses a body that is not JSON with a 400 naming the problem', async () => {
    const err = await refusal(context({ raw: '{"model": ' }));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_json');
    assert.match(err.message, /^The request body is not valid JSON \(.+\)\.$/);
    assert.match((await refusal(context({ raw: '' }))).message, /the body is empty/);
  });

  it(`refuses JSON nested more than ${MAX_JSON_DEPTH} levels deep`, async () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    const err = await refusal(context({ raw: `{"model":"m","messages":[],"extra":${deep}}` }));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'json_too_deep');
    const atLimit = '['.repeat(MAX_JSON_DEPTH - 2) + ']'.repeat(MAX_JSON_DEPTH - 2);
    assert.notEqual((await refusal(context({ raw: `{"model":"m","x":${atLimit}}` }))).code, 'json_too_deep', 'nesting within the limit passes to the edge checks');
  });

  it("refuses a body the edge's checks refuse, with the field at fault", async () => {
    const err = await refusal(context({ body: { messages: [] } }));
    assert.equal(err.status, 400);
    assert.equal(err.param, 'model');
  });
});

describe('parse stage: the priority', () => {
  it('reads x-switchyard-priority as a number 0-9 or a name', async () => {
    const cases: [string | string[], number][] = [['0', 0], ['9', 9], [' 3 ', 3], ['critical', 0], ['HIGH', 2], ['normal', 5], ['low', 8], ['batch', 9], [['1', '7'], 1]];
    for (const [header, expected] of cases) {
      const ctx = context({ headers: { 'x-switchyard-priority': header } });
      await parse(ctx);
      assert.equal(ctx.priority, expected, JSON.stringify(header));
    }
  });

  it('refuses a priority out of range or unknown with a 400 naming the header', async () => {
    for (const header of ['10', '-1', '2.5', '', 'urgent']) {
      const err = await refusal(context({ headers: { 'x-switchyard-priority': header } }));
      assert.equal(err.status, 400, header);
      assert.equal(err.code, 'invalid_priority');
      assert.equal(err.param, 'x-switchyard-priority');
      assert.match(err.message, /integer 0-9 or one of critical, high, normal, low, batch/);
    }
  });

  it('keeps the priority a context was made with when there is no header (batch items)', async () => {
    const ctx = context({ headers: {}, priority: LOWEST_PRIORITY });
    await parse(ctx);
    assert.equal(ctx.priority, LOWEST_PRIORITY);
    const interactive = context();
    await parse(interactive);
    assert.equal(interactive.priority, DEFAULT_PRIORITY);
  });
});
