// Fault switches for testing clients and gateways against a misbehaving upstream. They apply to the
// inference endpoints (/v1/chat/completions, /v1/completions, /v1/embeddings) only, so /health,
// /metrics and /sim/faults keep working while faults are on. Decisions come from a seeded
// generator, so a given seed and request order reproduce the same faults.

import { Rng } from './util/rng.ts';

export interface Faults {
  /** Fraction (0-1) of requests answered with `errorStatus` and an OpenAI error body. */
  errorRate: number;
  /** HTTP status of injected errors (400-599). */
  errorStatus: number;
  /** Extra delay before anything is answered (before the first byte), in wall-clock ms. */
  addedLatencyMs: number;
  /** Fraction of streaming requests whose connection is destroyed after a few chunks. */
  dropMidStreamRate: number;
  /** Fraction of requests that are never answered: the socket stays open, no bytes are sent. */
  hangRate: number;
  /** Fraction of requests whose connection is reset before any response. */
  resetRate: number;
  /**
   * A request whose body contains this text crashes the simulator before answering (every
   * connection destroyed, the listener closed), as an engine dies on a query of death. Empty: off.
   */
  crashMarker: string;
}

export const DEFAULT_FAULTS: Readonly<Faults> = {
  errorRate: 0,
  errorStatus: 500,
  addedLatencyMs: 0,
  dropMidStreamRate: 0,
  hangRate: 0,
  resetRate: 0,
  crashMarker: '',
};

const RATE_KEYS = ['errorRate', 'dropMidStreamRate', 'hangRate', 'resetRate'] as const;

/** Validates a (partial) faults object from JSON or flags; throws a message naming the field. */
export function parseFaults(input: unknown): Partial<Faults> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new FaultsError('faults must be a JSON object');
  const out: Partial<Faults> = {};
  for (const [key, value] of Object.entries(input)) {
    if ((RATE_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new FaultsError(`${key} must be a number between 0 and 1`, key);
      out[key as (typeof RATE_KEYS)[number]] = value;
    } else if (key === 'errorStatus') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 400 || value > 599) throw new FaultsError('errorStatus must be an integer HTTP status between 400 and 599', key);
      out.errorStatus = value;
    } else if (key === 'crashMarker') {
      if (typeof value !== 'string') throw new FaultsError('crashMarker must be a string (empty: off)', key);
      out.crashMarker = value;
    } else if (key === 'addedLatencyMs') {
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw new FaultsError('addedLatencyMs must be a non-negative number', key);
      out.addedLatencyMs = value;
    } else {
      throw new FaultsError(`unknown fault "${key}"; known: ${Object.keys(DEFAULT_FAULTS).join(', ')}`, key);
    }
  }
  return out;
}

export class FaultsError extends Error {
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** What happens to one request before it is handled normally. */
export type FaultAction = 'crash' | 'reset' | 'hang' | 'error' | 'none';

export class FaultInjector {
  private current: Faults;
  private readonly rng: Rng;

  constructor(initial: Partial<Faults> = {}, seed = 0) {
    this.current = { ...DEFAULT_FAULTS, ...parseFaults(initial) };
    this.rng = Rng.from('faults', seed);
  }

  get(): Faults {
    return { ...this.current };
  }

  /** Merges validated changes; returns the faults now in force. */
  update(changes: Partial<Faults>): Faults {
    this.current = { ...this.current, ...parseFaults(changes) };
    return this.get();
  }

  reset(): Faults {
    this.current = { ...DEFAULT_FAULTS };
    return this.get();
  }

  /** Draws the pre-response fault for one request whose raw body is `body` (at most one applies). */
  drawAction(body: Buffer): FaultAction {
    const f = this.current;
    if (f.crashMarker !== '' && body.includes(f.crashMarker)) return 'crash';
    if (f.resetRate > 0 && this.rng.next() < f.resetRate) return 'reset';
    if (f.hangRate > 0 && this.rng.next() < f.hangRate) return 'hang';
    if (f.errorRate > 0 && this.rng.next() < f.errorRate) return 'error';
    return 'none';
  }

  /** For a streaming request: after how many SSE events to drop the connection, or -1 for never. */
  drawDropAfter(): number {
    const f = this.current;
    if (f.dropMidStreamRate > 0 && this.rng.next() < f.dropMidStreamRate) return this.rng.int(2, 4);
    return -1;
  }
}
