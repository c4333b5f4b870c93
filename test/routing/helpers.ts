// Shared fixtures for routing tests: mutable replica views (tests play the gateway and bump
// in-flight counts themselves), requests, and a seeded random source for reproducible runs.

import type { ReplicaView, RoutingRequest, ScrapedSignals } from '../../src/routing/types.ts';

export interface MutableReplica {
  id: string;
  weight: number;
  available: boolean;
  inFlight: number;
  inFlightTokens: number;
  maxConcurrency?: number;
  ttftEwmaMs?: number;
  scraped?: ScrapedSignals;
}

export function replica(id: string, overrides: Partial<MutableReplica> = {}): MutableReplica {
  return { id, weight: 1, available: true, inFlight: 0, inFlightTokens: 0, ...overrides };
}

export function replicas(n: number, overrides: Partial<MutableReplica> = {}): MutableReplica[] {
  return Array.from({ length: n }, (_, i) => replica(`r${i}`, overrides));
}

export function request(overrides: Partial<RoutingRequest> = {}): RoutingRequest {
  return { prefixHashes: [], estimatedPromptTokens: 100, expectedOutputTokens: 100, ...overrides };
}

/** Deterministic 32-bit generator (mulberry32 construction), uniform in [0, 1). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function countBy(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

export type View = ReplicaView;

/** Runs a pick and returns the mutable fixture that was chosen (policies hand back the same objects). */
export function pickFrom(policy: { pick(c: readonly ReplicaView[], r: RoutingRequest): ReplicaView | undefined }, rs: MutableReplica[], req: RoutingRequest): MutableReplica {
  const chosen = policy.pick(rs, req);
  const found = rs.find((r) => r === chosen);
  if (!found) throw new Error('policy picked nothing');
  return found;
}
