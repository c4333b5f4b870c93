// Interactive load: streaming chat requests sent open-loop (Poisson arrivals at a fixed rate,
// whatever happened to earlier requests) until stopped, each timed to its first content chunk.
// Unlike bench/routing/driver.ts, which plays a fixed schedule, this runs for as long as the batch
// does, which is not known in advance; every request is tagged with the phase it was sent in.
// TTFT detection is the same cheap byte scan: the first `"content":"` not followed by a quote
// (the first chunk of a stream carries the role with empty content).

import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { readStreamTiming } from '../lib/stream-timing.ts';
import { Rng } from '../routing/rng.ts';
import { words } from '../routing/text.ts';

export interface InteractiveShape {
  rps: number;
  promptTokens: [number, number];
  maxTokens: number;
}

export interface Sample {
  phase: string;
  /** Wall ms from send to the first content chunk; NaN if none arrived. */
  ttftMs: number;
  ok: boolean;
  error?: string;
  /** How late it was sent relative to its planned arrival, ms (a busy client shows here). */
  sendLagMs: number;
  /** performance.now() when it was sent. */
  sentAt: number;
}

export class InteractiveLoad {
  readonly samples: Sample[] = [];
  private readonly pools: Pool[];
  private nextPool = 0;
  private readonly abort = new AbortController();
  private readonly pending = new Set<Promise<void>>();
  private readonly rng: Rng;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  /**
   * `phase()` names the phase a request is sent in (read at send time). Several base URLs are used
   * in turn (to send straight to the replicas, bypassing the gateway, when investigating).
   */
  constructor(
    baseUrls: string[],
    private readonly model: string,
    private readonly shape: InteractiveShape,
    seed: number,
    private readonly phase: () => string,
  ) {
    this.pools = baseUrls.map((url) => new Pool(url, { connections: 512, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 60_000 }));
    this.rng = Rng.derive(seed, 'interactive');
    setMaxListeners(0, this.abort.signal);
  }

  /** Requests sent and not yet ended. */
  get open(): number {
    return this.pending.size;
  }

  /** Starts sending, or resumes after pause(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    let due = performance.now();
    const tick = () => {
      if (!this.running) return;
      const now = performance.now();
      while (due <= now + 0.5) {
        this.send(Math.max(0, now - due));
        due += this.rng.exponential(1000 / this.shape.rps);
      }
      this.timer = setTimeout(tick, Math.max(0, due - performance.now() - 0.5));
    };
    tick();
  }

  /** Stops sending for now; requests already sent run on. */
  pause(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Stops sending and waits (up to `drainMs`) for requests still open; later ones are aborted. */
  async stop(drainMs = 30_000): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const killer = setTimeout(() => this.abort.abort(), drainMs);
    await Promise.allSettled([...this.pending]);
    clearTimeout(killer);
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.all(this.pools.map((p) => p.destroy()));
  }

  private send(sendLagMs: number): void {
    const body = JSON.stringify({
      model: this.model,
      messages: [{ role: 'user', content: words(this.rng, this.rng.int(...this.shape.promptTokens)).trimStart() }],
      max_tokens: this.shape.maxTokens,
      stream: true,
    });
    const sample: Sample = { phase: this.phase(), ttftMs: NaN, ok: false, sendLagMs, sentAt: performance.now() };
    this.samples.push(sample);
    const p = this.one(body, sample).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async one(body: string, out: Sample): Promise<void> {
    const t0 = performance.now();
    try {
      const pool = this.pools[this.nextPool++ % this.pools.length];
      const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: this.abort.signal });
      if (res.statusCode !== 200) {
        out.error = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
        return;
      }
      const tail = await readStreamTiming(res.body as AsyncIterable<Buffer>, t0, 400, (ms) => (out.ttftMs = ms));
      out.ok = tail.includes('data: [DONE]') && !tail.includes('"error":') && !Number.isNaN(out.ttftMs);
      if (!out.ok) out.error = `stream ended badly: ${tail.slice(-200)}`;
    } catch (err) {
      out.error = (err as Error).message;
    }
  }
}
