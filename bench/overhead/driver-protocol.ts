// What the orchestrator asks of the load driver process, and what it answers.

export interface Target {
  port: number;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export type Job =
  /** Open loop: requests start at a fixed rate whatever the responses do. */
  | { mode: 'rate'; target: Target; stream: boolean; rate: number; warmupMs: number; durationMs: number }
  /** Closed loop: `concurrency` connections, each sending its next request when the last ends. */
  | { mode: 'closed'; target: Target; stream: boolean; concurrency: number; warmupMs: number; durationMs: number }
  /** `streams` paced streams opened at `openPerSecond`, each on its own connection, all held to their end. */
  | { mode: 'hold'; target: Target; streams: number; openPerSecond: number; stallMs: number; timeoutMs: number };

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  /** Requests completed in the measured window, per second. */
  rps: number;
  completed: number;
  /** Every response received during the job, warm-up included (CPU per request divides by it). */
  total: number;
  errors: number;
  non2xx: number;
  /** Request latency (send to last byte), ms. */
  latency: Percentiles;
  /** How late requests left against the schedule (open loop), ms. */
  sendLag?: Percentiles;
  /** Streams: delay of each stamped chunk from the stub's write to the driver's read, ms. */
  chunkDelay?: Percentiles;
  /** Streams: time to the first content chunk, ms. */
  firstChunk?: Percentiles;
  /** Streams that ended without all their chunks or without [DONE]. */
  incompleteStreams?: number;
}

export interface HoldResult {
  opened: number;
  completed: number;
  /** Streams answered with a status other than 200. */
  refused: number;
  /** Streams answered 200 that had a silence longer than stallMs between chunks, or that never finished. */
  stalled: number;
  errors: number;
  /** The first connection error's message, for the log. */
  firstError?: string;
  maxGapMs: number;
  gapP99Ms: number;
  /** Wall time from the first stream opened to the last one closed, ms. */
  heldMs: number;
}

export type DriverMessage = { type: 'ready' } | { type: 'result'; result: LoadResult | HoldResult } | { type: 'failed'; error: string };
