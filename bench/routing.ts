// Routing benchmark: every routing policy on 8 simulated H100 / Llama-3.1-8B replicas, three
// workloads, two offered loads. `npm run bench:routing [-- --quick] [--policies a,b] [--workloads a,b]`
//
// - The replicas are eight simulator processes started once (bench/routing/sim-worker.ts) and
//   reset before every run, so each run starts with empty KV caches. The gateway is started per
//   run too, so its routing history starts empty as well.
// - Load is open-loop Poisson at 60 % and 90 % of the cluster's capacity, computed from the
//   simulator's own engine model with prefix caching off (bench/routing/capacity.ts).
// - The simulators run at a time scale chosen so that the host (2 cores here) sends about
//   WALL_BUDGET requests/s at 90 % load; every latency is converted back to model time.
// - TTFT is measured at the client (first content chunk), end-to-end likewise; throughput and
//   prefix-cache hit rate come from the replicas' own /metrics.
// Full runs write the tables into docs/BENCHMARKS.md (section "routing") and docs/routing.md.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { writeSection } from './lib/report.ts';
import { estimateCapacity } from './routing/capacity.ts';
import { SimFleet } from './routing/fleet.ts';
import { activeGateway, runOne, waitForQuietHost, type PolicyVariant, type RunResult } from './routing/run.ts';
import { CONTENDED_PCT, hostTable, resultsTable, targets, type WorkloadResults } from './routing/tables.ts';
import { generateWorkload, MODEL, type WorkloadId } from './routing/workloads.ts';

const PROFILE = 'h100-llama-3.1-8b';
const REPLICAS = 8;
/** Conversations in workload (a) reach ~16k tokens; Llama 3.1 supports 128k, the profile serves 8k by default. */
const MAX_MODEL_LEN = 32_768;
const LOADS = [0.6, 0.9];
/** Requests per second (wall) the host is asked to carry at the higher load. */
const WALL_BUDGET = 40;
const NICE_TIME_SCALES = [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5];
/**
 * Before each run, wait (at most QUIET_MAX_WAIT_MS) until other processes use less than QUIET_PCT
 * of a core; a run during which they used more is repeated once. Waiting and repeating together
 * may cost at most CONTENTION_BUDGET_MS over the whole benchmark, which keeps its length bounded.
 */
const QUIET_PCT = CONTENDED_PCT;
const QUIET_MAX_WAIT_MS = 30_000;
const CONTENTION_BUDGET_MS = 150_000;

const VARIANTS: (PolicyVariant & { id: string; workloads?: WorkloadId[] })[] = [
  // Every policy as a user configures it: `routing.policy` and nothing else.
  { id: 'round-robin', label: 'round-robin', policy: 'round-robin' },
  { id: 'weighted', label: 'weighted', policy: 'weighted' },
  { id: 'least-requests', label: 'least-requests', policy: 'least-requests' },
  { id: 'least-tokens', label: 'least-tokens', policy: 'least-tokens' },
  { id: 'latency', label: 'latency', policy: 'latency' },
  { id: 'prefix-affinity', label: 'prefix-affinity', policy: 'prefix-affinity' },
  { id: 'scheduler', label: 'scheduler', policy: 'scheduler' },
];
const QUICK_POLICIES = ['round-robin', 'least-requests', 'scheduler'];

const PLANS: Record<WorkloadId, { requestsAt90: number; quickRequestsAt90: number; warmupFraction: number }> = {
  // (a) needs enough requests for 150 tenants' prefixes and 100 open conversations to be reused.
  a: { requestsAt90: 1500, quickRequestsAt90: 500, warmupFraction: 0.2 },
  b: { requestsAt90: 700, quickRequestsAt90: 250, warmupFraction: 0.1 },
  c: { requestsAt90: 700, quickRequestsAt90: 250, warmupFraction: 0.1 },
};

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    policies: { type: 'string' },
    workloads: { type: 'string' },
    seed: { type: 'string', default: '42' },
    write: { type: 'boolean', default: false },
  },
});
const seed = Number(flags.seed);
const workloadIds = (flags.workloads ?? 'a,b,c').split(',').map((s) => s.trim()) as WorkloadId[];
for (const id of workloadIds) if (!(id in PLANS)) throw new Error(`unknown workload "${id}"; expected a, b or c`);
const policyIds = flags.policies?.split(',').map((s) => s.trim()) ?? (flags.quick ? QUICK_POLICIES : VARIANTS.map((v) => v.id));
for (const id of policyIds) if (!VARIANTS.some((v) => v.id === id)) throw new Error(`unknown policy "${id}"; expected one of ${VARIANTS.map((v) => v.id).join(', ')}`);
const fullRun = !flags.quick && flags.policies === undefined && flags.workloads === undefined;
const write = fullRun || flags.write;

function niceTimeScale(ideal: number): number {
  let best = NICE_TIME_SCALES[0];
  for (const t of NICE_TIME_SCALES) if (Math.abs(Math.log(t / ideal)) < Math.abs(Math.log(best / ideal))) best = t;
  return best;
}

const started = performance.now();
const fleet = await SimFleet.start({ replicas: REPLICAS, timeScale: 1, profile: PROFILE, model: MODEL, overrides: { maxModelLen: MAX_MODEL_LEN } });
const all: WorkloadResults[] = [];
let contentionBudget = CONTENTION_BUDGET_MS;
// Ctrl-C (or a kill) stops the gateway and the replicas instead of leaving them behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the gateway and the replicas`);
    void Promise.allSettled([activeGateway?.stop(), fleet.stop()]).then(() => process.exit(130));
  });
}
try {
  for (const id of workloadIds) {
    const plan = PLANS[id];
    const n90 = flags.quick ? plan.quickRequestsAt90 : plan.requestsAt90;
    const workload = generateWorkload(id, seed, n90);
    const capacity = estimateCapacity(workload.requests, REPLICAS, PROFILE, { maxModelLen: MAX_MODEL_LEN });
    const timeScale = niceTimeScale((Math.max(...LOADS) * capacity.requestsPerSecond) / WALL_BUDGET);
    const entry: WorkloadResults = { workload, capacity, timeScale, counts: [], runs: [] };
    all.push(entry);
    console.log(`\n(${id}) ${workload.title}: capacity ${capacity.requestsPerSecond.toFixed(1)} req/s (model time), time scale ${timeScale}`);
    for (const load of LOADS) {
      // Every load spans the same model time: the lower load sends the first part of the sequence.
      const count = Math.round((n90 * load) / Math.max(...LOADS));
      const requests = workload.requests.slice(0, count);
      const warmup = Math.round(count * plan.warmupFraction);
      entry.counts.push({ load, requests: count, warmup });
      for (const variant of VARIANTS.filter((v) => policyIds.includes(v.id) && (v.workloads === undefined || v.workloads.includes(id)))) {
        const spec = { variant, requests, rate: load * capacity.requestsPerSecond, timeScale, warmupCount: warmup };
        const quiet = async () => {
          const waited = await waitForQuietHost(fleet, QUIET_PCT, Math.min(QUIET_MAX_WAIT_MS, Math.max(0, contentionBudget)));
          contentionBudget -= waited;
          if (waited > 1500) console.log(`  (waited ${(waited / 1000).toFixed(0)} s for other work on the machine to calm down)`);
        };
        await quiet();
        let result: RunResult = await runOne(fleet, spec);
        if (result.host.otherCpuPct > CONTENDED_PCT && contentionBudget > result.wallSeconds * 1000) {
          console.log(`  ${variant.label}: other processes used ${result.host.otherCpuPct.toFixed(0)} % of a core during the run; repeating it`);
          contentionBudget -= result.wallSeconds * 1000;
          await quiet();
          result = await runOne(fleet, spec);
        }
        entry.runs.push({ load, result });
        console.log(
          `  ${Math.round(load * 100)} % ${variant.label.padEnd(32)} TTFT p50 ${result.ttftP50.toFixed(0).padStart(6)} p99 ${result.ttftP99.toFixed(0).padStart(6)} ms  ` +
            `E2E p99 ${result.e2eP99.toFixed(0).padStart(6)} ms  hit ${(100 * result.prefixHitRate).toFixed(1).padStart(5)} %  ${result.outputTokensPerSecond.toFixed(0)} tok/s  ` +
            `failed ${result.failed}  [${result.wallSeconds.toFixed(1)} s wall, other processes ${result.host.otherCpuPct.toFixed(0)} % CPU]${result.firstError ? `  first error: ${result.firstError}` : ''}`,
        );
      }
    }
  }
} finally {
  await fleet.stop();
}
const minutes = (performance.now() - started) / 60_000;

const schedulerLabel = VARIANTS.find((v) => v.id === 'scheduler')!.label;
const targetLines = targets(all, schedulerLabel);
const body = [
  `${REPLICAS} simulator replicas (\`${PROFILE}\`, max_model_len ${MAX_MODEL_LEN}), each its own process, reset before every run (empty KV cache); ` +
    'a fresh gateway per run (`provider: openai-compatible, engine: vllm`, one model, `routing.policy` as listed). ' +
    `Seed ${seed}; open-loop Poisson arrivals at 60 % and 90 % of capacity; streaming chat requests with \`ignore_eos\`. Total run time ${minutes.toFixed(1)} min.`,
  '',
  '**All times are model time** (what the modelled GPUs would show): the simulators ran at the time scale given per workload and client-side wall times were divided by it. ' +
    'TTFT = client-side time to the first content chunk; E2E = to the end of the stream. Output tok/s and the prefix-cache hit rate (hit tokens / queried tokens) come from the replicas\' own `/metrics`, ' +
    'summed over the 8 replicas, over the measured window (after warm-up). Capacity = the cluster\'s saturated throughput with prefix caching off, from the simulator\'s engine model in virtual time ' +
    '(so the same for every policy); a cache-aware policy computes fewer tokens, so the same load is lighter for it.',
  '',
  ...all.flatMap((w) => [resultsTable(w), '']),
  '**Targets (routing issue):**',
  '',
  ...targetLines.map((t) => `- ${t.text}: ${t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'}`),
  '',
  '**Host check** (2-core machine; maxima over the policies of each row): replica CPU is per process (% of one core); loop delay is the event-loop delay p99 in wall ms. ' +
    'TTFT overhead = mean client-side TTFT minus the replicas\' own mean TTFT (their histograms), in model ms: gateway, HTTP, prompt parsing and host scheduling, magnified by 1/time scale. ' +
    `Other processes' CPU = the machine's busy time minus the benchmark's own processes; each run waits up to ${QUIET_MAX_WAIT_MS / 1000} s for it to fall below ${QUIET_PCT} % of a core and is repeated once if it rose above during the run ` +
    `(within a total budget of ${CONTENTION_BUDGET_MS / 1000} s); rows marked † above still ran while it was higher.`,
  '',
  hostTable(all),
].join('\n');

console.log(`\n${body}`);
if (write) {
  writeSection('routing', 'Routing policies (bench/routing.ts)', `npm run bench:routing${process.argv.slice(2).length ? ' -- ' + process.argv.slice(2).join(' ') : ''}`, body);
  const doc = fileURLToPath(new URL('../docs/routing.md', import.meta.url));
  const start = '<!-- bench:routing:start -->';
  const end = '<!-- bench:routing:end -->';
  if (existsSync(doc)) {
    const text = readFileSync(doc, 'utf8');
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    const section = `${start}\nFrom \`npm run bench:routing\`, ${new Date().toISOString().slice(0, 10)} (also in docs/BENCHMARKS.md with the machine it ran on).\n\n${body}\n${end}`;
    writeFileSync(doc, from !== -1 && to !== -1 ? text.slice(0, from) + section + text.slice(to + end.length) : `${text.trimEnd()}\n\n${section}\n`);
  }
  console.log('\nwrote docs/BENCHMARKS.md (section routing) and docs/routing.md');
}
