// The request kernel with fake stages and a fake upstream: stage order, the next()-twice guard,
// slots, headers, and the lifecycle firing exactly once for every way a request can end.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalChunk, CanonicalRequest, CanonicalResponse } from '../../src/api/canonical.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { openAIEdge } from '../../src/api/openai/index.ts';
import { createKernel, NextCalledTwiceError, respondWithStream, Slot, type RequestContext, type RequestEnd, type Stage } from '../../src/pipeline/index.ts';
import { RequestCancel } from '../../src/util/cancel-signal.ts';

const request = (): CanonicalRequest => ({
  kind: 'chat',
  model: 'm',
  stream: true,
  includeUsage: false,
  messages: [{ role: 'user', content: 'hello there' }],
  params: {},
  extra: {},
  meta: { requestId: 'r', edge: 'openai' },
});

const response = (): CanonicalResponse => ({
  kind: 'chat',
  id: 'x',
  created: 0,
  upstreamModel: 'm',
  choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 2 },
});

const chunks = (): CanonicalChunk[] => [
  { type: 'start', id: 's', created: 0, upstreamModel: 'm' },
  { type: 'delta', index: 0, role: 'assistant', text: 'a' },
  { type: 'delta', index: 0, text: 'b' },
  { type: 'delta', index: 0, finish_reason: 'stop' },
  { type: 'usage', usage: { prompt_tokens: 9, completion_tokens: 2 } },
];

/** A fake upstream stream: yields `items`, then throws `failAfter` if given. */
async function* upstream(items: CanonicalChunk[], failAfter?: Error): AsyncGenerator<CanonicalChunk> {
  for (const c of items) yield c;
  if (failAfter) throw failAfter;
}

/** A kernel over `stages`, behind a first stage that sets the request and records every end, as a meter would. */
function withObserver(stages: Stage[]) {
  const reported: unknown[] = [];
  const ends: RequestEnd[] = [];
  const observe: Stage = async (c, next) => {
    c.request = request();
    c.onEnd((e) => ends.push(e));
    await next();
  };
  const kernel = createKernel([observe, ...stages], { reportError: (err) => reported.push(err) });
  const cancel = new RequestCancel();
  const ctx = kernel.context({
    edge: openAIEdge,
    kind: 'chat',
    endpoint: '/v1/chat/completions',
    headers: {},
    rawBody: Buffer.from('{}'),
    requestId: 'req-1',
    signal: cancel,
    priority: 5,
    startedAt: 0,
  });
  return { run: () => kernel.run(ctx), ctx, cancel, ends, reported };
}

async function readAll(ctx: RequestContext): Promise<CanonicalChunk[]> {
  assert.equal(ctx.result?.type, 'stream');
  const out: CanonicalChunk[] = [];
  for await (const c of (ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream) out.push(c);
  return out;
}

const jsonUpstream: Stage = async (ctx) => {
  ctx.attempts += 1;
  ctx.result = { type: 'json', response: response() };
};
const streamUpstream = (failAfter?: Error): Stage =>
  async (ctx) => {
    ctx.attempts += 1;
    const source = upstream(chunks().slice(0, failAfter ? 3 : 5), failAfter);
    // Prime up to the first token, as routing does.
    const readAhead = [(await source.next()).value as CanonicalChunk, (await source.next()).value as CanonicalChunk];
    respondWithStream(ctx, source, readAhead);
  };

describe('compose', () => {
  it('runs stages in order, each around the ones after it', async () => {
    const trace: string[] = [];
    const stage = (name: string): Stage => async (_ctx, next) => {
      trace.push(`${name}>`);
      await next();
      trace.push(`<${name}`);
    };
    const h = withObserver([stage('a'), stage('b'), jsonUpstream]);
    await h.run();
    assert.deepEqual(trace, ['a>', 'b>', '<b', '<a']);
  });

  it('refuses a second next(): the upstream is never called twice', async () => {
    let calls = 0;
    const twice: Stage = async (_ctx, next) => {
      await next();
      await next();
    };
    const counting: Stage = async (ctx) => {
      calls += 1;
      ctx.result = { type: 'json', response: response() };
    };
    const h = withObserver([twice, counting]);
    await assert.rejects(h.run(), NextCalledTwiceError);
    assert.equal(calls, 1);
    assert.equal(h.ends.length, 1, 'the request still ends exactly once');
    assert.equal(h.ends[0].ending, 'error');
    assert.equal(h.ends[0].status, 500);
  });
});

describe('the lifecycle fires once per ending', () => {
  it('JSON result: status 200 and the upstream usage', async () => {
    const h = withObserver([jsonUpstream]);
    await h.run();
    assert.equal(h.ends.length, 1);
    assert.deepEqual(h.ends[0], { ending: 'json', status: 200, errorCode: undefined, error: undefined, cause: undefined, clientGone: false, usage: { prompt_tokens: 7, completion_tokens: 2 }, usageEstimated: false, relayed: 0 });
  });

  it('stream read to its end: once, after the last chunk, with the stream usage', async () => {
    const h = withObserver([streamUpstream()]);
    await h.run();
    assert.equal(h.ends.length, 0, 'not before the stream is read');
    const seen: string[] = [];
    h.ctx.onChunk((c) => seen.push(c.type));
    const got = await readAll(h.ctx);
    assert.equal(got.length, 5);
    assert.deepEqual(seen, ['start', 'delta', 'delta', 'delta', 'usage'], 'onChunk sees every relayed chunk');
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].ending, 'stream_completed');
    assert.equal(h.ends[0].status, 200);
    assert.deepEqual(h.ends[0].usage, { prompt_tokens: 9, completion_tokens: 2 });
    assert.equal(h.ends[0].relayed, 2);
    assert.ok(h.ctx.firstTokenAt !== undefined);
  });

  it('stream cut short by the upstream: once, with its status and the cut-short estimate', async () => {
    const lost = new GatewayError('upstream_error', 'lost', { code: 'upstream_connection_lost' });
    const h = withObserver([streamUpstream(lost)]);
    await h.run();
    await assert.rejects(readAll(h.ctx), /lost/);
    assert.equal(h.ends.length, 1);
    const end = h.ends[0];
    assert.equal(end.ending, 'stream_failed');
    assert.equal(end.status, 502);
    assert.equal(end.errorCode, 'upstream_connection_lost');
    assert.equal(end.usageEstimated, true);
    assert.equal(end.usage?.completion_tokens, 2, 'the two text chunks relayed');
    assert.ok((end.usage?.prompt_tokens ?? 0) > 0, 'the prompt estimate');
  });

  it('client gone before the stream was read: once, 499, and the source is closed', async () => {
    let closed = false;
    const source: Stage = async (ctx) => {
      const gen = upstream(chunks());
      respondWithStream(ctx, {
        next: () => gen.next(),
        return: async () => {
          closed = true;
          return gen.return(undefined);
        },
      });
    };
    const h = withObserver([source]);
    await h.run();
    h.cancel.abort(new Error('client disconnected'));
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, true);
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].ending, 'stream_abandoned');
    assert.equal(h.ends[0].status, 499);
    assert.equal(h.ends[0].errorCode, 'client_disconnected');
    // Reading afterwards neither ends it again nor yields anything.
    assert.deepEqual(await readAll(h.ctx), []);
    assert.equal(h.ends.length, 1);
  });

  it('client already gone when the stream is handed over: once, 499', async () => {
    const h = withObserver([
      async (ctx, next) => {
        (ctx.signal as RequestCancel).abort(new Error('gone'));
        await next();
      },
      streamUpstream(),
    ]);
    await h.run();
    await new Promise((r) => setImmediate(r));
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].status, 499);
  });

  it('client gone while reading: the reader returns, once, 499', async () => {
    const h = withObserver([streamUpstream()]);
    await h.run();
    const it = (h.ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream[Symbol.asyncIterator]();
    await it.next();
    h.cancel.abort(new Error('client disconnected'));
    await it.return?.();
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].ending, 'stream_abandoned');
    assert.equal(h.ends[0].status, 499);
  });

  it('error before the upstream call: once, the error status, no usage', async () => {
    const refuse: Stage = async () => {
      throw new GatewayError('rate_limit', 'slow down', { code: 'rate_limit_exceeded' });
    };
    const h = withObserver([refuse, jsonUpstream]);
    await assert.rejects(h.run(), /slow down/);
    assert.equal(h.ends.length, 1);
    assert.deepEqual([h.ends[0].ending, h.ends[0].status, h.ends[0].errorCode, h.ends[0].usage], ['error', 429, 'rate_limit_exceeded', undefined]);
    assert.equal(h.ctx.attempts, 0);
  });

  it('error after the upstream call: once, the error status', async () => {
    const failAfter: Stage = async (_ctx, next) => {
      await next();
      throw new GatewayError('internal', 'rendering failed');
    };
    const h = withObserver([failAfter, jsonUpstream]);
    await assert.rejects(h.run(), /rendering failed/);
    assert.equal(h.ctx.attempts, 1);
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].status, 500);
  });

  it('a pipeline that produces nothing ends with an internal error, once', async () => {
    const h = withObserver([async () => {}]);
    await assert.rejects(h.run(), /produced no response/);
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].status, 500);
  });

  it('a raw stream set by a stage is wrapped, so its end still ends the request', async () => {
    const h = withObserver([async (ctx) => void (ctx.result = { type: 'stream', stream: upstream(chunks()) })]);
    await h.run();
    assert.equal((await readAll(h.ctx)).length, 5);
    assert.equal(h.ends.length, 1);
    assert.equal(h.ends[0].ending, 'stream_completed');
  });
});

describe('context', () => {
  it('a throwing end handler is reported, and the others still run', async () => {
    const h = withObserver([
      async (ctx, next) => {
        ctx.onEnd(() => {
          throw new Error('ledger down');
        });
        await next();
      },
      jsonUpstream,
    ]);
    let after = 0;
    h.ctx.onEnd(() => (after += 1));
    await h.run();
    assert.equal(h.ends.length, 1);
    assert.equal(after, 1);
    assert.deepEqual(h.reported.map((e) => (e as Error).message), ['ledger down']);
  });

  it('a handler registered after the end runs at once', async () => {
    const h = withObserver([jsonUpstream]);
    await h.run();
    let late: RequestEnd | undefined;
    h.ctx.onEnd((e) => (late = e));
    assert.equal(late?.status, 200);
  });

  it('slots are per context and typed; response headers travel with it', async () => {
    const lease = new Slot<{ tokens: number }>('lease');
    const other = new Slot<string>('other');
    const a = withObserver([jsonUpstream]);
    const b = withObserver([jsonUpstream]);
    a.ctx.set(lease, { tokens: 3 });
    assert.deepEqual(a.ctx.get(lease), { tokens: 3 });
    assert.equal(a.ctx.get(other), undefined);
    assert.equal(b.ctx.get(lease), undefined);
    assert.equal(a.ctx.responseHeaders, undefined);
    a.ctx.setResponseHeader('x-ratelimit-limit-requests', '10');
    assert.deepEqual(a.ctx.responseHeaders, { 'x-ratelimit-limit-requests': '10' });
  });
});
