// What the host did, per phase of the benchmark: the gateway's resident memory (VmRSS from
// /proc/<pid>/status every 500 ms, peak and last), and CPU time of the gateway, the simulator
// replicas, this process and everything else on the machine, so a figure measured while other
// work shared the two cores can be recognised as such.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { hostBusyMs, processCpuMs } from '../routing/replica-metrics.ts';

const RSS_EVERY_MS = 500;

/** Resident set size of a process in bytes; NaN if it cannot be read. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface PhaseStats {
  name: string;
  wallMs: number;
  rssPeak: number;
  rssEnd: number;
  /** % of one core over the phase. */
  gatewayCpuPct: number;
  simCpuPct: number;
  benchCpuPct: number;
  otherCpuPct: number;
}

interface Mark {
  t: number;
  gateway: number;
  sims: number;
  bench: number;
  host: number;
}

export class HostMonitor {
  readonly phases: PhaseStats[] = [];
  private readonly timer: NodeJS.Timeout;
  private current: { name: string; start: Mark; rssPeak: number; rssEnd: number } | undefined;
  private peakOverall = 0;

  constructor(
    private readonly gatewayPid: number,
    private readonly simPids: number[],
  ) {
    this.timer = setInterval(() => this.sample(), RSS_EVERY_MS);
  }

  get peakRss(): number {
    return this.peakOverall;
  }

  /** Ends the current phase (if any) and starts the next. */
  phase(name: string | undefined): void {
    this.sample();
    const now = this.mark();
    if (this.current) {
      const { start } = this.current;
      const wall = now.t - start.t;
      const pct = (ms: number) => (100 * ms) / wall;
      const own = now.gateway - start.gateway + (now.sims - start.sims) + (now.bench - start.bench);
      this.phases.push({
        name: this.current.name,
        wallMs: wall,
        rssPeak: this.current.rssPeak,
        rssEnd: this.current.rssEnd,
        gatewayCpuPct: pct(now.gateway - start.gateway),
        simCpuPct: pct(now.sims - start.sims),
        benchCpuPct: pct(now.bench - start.bench),
        otherCpuPct: Math.max(0, pct(now.host - start.host - own)),
      });
    }
    this.current = name === undefined ? undefined : { name, start: now, rssPeak: 0, rssEnd: 0 };
  }

  stop(): void {
    this.phase(undefined);
    clearInterval(this.timer);
  }

  private sample(): void {
    const rss = rssBytes(this.gatewayPid);
    if (!Number.isFinite(rss)) return;
    this.peakOverall = Math.max(this.peakOverall, rss);
    if (this.current) {
      this.current.rssPeak = Math.max(this.current.rssPeak, rss);
      this.current.rssEnd = rss;
    }
  }

  private mark(): Mark {
    const cpu = process.cpuUsage();
    return {
      t: performance.now(),
      gateway: processCpuMs(this.gatewayPid),
      sims: this.simPids.reduce((s, pid) => s + processCpuMs(pid), 0),
      bench: (cpu.user + cpu.system) / 1000,
      host: hostBusyMs(),
    };
  }
}
