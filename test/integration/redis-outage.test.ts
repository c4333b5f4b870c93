// Real gateway processes whose REDIS_URL points at a port where nothing listens, then at a
// redis-server the test starts there, then at nothing again: they start anyway and say what is
// degraded (banner, log, /readyz, each naming REDIS_URL); requests pass (limits fail open) or get a
// clear 503 in the endpoint's shape (fail closed); once Redis is back limits are enforced again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { freePort, requireRedisServer, startRedisServer, type RedisServer } from '../support/redis-server.ts';

const MODEL = 'sim-llama-3.1-8b';
const MASTER = 'sk-master-for-redis-outage';

interface Readiness {
  status: string;
  degraded: { feature: string; mode?: string; since: string; message: string }[];
}

async function readiness(gateway: RunningProcess): Promise<{ http: number; body: Readiness }> {
  const res = await fetch(`${gateway.url}/readyz`);
  return { http: res.status, body: (await res.json()) as Readiness };
}

async function waitForStatus(gateway: RunningProcess, status: string): Promise<Readiness> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await readiness(gateway);
    if (body.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/readyz still says ${JSON.stringify(body)}, waited for ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Log lines leave the gateway in batches (at least once a second): wait for the line. */
async function waitForOutput(gateway: RunningProcess, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!pattern.test(gateway.output())) {
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern}:\n${gateway.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function createKey(gateway: RunningProcess, rpm: number): Promise<string> {
  const res = await fetch(`${gateway.url}/admin/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `rpm-${rpm}`, rpm }),
  });
  const body = (await res.json()) as { key: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.key;
}

async function chat(gateway: RunningProcess, key: string) {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

async function statuses(gateway: RunningProcess, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await chat(gateway, key)).status);
  return out;
}

describe('gateways whose Redis is unreachable, comes back, and goes away again', () => {
  let port = 0;
  let sim: RunningProcess | undefined;
  /** All defaults: limits fail open, budgets (none configured here) fail closed. */
  let open: RunningProcess | undefined;
  /** limits.fail_open: false, and a global budget, which fails closed by default. */
  let closed: RunningProcess | undefined;
  let redis: RedisServer | undefined;
  let available = true;

  before(async (t) => {
    if (!requireRedisServer(t as never)) {
      available = false;
      return;
    }
    port = await freePort();
    sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0']);
    const models = [{ name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }];
    const env = { SWITCHYARD_MASTER_KEY: MASTER, REDIS_URL: `redis://127.0.0.1:${port}` };
    [open, closed] = await Promise.all([
      startGateway({ config: { models }, env }),
      startGateway({
        config: {
          models,
          limits: { fail_open: false },
          finops: {
            prices: { [MODEL]: { input_per_1m: 1, output_per_1m: 1 } },
            budgets: [{ id: 'company-cap', scope: 'global', period: 'monthly', limit_usd: 1000 }],
          },
        },
        env,
      }),
    ]);
  });
  after(async () => {
    await redis?.kill();
    await Promise.all([open?.stop(), closed?.stop()]);
    await sim?.stop();
  });

  it('start anyway, and say on start-up and in /readyz what is degraded, naming REDIS_URL', async (t) => {
    if (!available) return t.skip('redis-server not available');
    const where = `Redis at REDIS_URL (redis://127.0.0.1:${port}) is unreachable (connect ECONNREFUSED 127.0.0.1:${port})`;
    const banner = open!.output();
    assert.ok(banner.includes(`DEGRADED: ${where}; reconnecting with backoff.`), banner);
    assert.match(banner, /Rate limits are not enforced\. Requests pass without limits until it is back \(limits\.fail_open: true\)\./);
    await waitForOutput(open!, /"msg":"Redis at REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\) is unreachable at start-up/);
    assert.match(closed!.output(), /Rate limits cannot be checked\. Requests under a key or team limit get 503 rate_limit_store_unavailable/);

    const ready = await readiness(open!);
    assert.equal(ready.http, 200, 'a shared Redis down must not take every replica out of the Service');
    assert.equal(ready.body.status, 'degraded');
    assert.deepEqual(
      ready.body.degraded.map((d) => [d.feature, d.mode]),
      [
        ['rate_limits', 'fail_open'],
        ['budgets', 'fail_closed'],
        ['broadcasts', undefined],
      ],
    );
    for (const d of ready.body.degraded) assert.ok(d.message.includes(where), d.message);
    const closedReady = await readiness(closed!);
    assert.equal(closedReady.http, 200);
    assert.deepEqual(closedReady.body.degraded[0].feature, 'rate_limits');
    assert.deepEqual(closedReady.body.degraded[0].mode, 'fail_closed');
  });

  it('let requests through while limits fail open, and refuse them with a clear 503 where they fail closed', async (t) => {
    if (!available) return t.skip('redis-server not available');
    const key = await createKey(open!, 2);
    assert.deepEqual(await statuses(open!, key, 4), [200, 200, 200, 200], 'rpm 2 is not enforced without its counters');

    const limited = await createKey(closed!, 2);
    const refused = await chat(closed!, limited);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    const error = refused.body.error as { message: string; type: string; param: unknown; code: string };
    assert.deepEqual([error.type, error.param, error.code], ['api_error', null, 'rate_limit_store_unavailable']);
    assert.match(error.message, /Redis, REDIS_URL.*limits\.fail_open is false/);

    const anthropic = await fetch(`${closed!.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': limited, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(anthropic.status, 503);
    const anthropicBody = (await anthropic.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(anthropicBody.type, 'error');
    assert.equal(anthropicBody.error.type, 'overloaded_error');
    assert.match(anthropicBody.error.message, /REDIS_URL/);

    // The master key has no limits, but the global budget applies to it and fails closed.
    const budgeted = await chat(closed!, MASTER);
    assert.equal(budgeted.status, 503);
    assert.equal((budgeted.body.error as { code: string }).code, 'budget_store_unavailable');
    assert.match((budgeted.body.error as { message: string }).message, /Redis, REDIS_URL.*finops\.budget_enforcement\.fail_open is false/);
  });

  it('reconnect when Redis comes up and enforce limits again, then report the next outage', async (t) => {
    if (!available) return t.skip('redis-server not available');
    redis = await startRedisServer(port);
    await Promise.all([waitForStatus(open!, 'ready'), waitForStatus(closed!, 'ready')]);
    assert.deepEqual((await readiness(open!)).body.degraded, []);
    await waitForOutput(open!, /Redis at REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\) is reachable again: rate limits and budgets are enforced/);

    const key = await createKey(open!, 2);
    const enforced = await statuses(open!, key, 3);
    // Three requests may straddle a minute boundary; then the third opens a new window.
    assert.ok(JSON.stringify(enforced) === '[200,200,429]' || JSON.stringify(enforced) === '[200,200,200]', JSON.stringify(enforced));
    if (enforced[2] === 200) assert.equal((await chat(open!, key)).status, 200, 'a new window admits again');
    const closedKey = await createKey(closed!, 5);
    assert.equal((await chat(closed!, closedKey)).status, 200);
    assert.equal((await chat(closed!, MASTER)).status, 200, 'the budget is counted again');

    await redis.kill();
    const again = await waitForStatus(open!, 'degraded');
    assert.deepEqual(
      again.degraded.map((d) => d.feature),
      ['rate_limits', 'budgets', 'broadcasts'],
    );
    assert.ok(again.degraded.every((d) => d.message.includes(`Redis at REDIS_URL (redis://127.0.0.1:${port}) is unreachable`)));
    assert.equal((await chat(open!, key)).status, 200, 'fail open again');
    assert.equal((await chat(closed!, closedKey)).status, 503, 'fail closed again');
  });
});
