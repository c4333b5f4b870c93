// Gateway overhead benchmark: the latency a proxy adds and the load one process holds, Switchyard
// (tenancy + FinOps on, and off) side by side with nginx and Portkey's gateway, all in front of the
// same instant stub upstream, in one run, contenders alternating at every load point.
// `npm run bench:overhead` (see docs/BENCHMARKS.md for the method; env vars below shorten runs).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { direct, HOLD_MS, startNginx, startNodeFloor, startPortkey, startStub, startSwitchyard, type Contender, type Scenario } from './contenders.ts';
import type { HoldResult, LoadResult } from './driver-protocol.ts';
import { Driver, measure, waitUntilIdle, type Measured } from './harness.ts';
import { cpuMs, hostBusyMs, processTree } from './proc-stats.ts';
import { findNginx, findPortkey } from './peers.ts';
import { renderReport, type LoadPoint, type Results } from './report.ts';
import { writeSection } from '../lib/report.ts';

const env = process.env;
const list = (value: string | undefined, fallback: string) => (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const settings = {
  warmupMs: Number(env.BENCH_WARMUP_MS ?? 1_000),
  durationMs: Number(env.BENCH_DURATION_MS ?? 5_000),
  rates: list(env.BENCH_RATES, '200,1000,3000').map(Number),
  streamRates: list(env.BENCH_STREAM_RATES, '50,200').map(Number),
  saturationConcurrency: Number(env.BENCH_SATURATION_CONCURRENCY ?? 64),
  holdStreams: Number(env.BENCH_HOLD_STREAMS ?? 5_000),
  holdOpenPerSecond: Number(env.BENCH_HOLD_OPEN_PER_S ?? 1_000),
  holdContenders: list(env.BENCH_HOLD, 'switchyard-on,nginx,portkey'),
  contenders: list(env.BENCH_CONTENDERS, 'direct,switchyard-on,switchyard-off,nginx,portkey,node-floor'),
  write: env.BENCH_WRITE !== '0',
};

const log = (line: string) => console.log(`[bench:overhead] ${line}`);

// Two cores or more: the contenders get core 1 to themselves; the driver, the stub and this
// orchestrator share core 0. One core: nothing is pinned.
const pin = cpus().length >= 2;
const LOAD_CPU = pin ? 0 : undefined;
const CONTENDER_CPU = pin ? 1 : undefined;
if (pin) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

const dir = mkdtempSync(join(tmpdir(), 'switchyard-overhead-'));
const notes: string[] = [];
const contenders: Contender[] = [];
const started = Date.now();
const stub = await startStub(dir, LOAD_CPU);
const driver = await Driver.start(LOAD_CPU);

async function launch(): Promise<void> {
  const wanted = new Set(settings.contenders);
  if (wanted.has('direct')) contenders.push(direct(stub));
  // Investigation only (e.g. --trace-gc, read with BENCH_KEEP_LOGS=1): node flags for Switchyard.
  const nodeFlags = (process.env.BENCH_SWITCHYARD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (wanted.has('switchyard-on')) contenders.push(await startSwitchyard({ tenancy: true, cpu: CONTENDER_CPU, dir, stub, nodeFlags }));
  if (wanted.has('switchyard-off')) contenders.push(await startSwitchyard({ tenancy: false, cpu: CONTENDER_CPU, dir, stub, nodeFlags }));
  // Investigation only: an A/B of node flags, alternating with switchyard-on in the same run (machine drift hits both alike).
  const variantFlags = (process.env.BENCH_VARIANT_FLAGS ?? '').split(' ').filter(Boolean);
  if (wanted.has('switchyard-variant') && variantFlags.length > 0) {
    contenders.push(await startSwitchyard({ tenancy: true, cpu: CONTENDER_CPU, dir, stub, nodeFlags: [...nodeFlags, ...variantFlags], variant: variantFlags.join(' ') }));
  }
  // Before/after a change: the ON gateway of another checkout (BENCH_BASELINE_DIR, with its own
  // node_modules), alternating with this one in the same run.
  const baselineDir = process.env.BENCH_BASELINE_DIR;
  if (wanted.has('switchyard-baseline') && baselineDir) {
    const label = execFileSync('git', ['-C', baselineDir, 'log', '-1', '--format=%h'], { encoding: 'utf8' }).trim();
    contenders.push(await startSwitchyard({ tenancy: true, cpu: CONTENDER_CPU, dir, stub, nodeFlags, baseline: { root: baselineDir, label } }));
  }
  if (wanted.has('node-floor')) contenders.push(await startNodeFloor(dir, stub, CONTENDER_CPU));
  if (wanted.has('nginx')) {
    const nginx = findNginx(log);
    if (nginx.path) contenders.push(await startNginx(nginx.path, dir, stub, CONTENDER_CPU));
    else notes.push(nginx.note!);
  }
  if (wanted.has('portkey')) {
    const portkey = findPortkey(log);
    if (portkey.entry) contenders.push(await startPortkey(portkey.entry, portkey.version, dir, stub, CONTENDER_CPU));
    else notes.push(portkey.note!);
  }
}

/** Every contender once at this load point, starting with a different one each time (drift hits all alike). */
async function alternate(point: LoadPoint, index: number, results: Results, jobFor: (c: Contender) => Parameters<Driver['run']>[0]): Promise<void> {
  const row = new Map<string, Measured<LoadResult>>();
  results.points.push({ point, byContender: row });
  for (let i = 0; i < contenders.length; i++) {
    const c = contenders[(i + index) % contenders.length];
    const waited = await waitUntilIdle(contenders);
    if (waited > 2_000) log(`waited ${(waited / 1000).toFixed(1)} s for the contenders to go idle`);
    const m = await measure(c, () => driver.run(jobFor(c)) as Promise<LoadResult>);
    row.set(c.id, m);
    const r = m.result;
    log(`${point.label.padEnd(28)} ${c.id.padEnd(15)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50.toFixed(3)} ms  p99 ${r.latency.p99.toFixed(3)} ms  cpu ${((m.cpuMs * 1000) / Math.max(1, r.total)).toFixed(0)} µs/req  errors ${r.errors + r.non2xx}`);
  }
}

const { warmupMs, durationMs } = settings;
const results: Results = { settings, points: [], holds: new Map<string, Measured<HoldResult>>(), contenders: [], notes, totalMinutes: 0, otherCpuShare: 0 };
try {
  await launch();
  results.contenders = contenders.map((c) => ({ id: c.id, label: c.label }));
  log(`contenders: ${contenders.map((c) => c.id).join(', ')}; logs in ${dir}`);
  // Whatever else runs on the machine meanwhile is measured and reported, never assumed away.
  const ownPids = processTree(process.pid);
  const hostBefore = hostBusyMs();
  const ownBefore = cpuMs(ownPids);
  const wallBefore = performance.now();
  const otherShare = () => (hostBusyMs() - hostBefore - (cpuMs(ownPids) - ownBefore)) / (performance.now() - wallBefore);

  // Warm-up (JIT, connection pools, the ledger's first flushes), not recorded.
  for (const c of contenders) {
    for (const scenario of ['json', 'burst'] as Scenario[]) {
      await driver.run({ mode: 'closed', target: c.target(scenario), stream: scenario !== 'json', concurrency: 8, warmupMs: 0, durationMs: 1_500 });
    }
  }

  let index = 0;
  for (const rate of settings.rates) {
    const point: LoadPoint = { key: `json@${rate}`, label: `json ${rate} req/s`, kind: 'json', rate };
    await alternate(point, index++, results, (c) => ({ mode: 'rate', target: c.target('json'), stream: false, rate, warmupMs, durationMs }));
  }
  const concurrency = settings.saturationConcurrency;
  await alternate({ key: 'json@max', label: `json saturation c=${concurrency}`, kind: 'json' }, index++, results, (c) => ({
    mode: 'closed',
    target: c.target('json'),
    stream: false,
    concurrency,
    warmupMs,
    durationMs,
  }));
  for (const rate of settings.streamRates) {
    const point: LoadPoint = { key: `paced@${rate}`, label: `stream ${rate} streams/s`, kind: 'paced', rate };
    await alternate(point, index++, results, (c) => ({ mode: 'rate', target: c.target('paced'), stream: true, rate, warmupMs: warmupMs + 1_000, durationMs }));
  }
  await alternate({ key: 'burst@max', label: `stream saturation c=${concurrency}`, kind: 'burst' }, index++, results, (c) => ({
    mode: 'closed',
    target: c.target('burst'),
    stream: true,
    concurrency,
    warmupMs,
    durationMs,
  }));

  for (const c of contenders.filter((x) => settings.holdContenders.includes(x.id))) {
    await waitUntilIdle(contenders);
    log(`holding ${settings.holdStreams} streams open through ${c.id} (one chunk every ${HOLD_MS} ms, 100 chunks)`);
    const m = await measure(c, () =>
      driver.run({ mode: 'hold', target: c.target('hold'), streams: settings.holdStreams, openPerSecond: settings.holdOpenPerSecond, stallMs: 2_000, timeoutMs: 90_000 }),
    );
    results.holds.set(c.id, m);
    const h = m.result;
    log(`hold ${c.id}: completed ${h.completed}/${h.opened}, stalled ${h.stalled}, errors ${h.errors}, max gap ${Number(h.maxGapMs).toFixed(0)} ms, peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB${h.firstError ? `; first error: ${h.firstError}` : ''}`);
  }
  results.totalMinutes = (Date.now() - started) / 60_000;
  results.otherCpuShare = Math.max(0, otherShare());
  log(`other processes used ${(100 * results.otherCpuShare).toFixed(0)} % of a core on average during the run`);

  const body = renderReport(results);
  console.log(`\n${body}\n`);
  if (settings.write) writeSection('overhead', 'Gateway overhead vs nginx and Portkey (bench/overhead/)', 'npm run bench:overhead', body);
} finally {
  driver.stop();
  for (const c of contenders) await c.stop().catch(() => {});
  await stub.stop();
  if (env.BENCH_KEEP_LOGS !== '1') rmSync(dir, { recursive: true, force: true });
}
