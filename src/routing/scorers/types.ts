// The parts a routing decision is made of, as in llm-d's inference scheduler: filters remove the
// candidates that cannot take a request well, scorers rate the rest on a 0..1 scale (higher is
// better) and the scheduler policy adds the scores up with configured weights. Each part sees only
// the replica views and the request, so it can be tested on its own; index.ts names them all.
// Parts run on every request: they write into buffers they are handed and allocate nothing.

import type { ReplicaView, RoutingRequest, ScrapedSignals } from '../types.ts';

export interface ScoringContext {
  /** Date.now() of the pick. */
  readonly now: number;
  /** Scraped signals older than this are ignored. */
  readonly staleAfterMs: number;
}

export interface Scorer {
  readonly name: string;
  /** Writes the score of candidates[i] to out[i] for every i; the scheduler clamps it to [0, 1]. */
  score(candidates: readonly ReplicaView[], request: RoutingRequest, ctx: ScoringContext, out: Float64Array): void;
  /** Learns where a request went (routing history, in-flight credit). */
  onRouted?(replica: ReplicaView, request: RoutingRequest, ctx: ScoringContext): void;
}

/**
 * Rules candidates out. `eligible[i]` is true for every candidate still in; a filter clears the
 * entries of those it rules out and never sets one, so filters compose in any order and each sees
 * what the ones before it left.
 */
export interface Filter<Candidate extends ReplicaView = ReplicaView, Context = ScoringContext> {
  readonly name: string;
  filter(candidates: readonly Candidate[], request: RoutingRequest, ctx: Context, eligible: boolean[]): void;
}

/** What a model pool's filters know of one pick besides the candidates. */
export interface PoolPickContext {
  /** Deployments this request already failed on: a retry goes elsewhere. */
  readonly exclude: ReadonlySet<ReplicaView>;
  /** For a lowest-priority pick, the batch share each deployment may carry; undefined otherwise. */
  readonly lowestPriorityCap: number | undefined;
}

/** The replica's scraped signals if recent enough to trust, else undefined. */
export function freshSignals(r: ReplicaView, ctx: ScoringContext): ScrapedSignals | undefined {
  const s = r.scraped;
  return s !== undefined && ctx.now - s.at <= ctx.staleAfterMs ? s : undefined;
}

/** A score held to [0, 1] (NaN counts as 0), so no scorer can outweigh its configured weight. */
export function clampScore(s: number): number {
  return s > 0 ? (s < 1 ? s : 1) : 0;
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
