// Resilience with real processes: replicas that die, fail, stall, reset and drop streams, and a
// gateway that keeps requests succeeding, ejects and readmits replicas, sheds overload and falls back.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';

const MODEL = 'sim-llama-3.1-8b';

async function setFaults(sim: RunningProcess, faults: Record<string, number>): Promise<void> {
  const res = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  assert.equal(res.status, 200);
}

interface DeploymentStatus {
  id: string;
  url: string;
  circuit: { state: string };
  healthy: boolean;
}

async function deployments(gateway: RunningProcess): Promise<DeploymentStatus[]> {
  return ((await (await fetch(`${gateway.url}/admin/v1/deployments`)).json()) as { data: DeploymentStatus[] }).data;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} did not happen within ${timeoutMs} ms`);
}

const chatBody = (i: number, extra: object = {}) =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `request ${i}: say something` }], max_tokens: 8, ...extra });

describe('resilience across failing replicas', () => {
  const sims: Record<string, RunningProcess> = {};
  let gateway: RunningProcess;

  before(async () => {
    const names = ['healthy', 'failing', 'slow', 'resetting', 'doomed'];
    const started = await Promise.all(names.map(() => startSimulatorProcess(['--model', MODEL, '--time-scale', '0.01'])));
    names.forEach((n, i) => (sims[n] = started[i]));
    await setFaults(sims.failing, { errorRate: 1, errorStatus: 500 });
    await setFaults(sims.slow, { addedLatencyMs: 150 });
    await setFaults(sims.resetting, { resetRate: 0.5 });
    gateway = await startGateway({
      config: {
        log_level: 'warn',
        health_check_interval_ms: 200,
        models: [
          {
            name: MODEL,
            max_retries: 4,
            retry: { backoff_base_ms: 5, backoff_max_ms: 50 },
            circuit_breaker: { consecutive_failures: 3, ejection_ms: 500, max_ejection_ms: 2000 },
            timeouts: { connect_ms: 500, first_token_ms: 2000, idle_ms: 2000, total_ms: 5000 },
            deployments: names.map((n) => ({ provider: 'openai-compatible', engine: 'vllm', id: n, url: `${sims[n].url}/v1` })),
          },
        ],
      },
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all(Object.values(sims).map((s) => s.stop()));
  });

  it('keeps ≥ 99.9 % of 2,000 requests succeeding while replicas fail and one is killed mid-run', async () => {
    const client = new Pool(gateway.url, { connections: 20 });
    let ok = 0;
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        const i = next++;
        if (i === 500) sims.doomed.child.kill('SIGKILL');
        const res = await client.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody(i) });
        const text = await res.body.text();
        if (res.statusCode === 200) ok++;
        else failures.push(`${res.statusCode} ${text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    await client.close();
    assert.ok(ok >= 1998, `only ${ok}/2000 succeeded; failures: ${failures.slice(0, 5).join(' | ')}`);

    const status = await deployments(gateway);
    const failing = status.find((d) => d.id === 'failing')!;
    assert.notEqual(failing.circuit.state, 'closed', 'the replica answering 500s is ejected');
    const doomed = status.find((d) => d.id === 'doomed')!;
    assert.equal(doomed.healthy, false, 'the killed replica is out of rotation');
  });

  it('readmits an ejected replica once it recovers, within the ejection window', async () => {
    await waitFor('ejection of the failing replica', async () => (await deployments(gateway)).find((d) => d.id === 'failing')!.circuit.state !== 'closed', 3000);
    await fetch(`${sims.failing.url}/sim/faults`, { method: 'DELETE' });
    // Keep traffic flowing so the half-open probe happens.
    const elapsed = await waitFor(
      'recovery of the failing replica',
      async () => {
        await Promise.all(Array.from({ length: 5 }, (_, i) => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: chatBody(i) }).then((r) => r.text())));
        return (await deployments(gateway)).find((d) => d.id === 'failing')!.circuit.state === 'closed';
      },
      5000,
    );
    assert.ok(elapsed <= 5000);
  });
});

describe('mid-stream upstream failure', () => {
  let sim: RunningProcess;
  let gateway: RunningProcess;
  before(async () => {
    sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0.05', '--drop-mid-stream-rate', '1']);
    gateway = await startGateway({
      config: { models: [{ name: MODEL, max_retries: 0, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }] },
    });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.stop();
  });

  // The simulator drops the connection 2-4 chunks in; when the reset beats the first token to the
  // gateway, the failure is before the first byte and the client rightly gets a JSON 502 instead.
  // Either outcome is well-formed; a few attempts make sure the mid-stream case is exercised.
  async function streamedFailure(path: string, body: object): Promise<string> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const res = await fetch(`${gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status === 200) return text;
      assert.equal(res.status, 502, text);
      JSON.parse(text);
    }
    assert.fail('no stream started in 10 attempts');
  }

  it('ends an OpenAI stream with a well-formed error event, never a hang or a cut line', async () => {
    const text = await streamedFailure('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 200, ignore_eos: true, stream: true });
    const events = text.split('\n\n').filter(Boolean);
    assert.ok(!events.includes('data: [DONE]'));
    const parsed = events.map((e) => JSON.parse(e.slice('data: '.length)));
    const last = parsed.at(-1);
    assert.equal(last.error.type, 'api_error');
    assert.equal(last.error.code, 'upstream_connection_lost');
    assert.ok(parsed.length >= 2, 'some tokens arrived before the failure');
  });

  it('ends an Anthropic stream with an error event', async () => {
    const text = await streamedFailure('/v1/messages', { model: MODEL, max_tokens: 200, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const blocks = text.split('\n\n').filter(Boolean);
    assert.match(blocks[0], /^event: message_start\n/);
    const last = blocks.at(-1)!;
    assert.match(last, /^event: error\ndata: /);
    assert.equal(JSON.parse(last.split('\n')[1].slice(6)).type, 'error');
    assert.ok(!text.includes('event: message_stop'));
  });

  it('counts the tokens produced before the failure', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const out = Number(/switchyard_tokens_total\{model="sim-llama-3\.1-8b",direction="out"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(out > 0);
    assert.match(metrics, /switchyard_requests_total\{model="sim-llama-3\.1-8b",endpoint="\/v1\/chat\/completions",status="502"\} [1-9]/);
  });
});

describe('admission control and fallback', () => {
  let sim: RunningProcess;
  let spare: RunningProcess;
  let gateway: RunningProcess;
  before(async () => {
    [sim, spare] = await Promise.all([
      startSimulatorProcess(['--model', MODEL, '--time-scale', '1']),
      startSimulatorProcess(['--model', MODEL, '--time-scale', '0.01']),
    ]);
    gateway = await startGateway({
      config: {
        models: [
          {
            name: MODEL,
            admission: { max_queue: 4, max_queue_wait_ms: 1500 },
            deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1`, max_concurrency: 2 }],
          },
          { name: 'dead-pool', max_retries: 1, fallbacks: ['spare'], deployments: [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1', model: MODEL }] },
          { name: 'spare', deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${spare.url}/v1`, model: MODEL }] },
        ],
      },
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([sim?.stop(), spare?.stop()]);
  });

  it('sheds overload with 503 + Retry-After instead of queueing without bound', async () => {
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: chatBody(i, { max_tokens: 100, ignore_eos: true }) }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          ms: Date.now() - started,
          body: await r.text(),
        })),
      ),
    );
    const shed = results.filter((r) => r.status === 503);
    const served = results.filter((r) => r.status === 200);
    assert.ok(shed.length >= 20, `expected most of 30 requests to be shed, got ${shed.length}`);
    assert.ok(served.length >= 2, 'admitted requests complete');
    for (const r of shed) {
      assert.ok(Number(r.retryAfter) >= 1, 'Retry-After tells the client when to come back');
      assert.equal(JSON.parse(r.body).error.code, 'model_overloaded');
    }
    assert.equal(results.filter((r) => r.status !== 200 && r.status !== 503).length, 0);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.match(metrics, /switchyard_shed_total\{model="sim-llama-3\.1-8b"\} \d+/);
  });

  it('falls back to the next model when every replica is down, and says which model served', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'dead-pool', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-switchyard-model'), 'spare');
    assert.equal((await res.json()).model, 'dead-pool', 'the body keeps the name the client asked for');
  });

  it('rejects a malformed priority header', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-switchyard-priority': 'urgent!!' }, body: chatBody(1) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'x-switchyard-priority');
  });
});
