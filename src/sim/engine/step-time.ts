// How long one engine step takes on the modelled GPU, from what the step contains. A step runs
// every scheduled sequence once: prompt chunks being prefilled and sequences decoding one token.
// Linear in each term, calibrated per profile (see profiles.ts for the sources):
//
//   step = stepBase + decodePerSeq x decodingSeqs + decodePerContextToken x contextTokensRead
//          + prefillPerToken x promptTokensComputed

import type { TimingParams } from '../profiles.ts';

export interface StepShape {
  /** Prompt (or recomputed) tokens computed this step; cached prefix tokens are not computed. */
  prefillTokens: number;
  /** Sequences producing their next token from an already computed context. */
  decodeSeqs: number;
  /** Total context (KV tokens) those decoding sequences attend over. */
  decodeContextTokens: number;
}

export function stepDurationMs(t: TimingParams, s: StepShape): number {
  return t.stepBaseMs + t.decodePerSeqMs * s.decodeSeqs + t.decodePerContextTokenMs * s.decodeContextTokens + t.prefillPerTokenMs * s.prefillTokens;
}

/** The inter-token latency the profile predicts for `seqs` sequences decoding with `avgContext` tokens each. */
export function predictedItlMs(t: TimingParams, seqs: number, avgContext: number): number {
  return stepDurationMs(t, { prefillTokens: 0, decodeSeqs: seqs, decodeContextTokens: seqs * avgContext });
}
