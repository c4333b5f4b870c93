// A scorer rates every candidate for one request on a 0..1 scale, higher is better. The scheduler
// policy adds the scores up with configured weights. Each scorer sees only the replica views and
// the request, so it can be tested on its own.

import type { ReplicaView, RoutingRequest, ScrapedSignals } from '../types.ts';

export interface ScoringContext {
  /** Date.now() of the pick. */
  readonly now: number;
  /** Scraped signals older than this are ignored. */
  readonly staleAfterMs: number;
}

export interface Scorer {
  readonly name: string;
  /** Writes the score of candidates[i] to out[i] for every i. */
  score(candidates: readonly ReplicaView[], request: RoutingRequest, ctx: ScoringContext, out: Float64Array): void;
  /** Learns where a request went (routing history, in-flight credit). */
  onRouted?(replica: ReplicaView, request: RoutingRequest, ctx: ScoringContext): void;
}

/** The replica's scraped signals if recent enough to trust, else undefined. */
export function freshSignals(r: ReplicaView, ctx: ScoringContext): ScrapedSignals | undefined {
  const s = r.scraped;
  return s !== undefined && ctx.now - s.at <= ctx.staleAfterMs ? s : undefined;
}

/**
 * Scores a lower-is-better load value relative to the least-loaded candidate:
 * (min + scale) / (value + scale). The least loaded scores 1; others fall smoothly with their
 * excess, and `scale` says how much excess is significant, so that 1 vs 0 requests is a small
 * difference, not the full 0..1 range that min-max normalisation would make of it.
 */
export function scoreRelativeToMin(values: Float64Array, n: number, scale: number, out: Float64Array): void {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) if (values[i] < min) min = values[i];
  const s = Math.max(scale, Number.EPSILON);
  for (let i = 0; i < n; i++) out[i] = (min + s) / (values[i] + s);
}
