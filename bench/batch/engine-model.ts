// The engines' share of the TTFT cost of a batch, without HTTP, the gateway or the host: one
// simulated replica in virtual time (the same engine model the simulator serves with) gets every
// 4th request of the Poisson interactive stream (as round-robin would give it; the gateway's
// load-aware routing spreads them at least as evenly), plus K batch requests kept in flight (each
// one that finishes is replaced at once, evenly, with no bursts). Deterministic and host-independent, so
// it separates what any gateway would see on an FCFS engine (a batch prefill in the step an
// interactive request waits for, or in its own prefill step, delays its first token) from what
// the gateway process and the shared cores add in the end-to-end run.

import { Engine, ManualClock, resolveProfile } from '../../src/sim/index.ts';
import { percentile } from '../lib/report.ts';
import { Rng } from '../routing/rng.ts';
import type { BatchShape } from './input.ts';
import type { InteractiveShape } from './interactive.ts';

/** Chat-template tokens around one user message (see bench/routing/text.ts templateTokens). */
const TEMPLATE = 10;

export interface EngineModelResult {
  batchInFlightPerReplica: number;
  ttftP50: number;
  ttftP99: number;
  /** Batch items per second over all replicas (model time). */
  itemsPerSecond: number;
}

export function engineModel(profile: string, replicas: number, interactive: InteractiveShape, batch: BatchShape, inFlight: number, seconds: number, seed: number): EngineModelResult {
  const rng = Rng.derive(seed, `engine-model-${inFlight}`);
  const clock = new ManualClock();
  const engine = new Engine(resolveProfile(profile), clock);
  // Random token ids: no prefix is shared, as with the benchmark's random-word prompts.
  const tokens = (n: number) => Uint32Array.from({ length: n }, () => 1000 + Math.floor(rng.next() * 1e9));
  const endMs = seconds * 1000;
  const ttfts: number[] = [];
  let items = 0;
  let id = 0;

  const submitBatch = () => {
    if (clock.now() >= endMs) return;
    engine.submit({
      id: `b${id++}`,
      promptTokenIds: tokens(rng.int(...batch.promptTokens) + TEMPLATE),
      outputTokenIds: tokens(rng.int(...batch.maxTokens)),
      finishReason: 'length',
      onFinish: () => {
        items++;
        clock.at(clock.now(), submitBatch);
      },
    });
  };
  for (let i = 0; i < inFlight; i++) clock.at(0, submitBatch);

  let t = 0;
  const meanGapMs = 1000 / interactive.rps;
  for (;;) {
    for (let i = 0; i < replicas; i++) t += rng.exponential(meanGapMs);
    if (t >= endMs) break;
    clock.at(t, () =>
      engine.submit({
        id: `i${id++}`,
        promptTokenIds: tokens(rng.int(...interactive.promptTokens) + TEMPLATE),
        outputTokenIds: tokens(interactive.maxTokens),
        finishReason: 'length',
        onFinish: (r) => ttfts.push(r.firstTokenMs - r.arrivalMs),
      }),
    );
  }
  clock.run();
  ttfts.sort((a, b) => a - b);
  return { batchInFlightPerReplica: inFlight, ttftP50: percentile(ttfts, 50), ttftP99: percentile(ttfts, 99), itemsPerSecond: (items * replicas) / seconds };
}
