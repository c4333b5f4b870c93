// The limit stage: RPM exact at the window boundary, TPM reserve and settle, concurrency released
// however a request ends, team limits shared by keys, allowlists, headers, counter-store failures.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/api/errors.ts';
import type { RequestContext } from '../../src/pipeline/index.ts';
import { runStage } from '../support/pipeline.ts';
import { MemoryCounterStore, RedisCounterStore, type CounterStore } from '../../src/store/counters/index.ts';
import { KeysService } from '../../src/tenancy/keys.ts';
import { RateLimiter, type LimitDeps } from '../../src/tenancy/limits.ts';
import { formatResetDuration, retryAfterSeconds } from '../../src/tenancy/rate-limit-headers.ts';
import { ANONYMOUS, MASTER, type Principal } from '../../src/tenancy/principal.ts';
import type { NewKeyInput } from '../../src/tenancy/keys.ts';
import { chatRequest, fakeContext, jsonAnswer, readStream, sqliteTenancy, streamAnswer } from './support/fixtures.ts';
import { REDIS_URL, dropPrefix, requireRedis, uniquePrefix } from './support/redis.ts';

/** The x-ratelimit-* headers the limit stage added to the response (none when no limit applied). */
const rateLimitHeadersOf = (ctx: RequestContext): Record<string, string> => ({ ...ctx.responseHeaders });

const T0 = 1_800_000_000_000; // a minute boundary (divisible by 60 000)

async function setup(options: { counters?: CounterStore; limiter?: Partial<LimitDeps> } = {}) {
  const { opened, store } = await sqliteTenancy();
  const clock = { now: T0 + 30_000 };
  const counters = options.counters ?? new MemoryCounterStore({ now: () => clock.now });
  const keys = new KeysService({ store });
  const limiter = new RateLimiter({ counters, keys, now: () => clock.now, ...options.limiter });
  const principalFor = async (input: NewKeyInput): Promise<Principal> => {
    const { secret } = await keys.createKey(input);
    return (await keys.authenticateSecret(secret)).principal;
  };
  /** Runs the stage with a JSON answer; returns the context (for headers) or throws the refusal. */
  const call = async (principal: Principal, overrides: Parameters<typeof chatRequest>[0] = {}, usage = { prompt_tokens: 10, completion_tokens: 20 }) => {
    const ctx = fakeContext({ principal, request: chatRequest(overrides) });
    await runStage(ctx, limiter.stage, jsonAnswer(ctx, usage));
    await limiter.drain();
    return ctx;
  };
  const close = async () => {
    await limiter.drain();
    await keys.close();
    await counters.close();
    await opened.close();
  };
  return { store, keys, counters, limiter, clock, principalFor, call, close };
}

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('requests per minute', () => {
  it('admits exactly rpm requests per window and reports OpenAI headers', async () => {
    const s = await setup();
    const p = await s.principalFor({ name: 'ci', rpm: 3 });
    for (const remaining of ['2', '1', '0']) {
      const ctx = await s.call(p);
      const h = rateLimitHeadersOf(ctx);
      assert.equal(h['x-ratelimit-limit-requests'], '3');
      assert.equal(h['x-ratelimit-remaining-requests'], remaining);
      assert.equal(h['x-ratelimit-reset-requests'], '30s');
    }
    s.clock.now = T0 + 59_999;
    const err = await refusal(s.call(p));
    assert.equal(err.status, 429);
    assert.equal(err.kind, 'rate_limit');
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.match(err.message, /key 'ci' \(key_\w+\): 3 requests per minute/);
    assert.deepEqual(err.headers, {
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1ms',
      'retry-after': '1',
    });
    s.clock.now = T0 + 60_000;
    assert.equal(rateLimitHeadersOf(await s.call(p))['x-ratelimit-remaining-requests'], '2', 'a new window at the boundary');
    await s.close();
  });

  it('shares a team limit between its keys, and reports the tighter scope', async () => {
    const s = await setup();
    const team = await s.store.createTeam({ name: 'search', rpm: 2 });
    const a = await s.principalFor({ teamId: team.id, rpm: 100 });
    const b = await s.principalFor({ teamId: team.id });
    const first = rateLimitHeadersOf(await s.call(a));
    assert.equal(first['x-ratelimit-limit-requests'], '2', 'the team is closer to its limit than the key');
    assert.equal(first['x-ratelimit-remaining-requests'], '1');
    await s.call(b);
    const err = await refusal(s.call(a));
    assert.match(err.message, /team 'search'/);
    assert.equal(await s.counters.get(`rl:key:${a.keyId}:rpm`, { windowMs: 60_000 }), 1, 'the refused request consumed nothing');
    await s.close();
  });
});

describe('tokens per minute', () => {
  it('reserves prompt estimate + max_tokens, then settles to the real usage', async () => {
    const s = await setup();
    const p = await s.principalFor({ tpm: 1000 });
    const ctx = fakeContext({ principal: p, request: chatRequest({ params: { max_tokens: 100 } }) });
    const key = `rl:key:${p.keyId}:tpm`;
    await runStage(ctx, s.limiter.stage, async () => {
      assert.equal(await s.counters.get(key, { windowMs: 60_000 }), 110, 'reserved 10 prompt + 100 max_tokens while running');
      await jsonAnswer(ctx, { prompt_tokens: 12, completion_tokens: 30 })();
    });
    const h = rateLimitHeadersOf(ctx);
    assert.equal(h['x-ratelimit-limit-tokens'], '1000');
    assert.equal(h['x-ratelimit-remaining-tokens'], '890');
    assert.equal(h['x-ratelimit-reset-tokens'], '30s');
    await s.limiter.drain();
    assert.equal(await s.counters.get(key, { windowMs: 60_000 }), 42, 'settled to 12 + 30');
    await s.close();
  });

  it('multiplies the completion reservation by n and settles streams from their usage chunk', async () => {
    const s = await setup();
    const p = await s.principalFor({ tpm: 1000 });
    const ctx = fakeContext({ principal: p, request: chatRequest({ stream: true, params: { max_tokens: 50, n: 3 } }) });
    const key = `rl:key:${p.keyId}:tpm`;
    await runStage(ctx, s.limiter.stage, streamAnswer(ctx, { deltas: 4, usage: { prompt_tokens: 10, completion_tokens: 4 } }));
    assert.equal(await s.counters.get(key, { windowMs: 60_000 }), 160, '10 + 3 x 50 held until the stream ends');
    await readStream(ctx);
    await s.limiter.drain();
    assert.equal(await s.counters.get(key, { windowMs: 60_000 }), 14);
    await s.close();
  });

  it('refuses when the reservation does not fit the rest of the window', async () => {
    const s = await setup();
    const p = await s.principalFor({ tpm: 300 });
    await s.call(p, { params: { max_tokens: 200 } }, { prompt_tokens: 10, completion_tokens: 200 });
    const err = await refusal(s.call(p, { params: { max_tokens: 100 } }));
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.match(err.message, /300 tokens per minute \(used 210, this request needs up to 110\)/);
    assert.equal(err.headers['x-ratelimit-remaining-tokens'], '90');
    assert.equal(err.headers['x-ratelimit-reset-tokens'], '30s');
    assert.equal(err.headers['retry-after'], '30');
    await s.close();
  });

  it('says a request is too large when its own max_tokens exceeds the limit, and caps the default reservation', async () => {
    const s = await setup({ limiter: { defaultCompletionReserve: 5000 } });
    const p = await s.principalFor({ tpm: 500 });
    const err = await refusal(s.call(p, { params: { max_tokens: 1000 } }));
    assert.equal(err.status, 429);
    assert.match(err.message, /Request too large .* up to 1010 tokens .* limit of 500/);
    const ctx = await s.call(p, { params: {} }); // no max_tokens: 10 + 5000 reserved, capped at 500
    assert.equal(rateLimitHeadersOf(ctx)['x-ratelimit-remaining-tokens'], '0');
    await s.close();
  });

  it('returns no credit into a new window when the old one rolled over before settling', async () => {
    const s = await setup();
    const p = await s.principalFor({ tpm: 1000 });
    const key = `rl:key:${p.keyId}:tpm`;
    const ctx = fakeContext({ principal: p, request: chatRequest() });
    await runStage(ctx, s.limiter.stage, streamAnswer(ctx, { deltas: 1, usage: { prompt_tokens: 10, completion_tokens: 1 } }));
    s.clock.now = T0 + 60_000 + 5;
    await s.call(p, {}, { prompt_tokens: 10, completion_tokens: 20 }); // 30 in the new window
    await readStream(ctx); // settles 11 against a 110 reservation made in the previous window
    await s.limiter.drain();
    assert.equal(await s.counters.get(key, { windowMs: 60_000 }), 30);
    await s.close();
  });
});

describe('max concurrent', () => {
  async function holdOne(s: Awaited<ReturnType<typeof setup>>, p: Principal, signal?: AbortSignal): Promise<RequestContext> {
    const ctx = fakeContext({ principal: p, request: chatRequest({ stream: true }), signal });
    await runStage(ctx, s.limiter.stage, streamAnswer(ctx, { deltas: 3, usage: { prompt_tokens: 1, completion_tokens: 3 } }));
    return ctx;
  }

  it('holds a slot for the whole stream and releases it when the stream ends', async () => {
    const s = await setup();
    const p = await s.principalFor({ name: 'bot', maxConcurrent: 1 });
    const ctx = await holdOne(s, p);
    const err = await refusal(s.call(p));
    assert.equal(err.code, 'concurrency_limit_exceeded');
    assert.equal(err.headers['retry-after'], '1');
    assert.match(err.message, /key 'bot'.*1 requests in flight/);
    await readStream(ctx);
    await s.limiter.drain();
    await s.call(p); // the slot is free again
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    await s.close();
  });

  it('releases the slot when the stream fails mid-way', async () => {
    const s = await setup();
    const p = await s.principalFor({ maxConcurrent: 1 });
    const ctx = fakeContext({ principal: p, request: chatRequest({ stream: true }) });
    await runStage(ctx, s.limiter.stage, streamAnswer(ctx, { deltas: 2, failAfter: true }));
    await assert.rejects(readStream(ctx), /upstream dropped/);
    await s.limiter.drain();
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    await s.close();
  });

  it('releases the slot when the client stops reading part-way', async () => {
    const s = await setup();
    const p = await s.principalFor({ maxConcurrent: 1, tpm: 10_000 });
    const ctx = await holdOne(s, p);
    await readStream(ctx, 2); // start chunk and one delta, then the reader breaks off
    await s.limiter.drain();
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:tpm`, { windowMs: 60_000 }), 11, 'charged the prompt estimate plus the one token relayed');
    await s.close();
  });

  it('releases the slot when the client disconnects before the stream is read', async () => {
    const s = await setup();
    const p = await s.principalFor({ maxConcurrent: 1 });
    const abort = new AbortController();
    await holdOne(s, p, abort.signal);
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 1);
    abort.abort();
    await new Promise((resolve) => setImmediate(resolve)); // the kernel closes the unread stream, then the request ends
    await s.limiter.drain();
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    await s.close();
  });

  it('releases the slot when the client was already gone as the stream was handed over', async () => {
    const s = await setup();
    const p = await s.principalFor({ maxConcurrent: 1 });
    const abort = new AbortController();
    abort.abort();
    await holdOne(s, p, abort.signal);
    await new Promise((resolve) => setImmediate(resolve));
    await s.limiter.drain();
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    await s.close();
  });

  it('releases the slot and returns the reservation when a later stage fails', async () => {
    const s = await setup();
    const p = await s.principalFor({ maxConcurrent: 1, tpm: 1000 });
    const ctx = fakeContext({ principal: p, request: chatRequest() });
    await assert.rejects(
      runStage(ctx, s.limiter.stage, async () => {
        throw new GatewayError('upstream_unreachable', 'down');
      }),
      /down/,
    );
    await s.limiter.drain();
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:concurrent`), 0);
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:tpm`, { windowMs: 60_000 }), 0);
    await s.close();
  });
});

describe('limit stage', () => {
  it('checks the model allowlist before consuming anything', async () => {
    const s = await setup();
    const p = await s.principalFor({ rpm: 5, models: ['llama-8b'] });
    const err = await refusal(s.call(p, { model: 'gpt-4o' }));
    assert.equal(err.status, 403);
    assert.match(err.message, /'gpt-4o'/);
    assert.equal(await s.counters.get(`rl:key:${p.keyId}:rpm`, { windowMs: 60_000 }), 0);
    await s.close();
  });

  it('leaves the master key, anonymous callers and unlimited keys alone', async () => {
    const s = await setup();
    for (const p of [MASTER, ANONYMOUS, await s.principalFor({})]) {
      const ctx = await s.call(p, { model: 'anything' });
      assert.deepEqual(rateLimitHeadersOf(ctx), {});
    }
    await s.close();
  });

  it('fails open by default when the counter store is down, or closed when asked', async () => {
    const broken: CounterStore = {
      kind: 'redis',
      consume: async () => {
        throw new Error('ECONNREFUSED');
      },
      adjust: async () => 0,
      get: async () => 0,
      reserve: async () => {
        throw new Error('ECONNREFUSED');
      },
      settleReservation: async () => 0,
      reservations: async () => [],
      releaseReservations: async () => [],
      close: async () => {},
    };
    const errors: string[] = [];
    const open = await setup({ counters: broken, limiter: { onError: (_e, during) => errors.push(during) } });
    await open.call(await open.principalFor({ rpm: 1 }));
    assert.deepEqual(errors, ['consume']);
    await open.close();
    const closed = await setup({ counters: broken, limiter: { failOpen: false } });
    const err = await refusal(closed.call(await closed.principalFor({ rpm: 1 })));
    assert.equal(err.status, 503);
    await closed.close();
  });

  it('enforces one RPM across two gateways sharing Redis', async (t) => {
    if (!(await requireRedis(t))) return;
    const prefix = uniquePrefix('limits');
    const { opened, store } = await sqliteTenancy();
    const keys = new KeysService({ store });
    const { secret } = await keys.createKey({ rpm: 5 });
    const principal = (await keys.authenticateSecret(secret)).principal;
    const gateways = [0, 1].map(() => {
      const counters = new RedisCounterStore({ url: REDIS_URL, prefix });
      return { counters, limiter: new RateLimiter({ counters, keys }) };
    });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const { limiter } = gateways[i % 2];
          const ctx = fakeContext({ principal, request: chatRequest() });
          try {
            await runStage(ctx, limiter.stage, jsonAnswer(ctx, { prompt_tokens: 1, completion_tokens: 1 }));
            return 'ok';
          } catch (err) {
            return (err as GatewayError).status;
          }
        }),
      );
      // Both gateways may straddle a minute boundary; then each window admits its own five.
      const admitted = outcomes.filter((o) => o === 'ok').length;
      assert.ok(admitted === 5 || admitted === 10, `admitted ${admitted}`);
      assert.ok(outcomes.every((o) => o === 'ok' || o === 429));
    } finally {
      for (const g of gateways) await g.counters.close();
      await keys.close();
      await opened.close();
      await dropPrefix(prefix);
    }
  });
});

describe('rate-limit header formats', () => {
  it('writes durations the way OpenAI does', () => {
    assert.equal(formatResetDuration(0), '0s');
    assert.equal(formatResetDuration(20), '20ms');
    assert.equal(formatResetDuration(999.2), '1s');
    assert.equal(formatResetDuration(1000), '1s');
    assert.equal(formatResetDuration(8640), '8.64s');
    assert.equal(formatResetDuration(59_500), '59.5s');
    assert.equal(formatResetDuration(60_000), '1m0s');
    assert.equal(formatResetDuration(360_000), '6m0s');
    assert.equal(formatResetDuration(84_560), '1m24.56s');
    assert.equal(formatResetDuration(3_723_000), '1h2m3s');
  });

  it('never asks for a retry sooner than one second', () => {
    assert.equal(retryAfterSeconds(1), '1');
    assert.equal(retryAfterSeconds(1001), '2');
    assert.equal(retryAfterSeconds(30_000), '30');
  });
});
