// Cluster capacity for a workload, from the simulator's own engine model in virtual time: one
// engine with prefix caching off is handed a sample of the workload's requests all at once, and
// its throughput while saturated (requests finished / time to finish them all) times the number of
// replicas is the capacity. Caching is off so the figure is the same for every routing policy:
// it is what the cluster sustains when no prompt token is served from cache. A cache-aware router
// lowers the work actually done, so the same offered load is lighter for it; that is the effect
// being measured, not a property of the cluster.

import { Engine, ManualClock, resolveProfile, type ProfileOverrides } from '../../src/sim/index.ts';

export interface CapacityEstimate {
  /** Requests per second of model time the whole cluster sustains. */
  requestsPerSecond: number;
  /** Output tokens per second of model time at that rate. */
  outputTokensPerSecond: number;
  /** Mean prompt and output tokens of the sample. */
  meanPromptTokens: number;
  meanOutputTokens: number;
  sample: number;
}

export function estimateCapacity(
  shapes: readonly { promptTokens: number; outputTokens: number }[],
  replicas: number,
  profileName: string,
  overrides: ProfileOverrides,
): CapacityEstimate {
  const profile = resolveProfile(profileName, { ...overrides, enablePrefixCaching: false });
  const clock = new ManualClock();
  const engine = new Engine(profile, clock);
  let finished = 0;
  let lastFinish = 0;
  let prompt = 0;
  let output = 0;
  shapes.forEach((s, i) => {
    prompt += s.promptTokens;
    output += s.outputTokens;
    engine.submit({
      id: String(i),
      // Contents do not matter with caching off; only lengths do.
      promptTokenIds: new Uint32Array(s.promptTokens).fill(7),
      outputTokenIds: new Uint32Array(s.outputTokens).fill(9),
      finishReason: 'length',
      onFinish: (r) => {
        finished++;
        lastFinish = Math.max(lastFinish, r.finishedMs);
      },
    });
  });
  clock.run();
  const perReplica = finished / (lastFinish / 1000);
  return {
    requestsPerSecond: perReplica * replicas,
    outputTokensPerSecond: (perReplica * replicas * output) / shapes.length,
    meanPromptTokens: prompt / shapes.length,
    meanOutputTokens: output / shapes.length,
    sample: shapes.length,
  };
}
