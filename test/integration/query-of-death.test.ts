// A request that crashes every replica it reaches (a query of death) takes down at most two of
// them and gets a clear error, while the model keeps serving; replicas that merely refuse
// connections are still retried past; a client's own 4xx is not an upstream error; deployments
// going down are logged with the reason. Simulators run as their own processes (not restarted).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';

const MODEL = 'sim-llama-3.1-8b';
const MARKER = 'QUERY-OF-DEATH-7f3a';

async function post(url: string, body: unknown): Promise<{ status: number; json: { error?: { message: string; type: string; code: string | null } } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { error?: { message: string; type: string; code: string | null } } };
}

const chat = (content: string, extra: object = {}) => ({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 4, ...extra });

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what} did not happen within ${timeoutMs} ms`);
}

const alive = (p: RunningProcess) => p.child.exitCode === null && p.child.signalCode === null;

describe('a query of death', () => {
  const sims: RunningProcess[] = [];
  let gateway: RunningProcess;

  before(async () => {
    sims.push(...(await Promise.all([0, 1, 2].map(() => startSimulatorProcess(['--model', MODEL, '--time-scale', '0.01'])))));
    for (const sim of sims) {
      const res = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ crashMarker: MARKER }) });
      assert.equal(res.status, 200);
    }
    gateway = await startGateway({
      config: {
        log_level: 'info',
        health_check_interval_ms: 200,
        models: [{ name: MODEL, deployments: sims.map((s, i) => ({ provider: 'openai-compatible', engine: 'vllm', id: `replica-${i}`, url: `${s.url}/v1` })) }],
      },
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("does not count a client's own 4xx (context too long) against the deployment", async () => {
    const tooLong = await post(`${gateway.url}/v1/chat/completions`, chat('word '.repeat(9000)));
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.json.error!.message, /context|maximum/i);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /^switchyard_upstream_errors_total\{/m, 'no upstream error recorded');
    const status = (await (await fetch(`${gateway.url}/admin/v1/deployments`)).json()) as { data: { last_error: string | null; circuit: { consecutive_failures: number } }[] };
    for (const d of status.data) {
      assert.equal(d.last_error, null);
      assert.equal(d.circuit.consecutive_failures, 0);
    }
  });

  it('crashes at most two replicas, then answers 502 request_crashed_upstream; the model keeps serving', async () => {
    assert.equal((await post(`${gateway.url}/v1/chat/completions`, chat('warm up'))).status, 200);
    const poisoned = await post(`${gateway.url}/v1/chat/completions`, chat(`please handle ${MARKER}`));
    assert.equal(poisoned.status, 502);
    assert.equal(poisoned.json.error!.type, 'api_error');
    assert.equal(poisoned.json.error!.code, 'request_crashed_upstream');
    assert.match(poisoned.json.error!.message, /the request itself appears to crash the upstream engine, so it was not retried further/);
    await waitFor('two replicas to exit', () => sims.filter((s) => !alive(s)).length === 2, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sims.filter(alive).length, 1, 'the third replica never received the request');
    for (const s of sims.filter((p) => !alive(p))) assert.equal(s.child.exitCode, 70);

    for (let i = 0; i < 10; i++) assert.equal((await post(`${gateway.url}/v1/chat/completions`, chat(`after ${i}`))).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);

    await waitFor('the dead replicas to be logged as down', () => (gateway.output().match(/deployment down: health check failed/g) ?? []).length >= 2, 5_000);
    const downLine = gateway.output().split('\n').find((l) => l.includes('deployment down'))!;
    const entry = JSON.parse(downLine) as { level: number; reason: string; deployment: string };
    assert.equal(entry.level, 40, 'warn');
    assert.match(entry.reason, /did not answer \(ECONNREFUSED\)/);
    assert.match(entry.deployment, /^replica-\d$/);
  });
});

describe('replicas that refuse connections', () => {
  let sim: RunningProcess;
  let gateway: RunningProcess;
  before(async () => {
    sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0.01']);
    const [a, b] = [await closedPort(), await closedPort()];
    gateway = await startGateway({
      config: {
        log_level: 'warn',
        // No health check marks the refusing replicas down during the test: every request may meet them.
        health_check_interval_ms: 600_000,
        models: [
          {
            name: MODEL,
            routing: { policy: 'round-robin' },
            circuit_breaker: { consecutive_failures: 1000 },
            deployments: [
              { provider: 'openai-compatible', engine: 'vllm', id: 'refusing-a', url: `http://127.0.0.1:${a}/v1`, metrics_path: null },
              { provider: 'openai-compatible', engine: 'vllm', id: 'refusing-b', url: `http://127.0.0.1:${b}/v1`, metrics_path: null },
              { provider: 'openai-compatible', engine: 'vllm', id: 'live', url: `${sim.url}/v1` },
            ],
          },
        ],
      },
    });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.stop();
  });

  it('are retried past: a refused connection is a replica that is down, not a request that kills it', async () => {
    for (let i = 0; i < 9; i++) {
      const r = await post(`${gateway.url}/v1/chat/completions`, chat(`request ${i}`));
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  });
});
