// One benchmark run: fresh replicas (reset), a fresh gateway with one routing policy, one workload
// at one offered load. Returns latency percentiles converted to model time, throughput and the
// prefix-cache hit rate the replicas themselves counted, and how busy the host was.

import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { PolicyName } from '../../src/routing/policies/index.ts';
import { startGateway } from '../../test/support/processes.ts';
import { percentile } from '../lib/report.ts';
import { drive, type RequestOutcome } from './driver.ts';
import type { SimFleet } from './fleet.ts';
import { diffTotals, hostBusyMs, processCpuMs, scrapeAll, type EngineTotals } from './replica-metrics.ts';
import { MODEL, type PlannedRequest } from './workloads.ts';

/** A policy as benchmarked: the config's policy name plus how its config is written. */
export interface PolicyVariant {
  /** Label in the tables. */
  label: string;
  policy: PolicyName;
  /** Extra `routing` keys for the model in the gateway config. */
  routing?: Record<string, unknown>;
}

export interface RunSpec {
  variant: PolicyVariant;
  requests: PlannedRequest[];
  /** Offered load in requests per second of model time. */
  rate: number;
  timeScale: number;
  /** Requests arriving before this index are warm-up: sent, but not measured. */
  warmupCount: number;
}

export interface HostCheck {
  /** Highest CPU use of any replica process over the run, % of one core. */
  simCpuMaxPct: number;
  /** Highest p99 event-loop delay of any replica process, wall ms. */
  simLagP99MaxMs: number;
  gatewayCpuPct: number;
  /** Gateway event-loop delay p99 over the run (its own /metrics), wall ms; NaN if not reported. */
  gatewayLagP99Ms: number;
  driverCpuPct: number;
  /** How late the driver sent requests, p99, wall ms. */
  sendLagP99Ms: number;
  /** Mean client-side TTFT minus the replicas' mean TTFT (their histograms), model ms: gateway + HTTP + host time. */
  ttftOverheadMs: number;
  /** CPU used by processes outside the benchmark (other work on the machine) during the run, % of one core. */
  otherCpuPct: number;
}

export interface RunResult {
  label: string;
  rate: number;
  measured: number;
  failed: number;
  firstError?: string;
  /** Model-time milliseconds. */
  ttftP50: number;
  ttftP99: number;
  e2eP50: number;
  e2eP99: number;
  /** Output tokens per second of model time, over the measured window (replicas' counters). */
  outputTokensPerSecond: number;
  /** Prefix-cache hit rate in tokens over the measured window (replicas' counters), 0-1. */
  prefixHitRate: number;
  preemptions: number;
  host: HostCheck;
  wallSeconds: number;
}

function gatewayConfig(urls: string[], variant: PolicyVariant, timeScale: number) {
  return {
    log_level: 'warn',
    models: [
      {
        name: MODEL,
        deployments: urls.map((url, i) => ({ id: `replica-${i}`, provider: 'openai-compatible', engine: 'vllm', url: `${url}/v1` })),
        routing: {
          policy: variant.policy,
          // The gateway's clocks run in wall time while the replicas run `1/timeScale` times faster
          // or slower; scaling the scrape interval and staleness bound keeps them where their
          // defaults (250 ms, 2 s) put them relative to the engines.
          scrape_interval_ms: Math.max(10, Math.round(250 * timeScale)),
          stale_after_ms: Math.max(50, Math.round(2000 * timeScale)),
          ...variant.routing,
        },
        timeouts: { first_token_ms: 600_000, idle_ms: 600_000, total_ms: 1_200_000 },
      },
    ],
  };
}

async function gatewayLagP99Ms(url: string): Promise<number> {
  try {
    const res = await request(`${url}/metrics`);
    const text = await res.body.text();
    const m = /^switchyard_process_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)/m.exec(text);
    return m ? Number(m[1]) * 1000 : NaN;
  } catch {
    return NaN;
  }
}

function sorted(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

/** CPU used by processes other than the benchmark's own over `ms`, % of one core. */
async function otherCpuPct(fleet: SimFleet, ms: number): Promise<number> {
  const own = () => fleet.pids.reduce((s, pid) => s + processCpuMs(pid), 0) + processCpuMs(process.pid);
  const busy0 = hostBusyMs();
  const own0 = own();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (100 * (hostBusyMs() - busy0 - (own() - own0))) / ms;
}

/**
 * Waits (up to `maxWaitMs`) until other work on the machine uses less than `quietPct` of a core,
 * so that a run is not measured while, say, a test suite shares the cores. Returns the ms waited.
 */
export async function waitForQuietHost(fleet: SimFleet, quietPct: number, maxWaitMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < maxWaitMs) {
    if ((await otherCpuPct(fleet, 1000)) < quietPct) break;
  }
  return performance.now() - start;
}

/** The gateway of the run in progress, so an interrupted benchmark can stop it. */
export let activeGateway: { stop(): Promise<unknown> } | undefined;

export async function runOne(fleet: SimFleet, spec: RunSpec): Promise<RunResult> {
  const { requests, rate, timeScale, warmupCount } = spec;
  await fleet.reset(timeScale);
  const gateway = await startGateway({ config: gatewayConfig(fleet.urls, spec.variant, timeScale) });
  activeGateway = gateway;
  try {
    const wallPerModelMs = timeScale;
    const sendAt = requests.map((r) => (r.at / rate) * 1000 * wallPerModelMs);
    const warmAt = sendAt[warmupCount] ?? 0;
    const lastAt = sendAt[sendAt.length - 1] ?? 0;
    const scheduleMs = lastAt;
    // Snapshots of the replicas' counters: at the end of the warm-up, at the last arrival, after the drain.
    let warmSnap: Promise<{ total: EngineTotals; t: number }> | undefined;
    let endSnap: Promise<{ total: EngineTotals; t: number }> | undefined;
    const snap = async () => {
      const t = performance.now();
      return { total: (await scrapeAll(fleet.urls)).total, t };
    };
    const startSnap = await snap();
    await fleet.stats(); // resets the replicas' CPU and lag windows
    await gatewayLagP99Ms(gateway.url); // prom-client resets its lag histogram on every read
    const gatewayCpu0 = processCpuMs(gateway.child.pid ?? -1);
    const driverCpu0 = process.cpuUsage();
    const hostBusy0 = hostBusyMs();
    const timers: NodeJS.Timeout[] = [];
    const t0 = performance.now();
    const result = await drive(
      gateway.url,
      requests.map((r, i) => ({ sendAtMs: sendAt[i], body: r.body })),
      scheduleMs * 1.5 + 20_000,
      (start) => {
        timers.push(setTimeout(() => (warmSnap = snap()), Math.max(0, warmAt - (performance.now() - start))));
        timers.push(setTimeout(() => (endSnap = snap()), Math.max(0, lastAt - (performance.now() - start))));
      },
    );
    const wallMs = performance.now() - t0;
    for (const t of timers) clearTimeout(t);
    const driverCpu = process.cpuUsage(driverCpu0);
    const gatewayCpu = processCpuMs(gateway.child.pid ?? -1) - gatewayCpu0;
    const hostBusy = hostBusyMs() - hostBusy0;
    const simStats = await fleet.stats();
    const gatewayLag = await gatewayLagP99Ms(gateway.url);
    const drained = await snap();
    const warm = (await warmSnap) ?? startSnap;
    const end = (await endSnap) ?? drained;

    const measured: RequestOutcome[] = result.outcomes.slice(warmupCount);
    const failed = measured.filter((o) => !o.ok);
    const toModel = (wall: number) => wall / timeScale;
    // A request that never produced a token (or never ended) counts as slower than every other.
    const ttft = sorted(measured.map((o) => (o.ok && Number.isFinite(o.ttftMs) ? toModel(o.ttftMs) : Infinity)));
    const e2e = sorted(measured.map((o) => (o.ok && Number.isFinite(o.e2eMs) ? toModel(o.e2eMs) : Infinity)));
    const window = diffTotals(drained.total, warm.total);
    const tokensWindow = diffTotals(end.total, warm.total);
    const windowModelSeconds = toModel(end.t - warm.t) / 1000;
    // Both means over the measured requests (the replicas' histograms from the end of warm-up on).
    const okMeasured = measured.filter((o) => o.ok && Number.isFinite(o.ttftMs));
    const clientTtftMean = okMeasured.reduce((s, o) => s + toModel(o.ttftMs), 0) / Math.max(1, okMeasured.length);
    const engineTtftMean = window.ttftCount > 0 ? (window.ttftSum / window.ttftCount) * 1000 : NaN;
    const ownCpu = simStats.reduce((s, x) => s + x.cpuMs, 0) + gatewayCpu + (driverCpu.user + driverCpu.system) / 1000;
    return {
      label: spec.variant.label,
      rate,
      measured: measured.length,
      failed: failed.length,
      firstError: failed[0]?.error,
      ttftP50: percentile(ttft, 50),
      ttftP99: percentile(ttft, 99),
      e2eP50: percentile(e2e, 50),
      e2eP99: percentile(e2e, 99),
      outputTokensPerSecond: windowModelSeconds > 0 ? tokensWindow.generationTokens / windowModelSeconds : NaN,
      prefixHitRate: window.prefixQueries > 0 ? window.prefixHits / window.prefixQueries : 0,
      preemptions: window.preemptions,
      host: {
        simCpuMaxPct: Math.max(...simStats.map((s) => (100 * s.cpuMs) / s.wallMs)),
        simLagP99MaxMs: Math.max(...simStats.map((s) => s.lagP99Ms)),
        gatewayCpuPct: (100 * gatewayCpu) / wallMs,
        gatewayLagP99Ms: gatewayLag,
        driverCpuPct: (100 * (driverCpu.user + driverCpu.system)) / 1000 / wallMs,
        sendLagP99Ms: result.sendLagP99Ms,
        ttftOverheadMs: clientTtftMean - engineTtftMean,
        otherCpuPct: Math.max(0, (100 * (hostBusy - ownCpu)) / wallMs),
      },
      wallSeconds: wallMs / 1000,
    };
  } finally {
    activeGateway = undefined;
    await gateway.stop();
  }
}
