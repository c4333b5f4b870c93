// Polls each self-hosted deployment's Prometheus /metrics and keeps its load signals fresh.
// A scrape never overlaps the previous one of the same deployment; failures leave the last
// signals to age out (policies ignore signals older than their staleness bound).

import { request } from 'undici';
import type { Deployment } from './deployment.ts';
import { SignalTracker } from './engine-signals.ts';

export class MetricsScraper {
  private readonly tracker = new SignalTracker();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly busy = new Set<Deployment>();

  constructor(private readonly targets: { deployment: Deployment; intervalMs: number }[]) {}

  async scrape(deployment: Deployment): Promise<void> {
    if (deployment.metricsUrl === null || this.busy.has(deployment)) return;
    this.busy.add(deployment);
    try {
      const timeout = Math.max(100, Math.min(2_000, deployment.timeouts.connect_ms));
      const res = await request(deployment.metricsUrl, { method: 'GET', dispatcher: deployment.pool, headersTimeout: timeout, bodyTimeout: timeout });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return;
      }
      const text = await res.body.text();
      deployment.scraped = this.tracker.update(deployment.id, text, Date.now());
    } catch {
      // Unreachable replicas are the health checker's business; stale signals age out by themselves.
    } finally {
      this.busy.delete(deployment);
    }
  }

  start(): void {
    for (const { deployment, intervalMs } of this.targets) {
      if (deployment.metricsUrl === null) continue;
      const timer = setInterval(() => void this.scrape(deployment), intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
