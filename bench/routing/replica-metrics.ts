// Reads the replicas' own Prometheus /metrics (vLLM names) so the benchmark reports what the
// engines saw, not what the client guessed: prefix-cache hits and queries (tokens), prompt and
// generation tokens, preemptions, and the engines' time-to-first-token histogram sums (model
// time). Also reads a process's CPU time from /proc, to show how busy the host was.

import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { parsePrometheusText, sumOf } from '../../src/routing/prom-text.ts';

export interface EngineTotals {
  prefixHits: number;
  prefixQueries: number;
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  /** Sum and count of vllm:time_to_first_token_seconds (model seconds). */
  ttftSum: number;
  ttftCount: number;
}

const NAMES = {
  prefixHits: 'vllm:prefix_cache_hits_total',
  prefixQueries: 'vllm:prefix_cache_queries_total',
  promptTokens: 'vllm:prompt_tokens_total',
  generationTokens: 'vllm:generation_tokens_total',
  preemptions: 'vllm:num_preemptions_total',
  ttftSum: 'vllm:time_to_first_token_seconds_sum',
  ttftCount: 'vllm:time_to_first_token_seconds_count',
} as const;
const WANTED = new Set<string>(Object.values(NAMES));

export function zeroTotals(): EngineTotals {
  return { prefixHits: 0, prefixQueries: 0, promptTokens: 0, generationTokens: 0, preemptions: 0, ttftSum: 0, ttftCount: 0 };
}

async function scrapeOne(baseUrl: string): Promise<EngineTotals> {
  const res = await request(`${baseUrl}/metrics`);
  const samples = parsePrometheusText(await res.body.text(), WANTED);
  const t = zeroTotals();
  for (const key of Object.keys(NAMES) as (keyof EngineTotals)[]) t[key] = sumOf(samples, NAMES[key]) ?? 0;
  return t;
}

/** The counters summed over all replicas, and per replica. */
export async function scrapeAll(urls: string[]): Promise<{ total: EngineTotals; perReplica: EngineTotals[] }> {
  const perReplica = await Promise.all(urls.map(scrapeOne));
  const total = zeroTotals();
  for (const r of perReplica) for (const key of Object.keys(total) as (keyof EngineTotals)[]) total[key] += r[key];
  return { total, perReplica };
}

export function diffTotals(after: EngineTotals, before: EngineTotals): EngineTotals {
  const d = zeroTotals();
  for (const key of Object.keys(d) as (keyof EngineTotals)[]) d[key] = after[key] - before[key];
  return d;
}

/** CPU time (user + system) a process has used so far, ms; NaN where /proc is unavailable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** CPU time all processes on the host have used so far (busy time summed over cores), ms; NaN without /proc. */
export function hostBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [, ...fields] = line.trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
    void idle;
    void iowait;
    return ((user + nice + system + irq + softirq + (steal || 0)) * 1000) / 100;
  } catch {
    return NaN;
  }
}
