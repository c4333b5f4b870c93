// Batch benchmark (issue 5): a 100,000-line chat batch through one gateway over 4 simulated
// H100 / Llama-3.1-8B replicas, with interactive streaming traffic running the whole time.
// Reports batch items/s and total time, the gateway's peak RSS (goal < 300 MB), and interactive
// TTFT p50/p99 alone vs while the batch is in progress (goal: p99 less than 20 % worse).
// `npm run bench:batch`; smaller trial runs: BENCH_BATCH_LINES=5000 BENCH_BASELINE_S=20 npm run bench:batch
//
// - Replicas run at real time (time scale 1), so TTFT is in the modelled GPU's milliseconds plus
//   what the gateway and the host add. Batch lines are short (100-300-token prompts, max_tokens
//   16-32) so 100k of them finish in minutes.
// - Interactive load is open-loop Poisson streaming chat, sent from warm-up to the end; each
//   request is attributed to the phase it was sent in (baseline, upload, the batch's statuses, after).
// - The gateway is the real `switchyard serve` process with a SQLite store in a temp data dir;
//   its RSS is read from /proc every 500 ms.
// - After BESIDE_S seconds in progress the interactive load pauses (the batch has the replicas to
//   itself, so the gateway's higher no-interactive ceiling applies) and comes back when RESUME_AT of
//   the items are done: items/s under both ceilings, and what the switch back costs interactive TTFT.
// - Then a tuning sweep: smaller batches with batch.max_in_flight_per_deployment_with_interactive at
//   1, 2, 4, each on a fresh gateway with its own baseline, to show what the TTFT goal costs in throughput.
// Full-size runs (no size overrides) write docs/BENCHMARKS.md section `batch`; BENCH_WRITE=1 forces it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { engineModel } from './batch/engine-model.ts';
import { writeBatchInput, type BatchShape } from './batch/input.ts';
import type { InteractiveShape } from './batch/interactive.ts';
import { secondsIn, throughput } from './batch/progress.ts';
import { engineModelTable, headlineTable, hostTable, p99ByMinute, sweepTable, ttftStats, ttftTable, type SweepRow, type TtftStats } from './batch/report.ts';
import { activeGateway, ALONE, itemsPerSecondIn, RESUMED, runScenario, type ScenarioOptions } from './batch/scenario.ts';
import { writeSection } from './lib/report.ts';
import { SimFleet } from './routing/fleet.ts';

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const OVERRIDES = Object.keys(process.env).filter((k) => k.startsWith('BENCH_') && k !== 'BENCH_WRITE');

const MODEL = 'sim-llama-3.1-8b';
const PROFILE = 'h100-llama-3.1-8b';
const REPLICAS = 4;
// Defaults of batch.max_in_flight_per_deployment and ..._with_interactive (src/batch/config.ts).
const DEFAULT_CAP = 8;
const DEFAULT_CAP_WITH_INTERACTIVE = 0.5;
const SEED = env('BENCH_SEED', 42);
const TIME_SCALE = env('BENCH_TIME_SCALE', 1);
const POLICY = process.env.BENCH_POLICY ?? 'scheduler';
/** Unset: the gateway's defaults; set to try other caps in the main run. */
const MAIN_BATCH_CONFIG: Record<string, number> = {
  ...(process.env.BENCH_BATCH_MAX_IN_FLIGHT === undefined ? {} : { max_in_flight_per_deployment: Number(process.env.BENCH_BATCH_MAX_IN_FLIGHT) }),
  ...(process.env.BENCH_BATCH_MAX_IN_FLIGHT_WITH_INTERACTIVE === undefined
    ? {}
    : { max_in_flight_per_deployment_with_interactive: Number(process.env.BENCH_BATCH_MAX_IN_FLIGHT_WITH_INTERACTIVE) }),
};
const CAP = MAIN_BATCH_CONFIG.max_in_flight_per_deployment ?? DEFAULT_CAP;
const CAP_WITH_INTERACTIVE = Math.min(CAP, MAIN_BATCH_CONFIG.max_in_flight_per_deployment_with_interactive ?? DEFAULT_CAP_WITH_INTERACTIVE);
/** Seconds in progress beside interactive traffic before the break, and the share of items done when it ends. */
const BESIDE_S = env('BENCH_BESIDE_S', 180);
const RESUME_AT = env('BENCH_RESUME_AT', 0.97);
/** TTFT right after the interactive load comes back is reported over this window. */
const RESUME_WINDOW_S = 10;
const BATCH: BatchShape = { lines: env('BENCH_BATCH_LINES', 100_000), promptTokens: [100, 300], maxTokens: [16, 32] };
const INTERACTIVE: InteractiveShape = { rps: env('BENCH_INTERACTIVE_RPS', 15), promptTokens: [200, 600], maxTokens: 64 };
const WARMUP_S = env('BENCH_WARMUP_S', 10);
const BASELINE_S = env('BENCH_BASELINE_S', 90);
const AFTER_S = env('BENCH_AFTER_S', 45);
const TIMEOUT_S = env('BENCH_BATCH_TIMEOUT_S', 1800);
/** Tuning sweep: caps to try (empty: none), lines per batch, baseline per row. */
const SWEEP_CAPS = (process.env.BENCH_SWEEP_CAPS ?? '0.5,1,2').split(',').filter((x) => x.trim() !== '').map(Number);
const SWEEP_LINES = env('BENCH_SWEEP_LINES', 4000);
const SWEEP_BASELINE_S = env('BENCH_SWEEP_BASELINE_S', 45);
/** Investigation only: interactive requests straight to the replicas in turn, bypassing the gateway. */
const DIRECT = process.env.BENCH_INTERACTIVE_DIRECT === '1';
const write = OVERRIDES.length === 0 || process.env.BENCH_WRITE === '1';

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const MB = 2 ** 20;

const work = mkdtempSync(join(tmpdir(), 'switchyard-bench-batch-'));
const t0 = performance.now();
const inputPath = join(work, 'batch.jsonl');
const inputBytes = await writeBatchInput(inputPath, MODEL, BATCH, SEED);
// Same seed: the sweep's file is the first SWEEP_LINES lines of the main one.
const sweepPath = join(work, 'sweep.jsonl');
if (SWEEP_CAPS.length > 0) await writeBatchInput(sweepPath, MODEL, { ...BATCH, lines: SWEEP_LINES }, SEED);
log(`wrote ${BATCH.lines} lines (${(inputBytes / MB).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// The engines' share, in virtual time, before any process starts (CPU-bound, ~20 s).
const ENGINE_MODEL_S = 3600;
const engineRows = [...new Set([0, 1, 2, 3, 4, 6, CAP, CAP_WITH_INTERACTIVE, ...SWEEP_CAPS])]
  .filter(Number.isInteger) // the engine model keeps a whole number of batch requests in flight
  .sort((a, b) => a - b)
  .map((k) => engineModel(PROFILE, REPLICAS, INTERACTIVE, BATCH, k, ENGINE_MODEL_S, SEED));
const engineChange = (k: number) => {
  const none = engineRows.find((r) => r.batchInFlightPerReplica === 0)!;
  const row = engineRows.find((r) => r.batchInFlightPerReplica === k);
  return row ? (100 * (row.ttftP99 - none.ttftP99)) / none.ttftP99 : NaN;
};
log('engine model done');

const fleet = await SimFleet.start({ replicas: REPLICAS, timeScale: TIME_SCALE, profile: PROFILE, model: MODEL, overrides: {} });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\n${signal}: stopping the gateway and the replicas`);
    void Promise.allSettled([activeGateway?.stop(), fleet.stop()]).then(() => process.exit(130));
  });
}
const common: Omit<ScenarioOptions, 'label' | 'batchConfig' | 'input' | 'baselineS' | 'afterS' | 'dataDir' | 'checkOutput'> = {
  fleet,
  model: MODEL,
  policy: POLICY,
  interactive: INTERACTIVE,
  direct: DIRECT,
  warmupS: WARMUP_S,
  timeoutS: TIMEOUT_S,
  seed: SEED,
  log,
};
try {
  const main = await runScenario({
    ...common,
    label: 'main',
    batchConfig: MAIN_BATCH_CONFIG,
    interactiveBreak: { besideS: BESIDE_S, resumeAtFraction: RESUME_AT },
    input: { path: inputPath, lines: BATCH.lines },
    baselineS: BASELINE_S,
    afterS: AFTER_S,
    dataDir: join(work, 'data-main'),
    checkOutput: true,
  });
  rmSync(join(work, 'data-main'), { recursive: true, force: true });
  const sweep: SweepRow[] = [];
  for (const cap of SWEEP_CAPS) {
    await fleet.reset(TIME_SCALE);
    const r = await runScenario({
      ...common,
      label: `sweep cap ${cap}`,
      batchConfig: { max_in_flight_per_deployment_with_interactive: cap },
      input: { path: sweepPath, lines: SWEEP_LINES },
      warmupS: 5,
      baselineS: SWEEP_BASELINE_S,
      afterS: 0,
      dataDir: join(work, `data-sweep-${cap}`),
      checkOutput: false,
    });
    sweep.push({
      cap,
      lines: SWEEP_LINES,
      itemsPerSecond: throughput(r.polls).overall,
      batchInFlightMean: r.concurrency.stats('in_progress').batchMean,
      baseline: ttftStats(r.load.samples, 'baseline', ['baseline']),
      during: ttftStats(r.load.samples, 'in progress', ['in_progress']),
      engineP99ChangePct: engineChange(cap),
    });
  }

  // --- report ---
  const { load, polls, batch, monitor, output } = main;
  const tp = throughput(polls);
  const baseline = ttftStats(load.samples, 'baseline (no batch)', ['baseline']);
  const during = ttftStats(load.samples, 'batch in progress', ['in_progress']);
  const resumedAt = main.resumedAt ?? Infinity;
  const rows: TtftStats[] = [
    baseline,
    ttftStats(load.samples, 'upload of the input file', ['upload']),
    ttftStats(load.samples, 'batch validating (ingest)', ['validating']),
    during,
    ttftStats(load.samples.filter((x) => x.sentAt < resumedAt + RESUME_WINDOW_S * 1000), `batch in progress, interactive back: first ${RESUME_WINDOW_S} s`, [RESUMED]),
    ttftStats(load.samples.filter((x) => x.sentAt >= resumedAt + RESUME_WINDOW_S * 1000), 'batch in progress, interactive back: the rest', [RESUMED]),
    ttftStats(load.samples, 'batch finalizing (output file)', ['finalizing']),
    ttftStats(load.samples, `after the batch (${AFTER_S} s)`, ['after']),
  ];
  const head = headlineTable({
    itemsPerSecond: tp.overall,
    besideItemsPerSecond: itemsPerSecondIn(main.marks, 'in_progress'),
    aloneItemsPerSecond: itemsPerSecondIn(main.marks, ALONE),
    totalSeconds: main.totalSeconds,
    uploadSeconds: main.uploadSeconds,
    validatingSeconds: secondsIn(polls, 'validating'),
    finalizingSeconds: secondsIn(polls, 'finalizing'),
    peakRss: monitor.peakRss,
    baseline,
    during,
    status: batch.status,
    output,
    lines: BATCH.lines,
  });
  const c = main.concurrency.stats('in_progress');
  const alone = main.concurrency.stats(ALONE);
  const cb = main.concurrency.stats('baseline');
  const lagP99 = [...load.samples].map((s) => s.sendLagMs).sort((a, b) => a - b)[Math.floor(load.samples.length * 0.99)] ?? 0;
  const text = [
    `${REPLICAS} simulator replicas (\`${PROFILE}\`, time scale ${TIME_SCALE}: ${TIME_SCALE === 1 ? 'real time' : 'not real time'}), each its own process; one gateway process ` +
      `(\`switchyard serve\`, SQLite store and file directory in a temp data dir, log level warn) with one model over the ${REPLICAS} replicas ` +
      `(\`provider: openai-compatible, engine: vllm\`, \`routing.policy: ${POLICY}\`), batch settings ${Object.keys(MAIN_BATCH_CONFIG).length === 0 ? 'at their defaults' : `at their defaults except ${JSON.stringify(MAIN_BATCH_CONFIG)}`} ` +
      `(max_in_flight_per_deployment ${CAP} while the model has no interactive traffic, max_in_flight_per_deployment_with_interactive ${CAP_WITH_INTERACTIVE} while it has, interactive_quiet_ms 10000, poll_interval_ms 250).`,
    '',
    `**Batch**: ${BATCH.lines.toLocaleString('en-US')} \`/v1/chat/completions\` lines, random-word prompts of ${BATCH.promptTokens.join('-')} tokens (no shared prefixes), max_tokens ${BATCH.maxTokens.join('-')}; ` +
      `a ${(inputBytes / MB).toFixed(0)} MB JSONL file written to disk, uploaded with the \`openai\` SDK (\`files.create\`, streamed), run with \`batches.create\`, followed with \`batches.retrieve\` every second. ` +
      `**Interactive**: ${DIRECT ? '**sent straight to the replicas in turn, not through the gateway (investigation run)**, ' : ''}streaming chat, open-loop Poisson at ${INTERACTIVE.rps} req/s, prompts of ${INTERACTIVE.promptTokens.join('-')} tokens, max_tokens ${INTERACTIVE.maxTokens}, sent from a ${WARMUP_S} s warm-up to the end; ` +
      `TTFT = client-side wall time to the first content chunk, grouped by the batch status when the request was sent; gateway-side TTFT = the gateway's own histogram (request received → first token relayed; streaming requests, so interactive only), as bucket bounds. Baseline: ${BASELINE_S} s before the upload.`,
    '',
    head.table,
    '',
    ttftTable(rows, main.gateway),
    '',
    `Batch items/s by minute of the run: ${tp.perMinute.map((v) => v.toFixed(0)).join(', ')}; interactive TTFT p99 by minute beside the batch (ms): ${p99ByMinute(load.samples, 'in_progress').map((v) => v.toFixed(0)).join(', ')}.` +
      ` Batch requests in flight (the gateway's in-flight count minus open interactive requests, sampled every 500 ms from \`/admin/v1/deployments\`): ` +
      `without interactive traffic mean ${alone.batchMean.toFixed(1)}, max ${alone.batchMax} (cap ${REPLICAS * CAP}); beside it mean ${c.batchMean.toFixed(1)}, max ${c.batchMax} (cap ${Math.max(1, Math.floor(REPLICAS * CAP_WITH_INTERACTIVE))}); beside it, per replica (all requests) the busiest had ${c.busiestMean.toFixed(1)} and the least busy ${c.idlestMean.toFixed(1)} in flight on average; some engine reported waiting requests in ${(100 * c.waitingShare).toFixed(0)} % of the samples (baseline: ${(100 * cb.waitingShare).toFixed(0)} %).` +
      (output ? ` Output file: ${(output.bytes / MB).toFixed(0)} MB, ${output.badLines} unparsable lines, ${output.unknownIds} custom_ids not in the input.` : ''),
    '',
    `**Host** (2 cores shared by everything below). CPU is % of one core over the phase; the gateway's event-loop delay p99 and max are its own \`/metrics\` readings over the phase; ` +
      `"other processes" = the machine's busy time minus the benchmark's processes. Load generator send lag p99 ${lagP99.toFixed(1)} ms.`,
    '',
    hostTable(monitor.phases, main.gateway),
    '',
    `**The engines' share** (\`bench/batch/engine-model.ts\`): one replica's engine model in virtual time, no HTTP, gateway or host: every 4th request of the interactive stream (same shapes) ` +
      `plus K batch requests of the batch's shape kept in flight, each replaced the moment it finishes, ${ENGINE_MODEL_S} s of model time per row. The engine schedules first come, first served, so a batch prefill in the step an ` +
      'interactive request waits behind, or in its own prefill step, delays its first token; that part of the TTFT increase is the same whatever the gateway does, short of sending less batch work at a time.',
    '',
    engineModelTable(engineRows),
    ...(sweep.length > 0
      ? [
          '',
          `**Tuning sweep**: \`batch.max_in_flight_per_deployment_with_interactive\` at ${SWEEP_CAPS.join(', ')}, each on a fresh gateway (replicas reset) with the same interactive load: ${SWEEP_BASELINE_S} s of baseline, then a batch of the first ` +
            `${SWEEP_LINES.toLocaleString('en-US')} lines of the same file. The last column extrapolates the measured items/s to 100,000 lines.`,
          '',
          sweepTable(sweep),
        ]
      : []),
  ].join('\n');
  console.log(`\n${text}`);
  if (write) {
    writeSection('batch', 'Batch: 100k-line batch beside interactive traffic (bench/batch.ts)', `npm run bench:batch${OVERRIDES.length ? ` (with ${OVERRIDES.map((k) => `${k}=${process.env[k]}`).join(' ')})` : ''}`, text);
    console.log('\nwrote docs/BENCHMARKS.md (section batch)');
  }
  if (batch.status !== 'completed' || !output || output.lines !== BATCH.lines || output.unique !== BATCH.lines) process.exitCode = 1;
} finally {
  await fleet.stop();
  rmSync(work, { recursive: true, force: true });
}
