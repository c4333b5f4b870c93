// The engine: a step loop over the scheduler, timed by the step-time model on an injectable clock.
//
// A step is: schedule a batch (scheduler.ts) at time T, compute its duration d from what it holds
// (step-time.ts), and at T + d apply it: advance every scheduled sequence, register newly full
// blocks in the prefix cache, sample one token for every sequence whose context is complete, and
// finish those that are done. The next step starts right away if there is work; an idle engine
// schedules nothing until a request arrives.

import type { Profile } from '../profiles.ts';
import type { EngineClock } from './clock.ts';
import { KvCache } from './kv-cache.ts';
import { EngineRequest, type EngineFinishReason, type EngineRequestInput, type EngineRequestResult } from './request.ts';
import { Scheduler, type Batch } from './scheduler.ts';
import { stepDurationMs } from './step-time.ts';

/** Receives per-request timings (the metrics module implements this). */
export interface EngineObserver {
  requestFinished(result: EngineRequestResult): void;
  /** Time between two consecutive tokens of one request, in model ms. */
  interTokenLatency(ms: number): void;
}

export interface EngineCounters {
  /** Prompt tokens of requests that produced their first token (or finished prefill-only). */
  promptTokens: number;
  generationTokens: number;
  prefixQueries: number;
  prefixHits: number;
  preemptions: number;
  finished: Record<EngineFinishReason, number>;
  steps: number;
  /** Model time spent in steps (busy time), ms. */
  busyMs: number;
}

export interface EngineSnapshot {
  running: number;
  waiting: number;
  /** Fraction of KV blocks referenced by requests (0-1). */
  kvUsage: number;
  freeBlocks: number;
  cachedBlocks: number;
  nowMs: number;
}

export class EngineClosedError extends Error {
  constructor() {
    super('the engine is shut down');
  }
}

export class Engine {
  readonly profile: Profile;
  readonly kv: KvCache;
  readonly clock: EngineClock;
  private readonly scheduler: Scheduler;
  private observer: EngineObserver | undefined;
  private readonly counts = { promptTokens: 0, generationTokens: 0, steps: 0, busyMs: 0, finished: { stop: 0, length: 0, abort: 0 } };
  /** A step is scheduled or in flight. */
  private active = false;
  private lastStepEndMs = 0;
  private closed = false;

  constructor(profile: Profile, clock: EngineClock) {
    this.profile = profile;
    this.clock = clock;
    this.kv = new KvCache(profile.numGpuBlocks, profile.blockSize);
    this.scheduler = new Scheduler(profile, this.kv);
  }

  setObserver(observer: EngineObserver | undefined): void {
    this.observer = observer;
  }

  get numRunning(): number {
    return this.scheduler.numRunning;
  }

  get numWaiting(): number {
    return this.scheduler.numWaiting;
  }

  /** Model time now, in ms. */
  now(): number {
    return this.clock.now();
  }

  get counters(): EngineCounters {
    const s = this.scheduler.counters;
    return { ...this.counts, finished: { ...this.counts.finished }, prefixQueries: s.prefixQueries, prefixHits: s.prefixHits, preemptions: s.preemptions };
  }

  snapshot(): EngineSnapshot {
    return {
      running: this.numRunning,
      waiting: this.numWaiting,
      kvUsage: this.kv.usage,
      freeBlocks: this.kv.numFree,
      cachedBlocks: this.kv.numCached,
      nowMs: this.clock.now(),
    };
  }

  /**
   * Queues a request. Throws if the engine is closed or the request cannot ever fit (the HTTP
   * layer rejects those with a 400 first).
   */
  submit(input: EngineRequestInput): EngineRequest {
    if (this.closed) throw new EngineClosedError();
    const total = input.promptTokenIds.length + input.outputTokenIds.length;
    if (input.promptTokenIds.length === 0) throw new RangeError('a request needs at least one prompt token');
    if (total > this.profile.maxModelLen) throw new RangeError(`request needs ${total} tokens, max_model_len is ${this.profile.maxModelLen}`);
    const req = new EngineRequest(input, this.clock.now());
    this.scheduler.enqueue(req);
    this.kick();
    return req;
  }

  /** Stops a request wherever it is and frees its KV blocks. No-op once finished. */
  abort(req: EngineRequest): void {
    if (req.state === 'finished') return;
    this.finish(req, 'abort', this.clock.now());
  }

  /** Aborts everything and stops the loop. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.cancel();
    this.active = false;
    for (const req of this.scheduler.all()) this.abort(req);
  }

  private kick(): void {
    if (this.active || this.closed) return;
    this.active = true;
    // Start on the next turn so requests arriving in the same tick share the first step.
    this.clock.schedule(this.clock.now(), () => this.startStep(Math.max(this.clock.now(), this.lastStepEndMs)));
  }

  private startStep(startMs: number): void {
    if (this.closed) return;
    let batch = this.scheduler.schedule(startMs);
    // A step that only preempted admits nothing; try once more so the queue cannot stall.
    if (batch.items.length === 0 && this.numWaiting > 0) batch = this.scheduler.schedule(startMs);
    if (batch.items.length === 0) {
      this.active = false; // idle: nothing runs until the next submit
      return;
    }
    const endMs = startMs + stepDurationMs(this.profile, batch);
    this.clock.schedule(endMs, () => this.completeStep(batch, startMs, endMs));
  }

  private completeStep(batch: Batch, startMs: number, endMs: number): void {
    if (this.closed) return;
    this.counts.steps++;
    this.counts.busyMs += endMs - startMs;
    this.lastStepEndMs = endMs;
    for (const { req, numNew } of batch.items) {
      if (req.state !== 'running') continue; // aborted while the step ran
      req.numComputed += numNew;
      if (this.profile.enablePrefixCaching) this.scheduler.registerComputedBlocks(req);
      if (req.numComputed < req.numTokens) continue; // prompt chunk done, more to prefill
      if (req.outputLen === 0) {
        this.counts.promptTokens += req.promptLen;
        this.finish(req, 'stop', endMs);
        continue;
      }
      this.sample(req, endMs);
    }
    // Keep model time continuous; resynchronise only if the host fell too far behind.
    const now = this.clock.now();
    this.startStep(now - endMs > this.clock.maxLagMs ? now : endMs);
  }

  private sample(req: EngineRequest, atMs: number): void {
    const index = req.numOutput++;
    if (req.firstTokenMs < 0) {
      req.firstTokenMs = atMs;
      this.counts.promptTokens += req.promptLen;
    } else {
      this.observer?.interTokenLatency(atMs - req.lastTokenMs);
    }
    req.lastTokenMs = atMs;
    this.counts.generationTokens++;
    const done = req.numOutput === req.outputLen;
    if (req.onToken && !this.notify(req, () => req.onToken!(index))) return;
    if (done && req.state === 'running') this.finish(req, req.finishReason, atMs);
  }

  private finish(req: EngineRequest, reason: EngineFinishReason, atMs: number): void {
    this.scheduler.remove(req);
    this.counts.finished[reason]++;
    const result = req.result(reason, atMs);
    this.observer?.requestFinished(result);
    if (req.onFinish) this.notify(req, () => req.onFinish!(result));
  }

  /**
   * Runs a request's callback. A throwing callback must not stop the step loop (every other
   * request would hang): it is reported, and its request aborted. Returns false if it threw.
   */
  private notify(req: EngineRequest, callback: () => void): boolean {
    try {
      callback();
      return true;
    } catch (err) {
      process.stderr.write(`switchyard sim: callback of request ${req.id} failed: ${(err as Error)?.stack ?? String(err)}\n`);
      if (req.state !== 'finished') this.finish(req, 'abort', this.clock.now());
      return false;
    }
  }
}
