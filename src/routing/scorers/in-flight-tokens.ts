// In-flight-tokens scorer: outstanding work the gateway has sent to each candidate (prompt tokens
// not yet prefilled + tokens still to decode), lower is better. Always current, unlike scraped
// signals, and it weighs a long prompt more than a short one.

import type { ReplicaView } from '../types.ts';
import { scoreRelativeToMin, type Scorer } from './types.ts';

export interface InFlightTokensScorerOptions {
  /** Excess tokens over the least-loaded candidate that halves a score (when that one is idle). Default 16,384. */
  scale?: number;
}

export class InFlightTokensScorer implements Scorer {
  readonly name = 'in-flight-tokens';
  readonly scale: number;
  private tokens = new Float64Array(8);

  constructor(options: InFlightTokensScorerOptions = {}) {
    this.scale = options.scale ?? 16_384;
  }

  score(candidates: readonly ReplicaView[], _request: unknown, _ctx: unknown, out: Float64Array): void {
    const n = candidates.length;
    if (this.tokens.length < n) this.tokens = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) this.tokens[i] = Math.max(0, candidates[i].inFlightTokens);
    scoreRelativeToMin(this.tokens, n, this.scale, out);
  }
}
