import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalChunk } from '../../src/api/canonical.ts';
import type { RequestContext } from '../../src/server/context.ts';
import { observeStream, onStreamEnd, streamStarted, type StreamOutcome } from '../../src/server/stream-end.ts';

function context(): RequestContext {
  return { signal: new AbortController().signal, attempts: 0, startedAt: 0 } as unknown as RequestContext;
}

async function* source(failAfter?: number): AsyncGenerator<CanonicalChunk> {
  yield { type: 'start', id: 's', created: 0, upstreamModel: 'm' };
  for (let i = 0; i < 3; i++) {
    if (failAfter === i) throw new Error('upstream dropped');
    yield { type: 'delta', index: 0, text: 't' };
  }
  yield { type: 'usage', usage: { prompt_tokens: 5, completion_tokens: 3 } };
}

function observed(ctx: RequestContext, failAfter?: number) {
  const it = source(failAfter);
  const outcomes: StreamOutcome[] = [];
  const order: string[] = [];
  onStreamEnd(ctx, (o) => {
    order.push('inner');
    outcomes.push({ ...o });
  });
  const stream = observeStream(ctx, [], it, false);
  onStreamEnd(ctx, () => order.push('outer'));
  return { stream, outcomes, order };
}

describe('stream end observers (one wrapper instead of one generator per stage)', () => {
  it('runs every observer once, in registration order, with usage, on completion', async () => {
    const ctx = context();
    const { stream, outcomes, order } = observed(ctx);
    assert.equal(streamStarted(ctx), false);
    let n = 0;
    for await (const _ of stream) n += 1;
    assert.equal(n, 5);
    assert.equal(streamStarted(ctx), true);
    assert.deepEqual(order, ['inner', 'outer']);
    assert.equal(outcomes[0].completed, true);
    assert.equal(outcomes[0].relayed, 3);
    assert.deepEqual(outcomes[0].usage, { prompt_tokens: 5, completion_tokens: 3 });
    assert.ok(ctx.firstTokenAt !== undefined);
  });

  it('reports a failure with what was relayed, and rethrows it', async () => {
    const ctx = context();
    const { stream, outcomes } = observed(ctx, 2);
    await assert.rejects(async () => {
      for await (const _ of stream);
    }, /upstream dropped/);
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0].failed, true);
    assert.equal(outcomes[0].completed, false);
    assert.equal(outcomes[0].relayed, 2);
    assert.equal(outcomes[0].usage, undefined);
  });

  it('settles once when the reader leaves early', async () => {
    const ctx = context();
    const { stream, outcomes } = observed(ctx);
    for await (const c of stream) if (c.type === 'delta') break;
    await stream.return?.();
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0].completed, false);
    assert.equal(outcomes[0].failed, false);
    assert.equal(outcomes[0].relayed, 1);
  });
});
