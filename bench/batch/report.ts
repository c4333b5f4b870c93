// Markdown for the batch benchmark: the headline figures against issue 5's goals, interactive TTFT
// per phase, what the host did per phase, and the output-file check.

import { percentile } from '../lib/report.ts';
import type { EngineModelResult } from './engine-model.ts';
import type { PhaseStats } from './host.ts';
import type { Sample } from './interactive.ts';
import type { OutputCheck } from './verify.ts';

export const RSS_GOAL_MB = 300;
export const TTFT_GOAL_PCT = 20;

export interface TtftStats {
  phase: string;
  /** The phase names it covers (the gateway's readings are kept by phase name). */
  keys: string[];
  count: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  firstError?: string;
}

const MB = 2 ** 20;
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '∞');
const int = (v: number) => Math.round(v).toLocaleString('en-US');

/** TTFT percentiles of the requests sent in the given phases; a failed request counts as slower than all. */
export function ttftStats(samples: Sample[], label: string, phases: string[]): TtftStats {
  const mine = samples.filter((s) => phases.includes(s.phase));
  const failed = mine.filter((s) => !s.ok);
  const v = mine.map((s) => (s.ok ? s.ttftMs : Infinity)).sort((a, b) => a - b);
  return { phase: label, keys: phases, count: mine.length, failed: failed.length, p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99), max: v.at(-1) ?? NaN, firstError: failed[0]?.error };
}

/** What the gateway measured over one phase (its /metrics). */
export interface GatewayPhase {
  lagP99Ms: number;
  lagMaxMs: number;
  /** Bucket bounds of its streaming TTFT histogram. */
  ttftP50Ms: number;
  ttftP99Ms: number;
}

const bound = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? 'n/a' : `≤ ${Number.isFinite(v) ? v.toFixed(0) : '∞'}`);

export function ttftTable(rows: TtftStats[], gateway: Map<string, GatewayPhase>): string {
  return [
    '| interactive requests sent during | requests | TTFT p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | failed | gateway-side TTFT p50 / p99 (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows
      .filter((r) => r.count > 0)
      .map((r) => {
        const g = r.keys.length === 1 ? gateway.get(r.keys[0]) : undefined;
        return `| ${r.phase} | ${int(r.count)} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.failed} | ${bound(g?.ttftP50Ms)} / ${bound(g?.ttftP99Ms)} |`;
      }),
  ].join('\n');
}

export function hostTable(phases: PhaseStats[], gateway: Map<string, GatewayPhase>): string {
  return [
    '| phase | wall (s) | gateway RSS peak (MB) | RSS at end (MB) | gateway CPU | gateway loop delay p99 / max (ms) | 4 replicas CPU | load generator CPU | other processes CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    // A status seen by one poll only (e.g. `completed` right before `after`) lasts no time at all.
    ...phases.filter((p) => p.wallMs >= 100).map(
      (p) =>
        `| ${p.name} | ${(p.wallMs / 1000).toFixed(1)} | ${(p.rssPeak / MB).toFixed(0)} | ${(p.rssEnd / MB).toFixed(0)} | ${p.gatewayCpuPct.toFixed(0)} % | ` +
        `${ms(gateway.get(p.name)?.lagP99Ms ?? NaN)} / ${ms(gateway.get(p.name)?.lagMaxMs ?? NaN)} | ${p.simCpuPct.toFixed(0)} % | ${p.benchCpuPct.toFixed(0)} % | ${p.otherCpuPct.toFixed(0)} % |`,
    ),
  ].join('\n');
}

export interface Headline {
  itemsPerSecond: number;
  /** While interactive requests arrived, and while none did. */
  besideItemsPerSecond: number;
  aloneItemsPerSecond: number;
  totalSeconds: number;
  uploadSeconds: number;
  validatingSeconds: number;
  finalizingSeconds: number;
  peakRss: number;
  baseline: TtftStats;
  during: TtftStats;
  status: string;
  output?: OutputCheck;
  lines: number;
}

export function headlineTable(h: Headline): { table: string; ttftChangePct: number; rssMet: boolean; ttftMet: boolean } {
  const change = (100 * (h.during.p99 - h.baseline.p99)) / h.baseline.p99;
  const rssMb = h.peakRss / MB;
  const rssMet = rssMb < RSS_GOAL_MB;
  const ttftMet = change < TTFT_GOAL_PCT;
  const mark = (met: boolean) => (met ? 'met' : '**missed**');
  const table = [
    '| figure | result | goal |',
    '|---|---:|---|',
    `| batch throughput beside interactive traffic | ${h.besideItemsPerSecond.toFixed(0)} items/s | — |`,
    `| batch throughput with no interactive traffic | ${h.aloneItemsPerSecond.toFixed(0)} items/s | — |`,
    `| batch throughput, whole run in progress | ${h.itemsPerSecond.toFixed(0)} items/s | — |`,
    `| batch total time, create → completed | ${h.totalSeconds.toFixed(0)} s (validating ${h.validatingSeconds.toFixed(0)} s, finalizing ${h.finalizingSeconds.toFixed(0)} s); upload before it ${h.uploadSeconds.toFixed(1)} s | — |`,
    `| gateway peak RSS (whole run) | ${rssMb.toFixed(0)} MB | < ${RSS_GOAL_MB} MB: ${mark(rssMet)} |`,
    `| interactive TTFT p50, alone → batch in progress | ${ms(h.baseline.p50)} → ${ms(h.during.p50)} ms | — |`,
    `| interactive TTFT p99, alone → batch in progress | ${ms(h.baseline.p99)} → ${ms(h.during.p99)} ms (${change >= 0 ? '+' : ''}${change.toFixed(1)} %) | < +${TTFT_GOAL_PCT} %: ${mark(ttftMet)} |`,
    `| batch result | ${h.status}; output ${h.output ? `${int(h.output.lines)} lines, ${int(h.output.unique)} unique custom_ids, ${int(h.output.ok200)} with status 200` : 'not checked'} | ${int(h.lines)} lines, all unique |`,
  ].join('\n');
  return { table, ttftChangePct: change, rssMet, ttftMet };
}

export function engineModelTable(rows: EngineModelResult[]): string {
  const none = rows.find((r) => r.batchInFlightPerReplica === 0);
  return [
    '| batch requests in flight per replica | interactive TTFT p50 (ms) | p99 (ms) | p99 vs no batch | batch items/s (4 replicas) |',
    '|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const change = none ? (100 * (r.ttftP99 - none.ttftP99)) / none.ttftP99 : NaN;
      return `| ${r.batchInFlightPerReplica} | ${ms(r.ttftP50)} | ${ms(r.ttftP99)} | ${r.batchInFlightPerReplica === 0 ? '—' : `${change >= 0 ? '+' : ''}${change.toFixed(0)} %`} | ${r.itemsPerSecond.toFixed(0)} |`;
    }),
  ].join('\n');
}

export interface SweepRow {
  cap: number;
  lines: number;
  itemsPerSecond: number;
  batchInFlightMean: number;
  baseline: TtftStats;
  during: TtftStats;
  /** The engine model's p99 change with `cap` batch requests kept in flight per replica. */
  engineP99ChangePct: number;
}

export function sweepTable(rows: SweepRow[]): string {
  const pct = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(0)} %` : 'n/a');
  return [
    '| max_in_flight_per_deployment_with_interactive | batch items/s | batch in flight, mean (cap) | TTFT p50 alone → in progress (ms) | TTFT p99 alone → in progress (ms) | p99 change | engine model p99 change at the cap | 100k lines would take |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const change = (100 * (r.during.p99 - r.baseline.p99)) / r.baseline.p99;
      return (
        `| ${r.cap} | ${r.itemsPerSecond.toFixed(0)} | ${r.batchInFlightMean.toFixed(1)} (${Math.max(1, Math.floor(4 * r.cap))}) | ${ms(r.baseline.p50)} → ${ms(r.during.p50)} | ${ms(r.baseline.p99)} → ${ms(r.during.p99)} | ` +
        `${pct(change)}${change < TTFT_GOAL_PCT ? '' : ' (missed)'} | ${pct(r.engineP99ChangePct)} | ${(100_000 / r.itemsPerSecond / 60).toFixed(0)} min |`
      );
    }),
  ].join('\n');
}

/** Interactive TTFT p99 per minute of a phase: shows whether the cost grows as the batch goes on. */
export function p99ByMinute(samples: Sample[], phase: string): number[] {
  const mine = samples.filter((s) => s.phase === phase);
  if (mine.length === 0) return [];
  const start = mine[0].sentAt;
  const minutes: number[][] = [];
  for (const s of mine) (minutes[Math.floor((s.sentAt - start) / 60_000)] ??= []).push(s.ok ? s.ttftMs : Infinity);
  return minutes.map((m) => percentile(m.sort((a, b) => a - b), 99));
}
