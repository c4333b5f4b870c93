// OpenAI's rate-limit response headers, so clients and SDKs that already read them (backoff
// helpers, dashboards) work against Switchyard unchanged.

export type LimitDimension = 'requests' | 'tokens';

export interface DimensionState {
  limit: number;
  remaining: number;
  resetMs: number;
}

/**
 * A duration the way OpenAI writes x-ratelimit-reset-*: Go-style, e.g. "20ms", "1s", "8.64s",
 * "6m0s", "1h2m3s".
 */
export function formatResetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = (total % 60_000) / 1000;
  const s = `${Number(seconds.toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${s}`;
  if (minutes > 0) return `${minutes}m${s}`;
  return s;
}

/** Retry-After in whole seconds, at least 1 (0 would invite an immediate retry storm). */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

export function rateLimitHeaders(states: Partial<Record<LimitDimension, DimensionState>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const dim of ['requests', 'tokens'] as const) {
    const s = states[dim];
    if (!s) continue;
    headers[`x-ratelimit-limit-${dim}`] = String(s.limit);
    headers[`x-ratelimit-remaining-${dim}`] = String(Math.max(0, Math.floor(s.remaining)));
    headers[`x-ratelimit-reset-${dim}`] = formatResetDuration(s.resetMs);
  }
  return headers;
}
