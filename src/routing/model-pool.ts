// The deployments that serve one model, and the choice of which one takes the next request.
// Weighted random over healthy deployments; the routing issue replaces this with policies.

import type { Deployment } from './deployment.ts';

export class ModelPool {
  readonly name: string;
  readonly deployments: Deployment[];
  readonly maxRetries: number;

  constructor(name: string, deployments: Deployment[], maxRetries: number) {
    this.name = name;
    this.deployments = deployments;
    this.maxRetries = maxRetries;
  }

  get healthyCount(): number {
    let n = 0;
    for (const d of this.deployments) if (d.healthy) n++;
    return n;
  }

  /**
   * Picks a deployment not in `exclude`, preferring healthy ones. When every candidate is marked
   * unhealthy it still returns one: a stale health mark must not turn into a certain failure.
   */
  pick(exclude: ReadonlySet<Deployment>): Deployment | undefined {
    const candidates = this.deployments.filter((d) => !exclude.has(d));
    if (candidates.length === 0) return undefined;
    const healthy = candidates.filter((d) => d.healthy);
    const pool = healthy.length > 0 ? healthy : candidates;
    let total = 0;
    for (const d of pool) total += d.weight;
    let r = Math.random() * total;
    for (const d of pool) {
      r -= d.weight;
      if (r < 0) return d;
    }
    return pool[pool.length - 1];
  }
}
