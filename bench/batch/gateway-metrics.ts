// The gateway's own view, read from its /metrics at every phase change: event-loop delay p99 and
// max since the previous read (prom-client resets its loop-delay histogram on every scrape), and
// its TTFT histogram (streaming requests only, so only the interactive ones here: batch requests
// never stream), whose per-phase difference says how much of the client-side TTFT arose before
// the gateway relayed the first token.

import { request } from 'undici';

export interface GatewayReading {
  lagP99Ms: number;
  lagMaxMs: number;
  /** Cumulative bucket counts of switchyard_time_to_first_token_seconds, by upper bound in seconds. */
  ttftBuckets: Map<number, number>;
}

const value = (text: string, name: string) => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
};

export async function readGateway(url: string): Promise<GatewayReading> {
  const empty = { lagP99Ms: NaN, lagMaxMs: NaN, ttftBuckets: new Map<number, number>() };
  try {
    const text = await (await request(`${url}/metrics`)).body.text();
    const buckets = new Map<number, number>();
    for (const m of text.matchAll(/^switchyard_time_to_first_token_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} ([0-9.eE+-]+)/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
    return { lagP99Ms: value(text, 'switchyard_process_nodejs_eventloop_lag_p99_seconds'), lagMaxMs: value(text, 'switchyard_process_nodejs_eventloop_lag_max_seconds'), ttftBuckets: buckets };
  } catch {
    return empty;
  }
}

/**
 * The bucket bound (ms) under which `p` % of the TTFTs observed between two readings fall: an upper
 * bound on the gateway-side percentile, as fine as the histogram's buckets (10, 20, 40, 60, 80, 100, 250 ms ...).
 */
export function ttftPercentileBoundMs(before: GatewayReading, after: GatewayReading, p: number): number {
  const bounds = [...after.ttftBuckets.keys()].sort((a, b) => a - b);
  const total = (after.ttftBuckets.get(Infinity) ?? 0) - (before.ttftBuckets.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of bounds) {
    const n = (after.ttftBuckets.get(le) ?? 0) - (before.ttftBuckets.get(le) ?? 0);
    if (n >= (p / 100) * total) return le * 1000;
  }
  return Infinity;
}
