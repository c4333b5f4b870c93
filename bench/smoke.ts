// Smoke benchmark: 2,000 chat requests at concurrency 50, straight to a zero-latency simulator and
// through the gateway to the same simulator, run alternately; reports requests/s and the latency
// the gateway adds (p50/p99). `npm run bench:smoke`; the knobs below are listed in RUN_IT, which
// goes into docs/BENCHMARKS.md with the figures.

import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { startGateway, startSimulatorProcess } from '../test/support/processes.ts';
import { percentile, writeSection } from './lib/report.ts';

/** A positive integer from the environment, or the default; anything else stops the run with one line. */
function positiveIntEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:smoke: ${name} must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const TOTAL = positiveIntEnv('BENCH_REQUESTS', 2000);
const CONCURRENCY = positiveIntEnv('BENCH_CONCURRENCY', 50);
const ROUNDS = positiveIntEnv('BENCH_ROUNDS', 3);
/** BENCH_WRITE=0 prints the figures without replacing the smoke section of docs/BENCHMARKS.md. */
const WRITE = process.env.BENCH_WRITE !== '0';
const RUN_IT =
  '**Run it**: `npm run bench:smoke` (under a minute). Knobs: `BENCH_REQUESTS` (requests per round and path, default 2000), `BENCH_CONCURRENCY` (default 50), `BENCH_ROUNDS` (alternating rounds per path, default 3); `BENCH_WRITE=0` prints the figures and leaves this file alone.';
const MODEL = 'sim-llama-3.1-8b';
const BODY = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }], max_tokens: 16 });

interface RunResult {
  rps: number;
  latenciesMs: number[];
  errors: number;
}

async function load(baseUrl: string, path: string): Promise<RunResult> {
  const pool = new Pool(baseUrl, { connections: CONCURRENCY, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < TOTAL) {
      next++;
      const t0 = performance.now();
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      await res.body.text();
      if (res.statusCode !== 200) errors++;
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { rps: TOTAL / seconds, latenciesMs: latencies.sort((a, b) => a - b), errors };
}

const sim = await startSimulatorProcess(['--model', MODEL, '--time-scale', '0']);
const gateway = await startGateway({
  config: { log_level: 'warn', models: [{ name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }] },
});
try {
  // Warm both paths (JIT, connection pools) before measuring.
  await load(sim.url, '/v1/chat/completions');
  await load(gateway.url, '/v1/chat/completions');
  const direct: RunResult[] = [];
  const viaGateway: RunResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    direct.push(await load(sim.url, '/v1/chat/completions'));
    viaGateway.push(await load(gateway.url, '/v1/chat/completions'));
  }
  const merge = (runs: RunResult[]) => ({
    rps: runs.reduce((s, r) => s + r.rps, 0) / runs.length,
    lat: runs.flatMap((r) => r.latenciesMs).sort((a, b) => a - b),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  });
  const d = merge(direct);
  const g = merge(viaGateway);
  const row = (name: string, m: ReturnType<typeof merge>) =>
    `| ${name} | ${m.rps.toFixed(0)} | ${percentile(m.lat, 50).toFixed(2)} | ${percentile(m.lat, 99).toFixed(2)} | ${m.errors} |`;
  const added50 = percentile(g.lat, 50) - percentile(d.lat, 50);
  const added99 = percentile(g.lat, 99) - percentile(d.lat, 99);
  const body = [
    `${TOTAL} non-streaming chat requests (max_tokens 16) at concurrency ${CONCURRENCY}, ${ROUNDS} alternating round${ROUNDS === 1 ? '' : 's'} per path, against one simulator replica in zero-latency mode (\`--time-scale 0\`). Gateway: no master key, request log at warn.`,
    '',
    '| path | requests/s | p50 ms | p99 ms | errors |',
    '|---|---:|---:|---:|---:|',
    row('direct to simulator', d),
    row('through Switchyard', g),
    '',
    `Added latency (gateway minus direct, at the same percentile): p50 ${added50.toFixed(2)} ms, p99 ${added99.toFixed(2)} ms. Both processes share the machine's cores with the load generator, so at concurrency ${CONCURRENCY} these figures include queueing behind a saturated CPU, not only the gateway's own work per request.`,
    '',
    RUN_IT,
  ].join('\n');
  if (WRITE) writeSection('smoke', 'Smoke: gateway vs direct (bench/smoke.ts)', 'npm run bench:smoke', body);
  console.log(body);
  if (!WRITE) console.log('\n(BENCH_WRITE=0: docs/BENCHMARKS.md left unchanged)');
} finally {
  await gateway.stop();
  await sim.stop();
}
