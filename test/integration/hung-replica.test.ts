// One of two replicas hangs 30 % of its requests (no byte ever sent; health checks keep passing).
// With the gateway's default timeouts, breaker and outlier detection, the replica is ejected
// within 10 s, ≥ 99.5 % of 1,200 requests (half streamed) are answered within 15 s, and the
// replica is readmitted once it answers again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';

const MODEL = 'sim-llama-3.1-8b';
const REQUESTS = 1_200;
const RATE_PER_S = 100;
const ANSWER_WITHIN_MS = 15_000;
/** A request still unanswered after this is given up by the client (counted as not answered). */
const CLIENT_GIVE_UP_MS = 20_000;

async function setFaults(sim: RunningProcess, faults: object): Promise<void> {
  const res = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  assert.equal(res.status, 200);
}

interface DeploymentStatus {
  id: string;
  circuit: { state: string };
}

async function circuitOf(gateway: RunningProcess, id: string): Promise<string> {
  const body = (await (await fetch(`${gateway.url}/admin/v1/deployments`)).json()) as { data: DeploymentStatus[] };
  return body.data.find((d) => d.id === id)!.circuit.state;
}

describe('a replica that hangs 30 % of its requests', () => {
  let hung: RunningProcess;
  let healthy: RunningProcess;
  let gateway: RunningProcess;
  let client: Pool;

  before(async () => {
    [hung, healthy] = await Promise.all([0, 1].map(() => startSimulatorProcess(['--model', MODEL, '--time-scale', '0.05'])));
    gateway = await startGateway({
      config: {
        log_level: 'info',
        // Everything else (timeouts, retries, breaker, outlier detection, health checks) at its default.
        models: [
          {
            name: MODEL,
            deployments: [
              { provider: 'openai-compatible', engine: 'vllm', id: 'hung', url: `${hung.url}/v1` },
              { provider: 'openai-compatible', engine: 'vllm', id: 'healthy', url: `${healthy.url}/v1` },
            ],
          },
        ],
      },
    });
    client = new Pool(gateway.url, { connections: 256 });
  });
  after(async () => {
    await client?.close();
    await gateway?.stop();
    await Promise.all([hung?.stop(), healthy?.stop()]);
  });

  /** One request; resolves with how long it took to be answered in full, or undefined if it was not. */
  async function send(i: number, stream: boolean): Promise<{ ms: number | undefined; deployment: string | undefined }> {
    const started = performance.now();
    const signal = AbortSignal.timeout(CLIENT_GIVE_UP_MS);
    try {
      const res = await client.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `request ${i}: tell me something` }], max_tokens: 8, stream }),
        signal,
      });
      const text = await res.body.text();
      const ok = res.statusCode === 200 && (stream ? text.includes('data: [DONE]') : text.includes('"choices"'));
      const deployment = res.headers['x-switchyard-deployment'] as string | undefined;
      return { ms: ok ? performance.now() - started : undefined, deployment };
    } catch {
      return { ms: undefined, deployment: undefined };
    }
  }

  it('is ejected within 10 s, ≥ 99.5 % of requests are answered within 15 s, and it is readmitted once it answers again', async () => {
    await setFaults(hung, { hangRate: 0.3 });
    const started = performance.now();
    let ejectedAfterMs: number | undefined;
    let polling = true;
    const poller = (async () => {
      while (polling && ejectedAfterMs === undefined) {
        if ((await circuitOf(gateway, 'hung')) === 'open') ejectedAfterMs = performance.now() - started;
        else await new Promise((r) => setTimeout(r, 100));
      }
    })();

    // Open loop: request i leaves at i / RATE_PER_S whatever happened to the earlier ones.
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const delay = started + (i * 1000) / RATE_PER_S - performance.now();
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        return { stream: i % 2 === 1, ...(await send(i, i % 2 === 1)) };
      }),
    );
    polling = false;
    await poller;

    const answered = (r: { ms: number | undefined }) => r.ms !== undefined && r.ms <= ANSWER_WITHIN_MS;
    const share = (rs: typeof results) => rs.filter(answered).length / rs.length;
    const streams = results.filter((r) => r.stream);
    const plain = results.filter((r) => !r.stream);
    const slowest = Math.max(...results.map((r) => r.ms ?? Infinity));
    const summary =
      `answered within 15 s: ${(100 * share(results)).toFixed(2)} % of ${REQUESTS} (non-streaming ${(100 * share(plain)).toFixed(2)} %, streaming ${(100 * share(streams)).toFixed(2)} %); ` +
      `slowest ${Number.isFinite(slowest) ? `${Math.round(slowest)} ms` : 'unanswered'}; ejected after ${ejectedAfterMs === undefined ? 'never' : `${Math.round(ejectedAfterMs)} ms`}`;
    console.log(summary);
    assert.ok(ejectedAfterMs !== undefined && ejectedAfterMs <= 10_000, summary);
    assert.ok(share(results) >= 0.995, summary);
    // Stalls eject it: marked in a burst they make consecutive failures, or its failure rate stands out.
    assert.match(gateway.output(), /"deployment":"hung".*"reason":"(consecutive failures|it failed or stalled far more often than its peers \(outlier detection\))","last_error":"stalled: .*deployment ejected: circuit open/);

    // It answers again: the next half-open probe succeeds and it takes traffic once more.
    await setFaults(hung, { hangRate: 0 });
    const recovering = performance.now();
    let servedByHung = 0;
    for (let i = 0; servedByHung === 0; i++) {
      assert.ok(performance.now() - recovering < 60_000, 'readmitted within 60 s (the longest ejection it can have earned here is 40 s)');
      const r = await send(REQUESTS + i, false);
      if (r.deployment === 'hung' && (await circuitOf(gateway, 'hung')) === 'closed') servedByHung++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Log lines reach the output within a second or so (written in batches).
    const readmitted = /"deployment":"hung".*deployment readmitted: circuit closed/;
    for (const deadline = Date.now() + 5_000; !readmitted.test(gateway.output()) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    assert.match(gateway.output(), readmitted);
  });
});
