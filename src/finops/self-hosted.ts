// The $/token rate of self-hosted deployments, from GPU time and measured throughput.
//
// rate = (gpu_hourly_usd x gpus x window_hours) / max(tokens in window, floor)
//   tokens in window: prompt + completion tokens the ledger recorded for the deployment over the
//                     trailing window (all gateway replicas write the same ledger);
//   floor:            floor_tokens_per_gpu_hour x gpus x window_hours, so a nearly idle GPU does
//                     not charge its whole idle hour to the one request that happened to run.
// The rate is refreshed in the background (never computed on the request path); until the first
// refresh, and for budget reservations, the floor rate (the highest possible) is used.

import type { UsageLedger } from './ports.ts';
import type { DeploymentCostSpec } from './deployments.ts';

const HOUR_MS = 3_600_000;

export interface SelfHostedOptions {
  windowMs?: number;
  floorTokensPerGpuHour?: number;
  refreshMs?: number;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface DeploymentRate {
  id: string;
  /** USD per token currently charged. */
  perToken: number;
  tokensInWindow: number;
  /** True when measured traffic was below the floor, so the floor set the rate. */
  floored: boolean;
}

export class SelfHostedRates {
  private readonly specs = new Map<string, DeploymentCostSpec>();
  private readonly rates = new Map<string, DeploymentRate>();
  private readonly windowMs: number;
  private readonly floor: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ledger: UsageLedger,
    deployments: readonly DeploymentCostSpec[],
    private readonly options: SelfHostedOptions = {},
  ) {
    for (const d of deployments) if (d.gpuHourlyUsd !== undefined) this.specs.set(d.id, d);
    this.windowMs = options.windowMs ?? HOUR_MS;
    this.floor = options.floorTokensPerGpuHour ?? 1_000_000;
    this.now = options.now ?? Date.now;
  }

  isGpuPriced(deploymentId: string): boolean {
    return this.specs.has(deploymentId);
  }

  /** USD per token now (the floor rate until measured). */
  perToken(deploymentId: string): number {
    return this.rates.get(deploymentId)?.perToken ?? this.maxPerToken(deploymentId);
  }

  /** The highest rate the deployment can have: its GPU cost spread over the floor throughput. */
  maxPerToken(deploymentId: string): number {
    const spec = this.specs.get(deploymentId);
    return spec ? spec.gpuHourlyUsd! / this.floor : 0;
  }

  current(): DeploymentRate[] {
    return [...this.specs.keys()].map((id) => this.rates.get(id) ?? { id, perToken: this.maxPerToken(id), tokensInWindow: 0, floored: true });
  }

  async refresh(): Promise<void> {
    if (this.specs.size === 0) return;
    const now = this.now();
    const usage = await this.ledger.deploymentUsage(now - this.windowMs, now);
    const tokens = new Map(usage.map((u) => [u.group, u.promptTokens + u.completionTokens]));
    const hours = this.windowMs / HOUR_MS;
    for (const [id, spec] of this.specs) {
      const measured = tokens.get(id) ?? 0;
      const floorTokens = this.floor * spec.gpus * hours;
      const gpuCost = spec.gpuHourlyUsd! * spec.gpus * hours;
      this.rates.set(id, { id, perToken: gpuCost / Math.max(measured, floorTokens), tokensInWindow: measured, floored: measured < floorTokens });
    }
  }

  async start(): Promise<void> {
    if (this.specs.size === 0) return;
    await this.refresh().catch((err: unknown) => this.options.logger?.warn({ err }, 'self-hosted cost: first throughput refresh failed; using floor rates'));
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.options.logger?.warn({ err }, 'self-hosted cost: throughput refresh failed'));
    }, this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
