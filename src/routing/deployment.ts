// A deployment at run time: where it is, how to talk to it, and what the gateway knows of its state.

import { Pool } from 'undici';
import type { ProviderAdapter, UpstreamTarget } from '../providers/types.ts';
import type { Timeouts } from '../config/schema.ts';

export interface DeploymentSpec {
  id: string;
  modelName: string;
  adapter: ProviderAdapter;
  target: UpstreamTarget;
  weight: number;
  /** Absolute URL probed by the health checker, or null when it must not be probed (hosted APIs). */
  healthUrl: string | null;
  timeouts: Timeouts;
}

export class Deployment {
  readonly id: string;
  readonly modelName: string;
  readonly adapter: ProviderAdapter;
  readonly target: UpstreamTarget;
  readonly weight: number;
  readonly healthUrl: string | null;
  readonly timeouts: Timeouts;
  /** Path prefix of the base URL (e.g. `/v1`), prepended to every provider path. */
  readonly basePath: string;
  readonly pool: Pool;
  healthy = true;
  inFlight = 0;
  consecutiveFailures = 0;
  lastError: string | null = null;

  constructor(spec: DeploymentSpec) {
    this.id = spec.id;
    this.modelName = spec.modelName;
    this.adapter = spec.adapter;
    this.target = spec.target;
    this.weight = spec.weight;
    this.healthUrl = spec.healthUrl;
    this.timeouts = spec.timeouts;
    const url = new URL(spec.target.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    // One explicit pool per upstream: keep-alive connections, no hidden global agent.
    this.pool = new Pool(url.origin, {
      connections: 512,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: spec.timeouts.connect_ms },
    });
  }

  markSuccess(): void {
    this.consecutiveFailures = 0;
    this.healthy = true;
  }

  /** Connection-level failures take a deployment out of rotation until the health check passes. */
  markConnectionFailure(message: string): void {
    this.consecutiveFailures += 1;
    this.lastError = message;
    if (this.healthUrl !== null) this.healthy = false;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
