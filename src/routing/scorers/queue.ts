// Queue scorer: how many requests are waiting at each candidate, lower is better.
//
// The engine's scraped `waiting` count is up to one scrape interval old, while the gateway may
// dispatch hundreds of requests in that time. So every request routed to a replica since its last
// scrape is added to the scraped value (in-flight credit): a burst spreads out instead of all
// landing on the replica that looked emptiest at the last scrape. The credit resets when a newer
// scrape arrives, since the engine's own count then includes those requests. Without a fresh
// scrape, the gateway's own in-flight count stands in.

import type { ReplicaView } from '../types.ts';
import { freshSignals, scoreRelativeToMin, type Scorer, type ScoringContext } from './types.ts';

export interface QueueScorerOptions {
  /** Excess queued requests over the least-loaded candidate that halves a score (when that one is idle). Default 4. */
  scale?: number;
}

export class QueueScorer implements Scorer {
  readonly name = 'queue';
  readonly scale: number;
  /** Requests routed to each replica since the scrape taken at `at`. */
  private readonly credit = new Map<string, { at: number; count: number }>();
  private depths = new Float64Array(8);

  constructor(options: QueueScorerOptions = {}) {
    this.scale = options.scale ?? 4;
  }

  /** Estimated queue at a replica now: scraped waiting + routed since that scrape, or in-flight. */
  depth(r: ReplicaView, ctx: ScoringContext): number {
    const s = freshSignals(r, ctx);
    if (s === undefined || s.waiting === undefined) return r.inFlight;
    const c = this.credit.get(r.id);
    return s.waiting + (c !== undefined && c.at === s.at ? c.count : 0);
  }

  score(candidates: readonly ReplicaView[], _request: unknown, ctx: ScoringContext, out: Float64Array): void {
    const n = candidates.length;
    if (this.depths.length < n) this.depths = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) this.depths[i] = this.depth(candidates[i], ctx);
    scoreRelativeToMin(this.depths, n, this.scale, out);
  }

  onRouted(replica: ReplicaView): void {
    const at = replica.scraped?.at;
    if (at === undefined) return;
    const c = this.credit.get(replica.id);
    if (c === undefined) this.credit.set(replica.id, { at, count: 1 });
    else if (c.at !== at) {
      c.at = at;
      c.count = 1;
    } else c.count++;
  }
}
