// Markdown for the routing benchmark: one results table per workload, the issue's targets, and
// the host check that shows the simulators kept up with their modelled GPUs.

import type { CapacityEstimate } from './capacity.ts';
import type { RunResult } from './run.ts';
import type { Workload } from './workloads.ts';

export interface WorkloadResults {
  workload: Workload;
  capacity: CapacityEstimate;
  timeScale: number;
  /** Requests sent per run at each load, and how many of them were warm-up. */
  counts: { load: number; requests: number; warmup: number }[];
  runs: { load: number; result: RunResult }[];
}

/** Runs during which other processes used more than this (% of one core) are marked with † in the tables. */
export const CONTENDED_PCT = 30;

const ms = (v: number) => (Number.isFinite(v) ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)}`) : '∞');
const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

export function resultsTable(w: WorkloadResults): string {
  const lines = [
    `**(${w.workload.id}) ${w.workload.title}**: ${w.workload.description}. Capacity ${w.capacity.requestsPerSecond.toFixed(1)} req/s ` +
      `(mean prompt ${int(w.capacity.meanPromptTokens)} tokens, output ${int(w.capacity.meanOutputTokens)}); time scale ${w.timeScale} ` +
      `(${w.counts.map((c) => `${Math.round(c.load * 100)} %: ${c.requests} requests, first ${c.warmup} not measured, offered output ${int(c.load * w.capacity.requestsPerSecond * w.capacity.meanOutputTokens)} tok/s`).join('; ')}).`,
    '',
    '| policy | load | TTFT p50 (ms) | TTFT p99 (ms) | E2E p50 (ms) | E2E p99 (ms) | output tok/s | prefix-cache hit | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { load, result: r } of w.runs) {
    lines.push(
      `| ${r.label}${r.host.otherCpuPct > CONTENDED_PCT ? ' †' : ''} | ${Math.round(load * 100)} % (${r.rate.toFixed(1)} req/s) | ${ms(r.ttftP50)} | ${ms(r.ttftP99)} | ${ms(r.e2eP50)} | ${ms(r.e2eP99)} | ${int(r.outputTokensPerSecond)} | ${pct(r.prefixHitRate)} | ${r.failed} |`,
    );
  }
  return lines.join('\n');
}

function find(w: WorkloadResults | undefined, label: string, load: number): RunResult | undefined {
  return w?.runs.find((r) => r.load === load && r.result.label === label)?.result;
}

export interface TargetLine {
  text: string;
  met: boolean | undefined;
}

/** The routing issue's two targets, per load, from whatever runs exist. */
export function targets(all: WorkloadResults[], schedulerLabel: string): TargetLine[] {
  const out: TargetLine[] = [];
  const a = all.find((w) => w.workload.id === 'a');
  const b = all.find((w) => w.workload.id === 'b');
  for (const { load } of a?.counts ?? []) {
    const rr = find(a, 'round-robin', load);
    const s = find(a, schedulerLabel, load);
    if (!rr || !s) continue;
    const ratio = rr.ttftP50 / s.ttftP50;
    out.push({
      text: `(a) at ${Math.round(load * 100)} %: round-robin p50 TTFT ${ms(rr.ttftP50)} ms / scheduler ${ms(s.ttftP50)} ms = **${ratio.toFixed(1)}×** (target ≥ 3×)`,
      met: ratio >= 3,
    });
  }
  for (const { load } of b?.counts ?? []) {
    const lr = find(b, 'least-requests', load);
    const s = find(b, schedulerLabel, load);
    if (!lr || !s) continue;
    const diff = s.ttftP50 / lr.ttftP50 - 1;
    out.push({
      text: `(b) at ${Math.round(load * 100)} %: scheduler p50 TTFT ${ms(s.ttftP50)} ms vs least-requests ${ms(lr.ttftP50)} ms = **${diff >= 0 ? '+' : ''}${(diff * 100).toFixed(1)} %** (target: at most +10 %)`,
      met: diff <= 0.1,
    });
  }
  return out;
}

export function hostTable(all: WorkloadResults[]): string {
  const lines = [
    '| workload | load | offered req/s (wall) | replica CPU max | replica loop delay p99 max (ms) | gateway CPU | gateway loop delay p99 (ms) | driver CPU | send lag p99 (ms) | TTFT overhead (model ms) | other processes\' CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of all) {
    for (const { load } of w.counts) {
      const runs = w.runs.filter((r) => r.load === load).map((r) => r.result);
      if (runs.length === 0) continue;
      const max = (f: (r: RunResult) => number) => Math.max(...runs.map(f).filter(Number.isFinite));
      const range = (f: (r: RunResult) => number) => {
        const v = runs.map(f).filter(Number.isFinite);
        return v.length ? `${Math.round(Math.min(...v))}–${Math.round(Math.max(...v))}` : 'n/a';
      };
      lines.push(
        `| (${w.workload.id}) | ${Math.round(load * 100)} % | ${(runs[0].rate / w.timeScale).toFixed(1)} | ${Math.round(max((r) => r.host.simCpuMaxPct))} % | ${max((r) => r.host.simLagP99MaxMs).toFixed(1)} | ` +
          `${Math.round(max((r) => r.host.gatewayCpuPct))} % | ${max((r) => r.host.gatewayLagP99Ms).toFixed(1)} | ${Math.round(max((r) => r.host.driverCpuPct))} % | ${max((r) => r.host.sendLagP99Ms).toFixed(1)} | ${range((r) => r.host.ttftOverheadMs)} | ${range((r) => r.host.otherCpuPct)} % |`,
      );
    }
  }
  return lines.join('\n');
}
