// Active health checks: each probe-able deployment is polled; a 2xx marks it healthy, anything else
// (or no answer within the connect timeout) takes it out of rotation until a probe passes again.
// Hosted APIs are not probed: their failures are seen by the circuit breaker instead.

import { request } from 'undici';
import type { Deployment } from './deployment.ts';

/** Probes once: null when healthy, else why not (the status, or the transport error). */
export async function probe(deployment: Deployment): Promise<string | null> {
  if (deployment.healthUrl === null) return null;
  try {
    const res = await request(deployment.healthUrl, {
      method: 'GET',
      headersTimeout: deployment.timeouts.connect_ms,
      bodyTimeout: deployment.timeouts.connect_ms,
      dispatcher: deployment.pool,
    });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 300 ? null : `${deployment.healthUrl} answered HTTP ${res.statusCode}`;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return `${deployment.healthUrl} did not answer (${e.code ?? e.message ?? String(err)})`;
  }
}

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deployments: Deployment[],
    private readonly intervalMs: number,
  ) {}

  async checkOne(d: Deployment): Promise<void> {
    const failure = await probe(d);
    const ok = failure === null;
    if (ok === d.healthy) return;
    d.setHealth(ok, failure ?? 'its health check passes again');
    // A replica back from the dead is not ejected for failures it had while it was down.
    if (ok && d.breaker.stateAt(Date.now()) !== 'closed') d.breaker.forceClose(Date.now());
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.deployments.map((d) => this.checkOne(d)));
  }

  start(): void {
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
