// Profiles Switchyard's hot path under the overhead benchmark's load: starts the stub and a
// gateway with keys + limits + budgets + ledger ON under `node --cpu-prof`, drives it closed loop,
// stops it (the profile is written on exit) and prints where the CPU went, by function and by file.
// It also lists the longest busy stretches of the event loop (what a p99 is made of).
// `tsx bench/overhead/profile.ts [json|burst|paced]`; BENCH_PROFILE_MS (default 10000),
// BENCH_PROFILE_RATE (req/s, open loop; default closed loop at saturation), BENCH_TENANCY=0 for
// the OFF configuration, BENCH_ALLOC=1 for bytes allocated per request by function,
// BENCH_NODE_FLAGS for extra gateway flags (e.g. --trace-gc). The .cpuprofile is kept for Chrome DevTools.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStub, startSwitchyard, type Scenario } from './contenders.ts';
import { Driver } from './harness.ts';
import { busyStretches, formatStretches, profileMs, type CpuProfile } from './busy-stretches.ts';
import { allocationReport, type AllocProfile } from './alloc-report.ts';

const scenario = (process.argv[2] ?? 'json') as Scenario;
const durationMs = Number(process.env.BENCH_PROFILE_MS ?? 10_000);
/** BENCH_ALLOC=1: also sample allocations (collected objects included) and report where they came from. */
const ALLOC = process.env.BENCH_ALLOC === '1';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-profile-'));
const profDir = join(dir, 'prof');
const allocFile = join(dir, 'alloc.heapprofile');
const stub = await startStub(dir, 0);
const driver = await Driver.start(0);
const gateway = await startSwitchyard({
  tenancy: process.env.BENCH_TENANCY !== '0',
  cpu: 1,
  dir,
  stub,
  // BENCH_NODE_FLAGS adds flags for the investigation at hand (e.g. --trace-gc; the gateway's output is in <dir>/switchyard-on.log).
  nodeFlags: [
    '--cpu-prof',
    `--cpu-prof-dir=${profDir}`,
    ...(ALLOC ? ['--import', fileURLToPath(new URL('./alloc-sampler.mjs', import.meta.url))] : []),
    ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ],
  env: { ...(process.env.BENCH_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}), ...(ALLOC ? { ALLOC_PROFILE_OUT: allocFile } : {}) },
});
/** Requests served, warm-up included (for bytes allocated per request). */
const served = { requests: 0 };
try {
  const target = gateway.target(scenario);
  const stream = scenario !== 'json';
  const rate = Number(process.env.BENCH_PROFILE_RATE ?? 0);
  const result = await driver.run(
    rate > 0 ? { mode: 'rate', target, stream, rate, warmupMs: 2_000, durationMs } : { mode: 'closed', target, stream, concurrency: 64, warmupMs: 2_000, durationMs },
  );
  served.requests = Math.round((result.rps * (durationMs + 2_000)) / 1000);
  console.log(`${scenario}: ${result.rps.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms, errors ${result.errors + result.non2xx}`);
} finally {
  driver.stop();
  await gateway.stop();
  await stub.stop();
}

const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${profDir}`);
const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/') || '(native)';
  const fn = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  const fileKey = short.replace(/^node_modules\/((@[^/]+\/)?[^/]+).*/, 'node_modules/$1');
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + hits);
}
// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const { functionName, url } = nodeById.get(id)!.callFrame;
    if (!url.includes('/src/') && !url.includes('node_modules/')) continue;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/')}`;
    if (!seen.has(key)) {
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
    }
  }
}
const top = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
console.log(`\ninclusive time, Switchyard and package functions (top 50):\n${top(inclusive, 50)}`);
// The profile's last durationMs + 1 s: the measured window, the shutdown after it, and the end of
// the warm-up before it (a cold process's first requests show there as long stretches).
const measuredFrom = profileMs(profile) - durationMs - 1_000;
console.log(`\nlogs and profile in ${dir}`);
console.log(`\nlongest busy stretches of the event loop from the end of the warm-up on (over 2 ms, top 10; times from the profile's start):\n${formatStretches(busyStretches(profile, 2, 10, measuredFrom))}`);
console.log(`\nself time by function (top 40):\n${top(byFunction, 40)}\n\nself time by file or package (top 30):\n${top(byFile, 30)}\n\nprofile: ${join(profDir, file)}`);
if (ALLOC) console.log(`\n${allocationReport(JSON.parse(readFileSync(allocFile, 'utf8')) as AllocProfile, served.requests)}`);
