// The load driver: sends a planned request sequence open-loop (each at its arrival time, whatever
// happened to earlier ones) as streaming chat requests over one undici Pool, and times each
// request's first content chunk and its end. It parses no JSON: it looks for the first
// `"content":"` that is followed by something other than a closing quote (the first chunk of a
// stream carries the role with empty content), then only watches the tail for `[DONE]` or an error.

import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { readStreamTiming } from '../lib/stream-timing.ts';

export interface DriverRequest {
  /** Send time, wall ms after the start. */
  sendAtMs: number;
  body: Buffer;
}

export interface RequestOutcome {
  /** Wall ms after the start when it was actually sent. */
  sentMs: number;
  /** Wall ms from send to the first content chunk; NaN if none arrived. */
  ttftMs: number;
  /** Wall ms from send to the end of the response; NaN if it never ended. */
  e2eMs: number;
  ok: boolean;
  status: number;
  error?: string;
}

export interface DriveResult {
  outcomes: RequestOutcome[];
  /** How late sends left relative to plan (wall ms): p99 and max. A busy client shows here. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
}

const DONE = 'data: [DONE]';

async function one(pool: Pool, req: DriverRequest, start: number, out: RequestOutcome, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  out.sentMs = t0 - start;
  try {
    const res = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: req.body,
      signal,
    });
    out.status = res.statusCode;
    if (res.statusCode !== 200) {
      out.error = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
      out.e2eMs = performance.now() - t0;
      return;
    }
    const tail = await readStreamTiming(res.body as AsyncIterable<Buffer>, t0, 600, (ms) => (out.ttftMs = ms));
    out.e2eMs = performance.now() - t0;
    const errorEvent = tail.lastIndexOf('"error":');
    out.ok = tail.includes(DONE) && errorEvent < 0 && !Number.isNaN(out.ttftMs);
    if (!out.ok) out.error = errorEvent >= 0 ? `stream error: ${tail.slice(errorEvent, errorEvent + 200)}` : 'stream ended without [DONE]';
  } catch (err) {
    out.error = (err as Error).message;
  }
}

/**
 * Sends every request at its planned time and resolves when all have ended, or when `deadlineMs`
 * (wall ms after the start) passes: whatever is still open then is aborted and reported unfinished.
 */
export async function drive(baseUrl: string, requests: DriverRequest[], deadlineMs: number, onStart?: (start: number) => void): Promise<DriveResult> {
  const pool = new Pool(baseUrl, { connections: 2048, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000 });
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per open request
  const outcomes: RequestOutcome[] = requests.map(() => ({ sentMs: NaN, ttftMs: NaN, e2eMs: NaN, ok: false, status: 0 }));
  const pending: Promise<void>[] = [];
  const lags: number[] = [];
  const start = performance.now();
  onStart?.(start);
  const deadline = setTimeout(() => abort.abort(), deadlineMs);
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now() - start;
      while (next < requests.length && requests[next].sendAtMs <= now + 0.5) {
        lags.push(Math.max(0, now - requests[next].sendAtMs));
        pending.push(one(pool, requests[next], start, outcomes[next], abort.signal));
        next++;
      }
      if (next >= requests.length) return resolve();
      setTimeout(tick, Math.max(0, requests[next].sendAtMs - (performance.now() - start) - 0.5));
    };
    tick();
  });
  await Promise.all(pending);
  clearTimeout(deadline);
  await pool.destroy();
  lags.sort((a, b) => a - b);
  return { outcomes, sendLagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0, sendLagMaxMs: lags[lags.length - 1] ?? 0 };
}
