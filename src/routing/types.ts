// What routing policies see of a replica and of a request. Policies are pure: they read these
// views and return a choice; the gateway owns the state behind them.

/** Load signals scraped from a replica's Prometheus /metrics (vLLM or SGLang names). */
export interface ScrapedSignals {
  /** Requests running in the engine's batch. */
  running?: number;
  /** Requests queued in the engine. */
  waiting?: number;
  /** KV-cache usage, 0-1. */
  kvUsage?: number;
  /** Prefix-cache hit rate over the last scrape window, 0-1, when the engine reports it. */
  prefixHitRate?: number;
  /** Date.now() of the scrape; policies ignore signals older than their staleness bound. */
  at: number;
}

export interface ReplicaView {
  readonly id: string;
  readonly weight: number;
  /** Passes health checks and its circuit breaker lets requests through. */
  readonly available: boolean;
  /** Requests the gateway has sent and not yet seen finish. */
  readonly inFlight: number;
  /** Estimated outstanding work the gateway has sent: prompt tokens not yet prefilled + tokens still to decode. */
  readonly inFlightTokens: number;
  /** Configured cap on concurrent requests, if any. */
  readonly maxConcurrency?: number;
  /** EWMA of time to first token observed by the gateway, ms. */
  readonly ttftEwmaMs?: number;
  readonly scraped?: ScrapedSignals;
}

export interface RoutingRequest {
  /** Chained hashes of the rendered prompt's fixed-size blocks (block i covers blocks 0..i). */
  readonly prefixHashes: readonly string[];
  readonly estimatedPromptTokens: number;
  /** max_tokens, or an estimate when absent. */
  readonly expectedOutputTokens: number;
  /** Conversation key for stickiness (OpenAI `user`, Anthropic metadata.user_id, or a header). */
  readonly sessionKey?: string;
}

export interface RoutingPolicy {
  readonly name: string;
  /** Chooses among candidates (already filtered to available, not excluded ones), or undefined if none fits. */
  pick(candidates: readonly ReplicaView[], request: RoutingRequest): ReplicaView | undefined;
  /** Told where a request went, so history-based policies (prefix affinity, round-robin) can learn. */
  onRouted?(replica: ReplicaView, request: RoutingRequest): void;
}
