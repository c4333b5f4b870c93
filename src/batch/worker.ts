// The batch worker of one gateway process. It leases ready items per model as far as the model's
// spare capacity allows, runs them through the pipeline, and writes their outcomes in batches.
// Housekeeping on a timer: renew its own leases, hand back leases of dead workers, expire overdue
// batches, ingest batches whose ingester died, fail items of models no longer served, and finalize
// batches whose items have all ended.
// Every step is a conditional write in the shared store, so any number of replicas can run one.

import { randomUUID } from 'node:crypto';
import type { ModelRegistry } from '../routing/registry.ts';
import type { BatchStore } from './ports.ts';
import type { ComponentLogger } from '../telemetry/logger.ts';
import type { SpareCapacity } from './capacity.ts';
import type { BatchExecutor } from './executor.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import type { BatchRecord, ClaimedItem, ItemOutcome } from './types.ts';

export interface BatchWorkerOptions {
  batches: BatchStore;
  registry: ModelRegistry;
  executor: BatchExecutor;
  capacity: SpareCapacity;
  leaseMs: number;
  pollIntervalMs: number;
  /** Queued items of a model this replica does not serve, and no replica has worked on for this
   *  long, are failed (model_not_found) instead of waiting forever. */
  unservedModelGraceMs: number;
  ingest(batchId: string, token: string): Promise<void>;
  finalize(batchId: string, token: string): Promise<boolean>;
  /** Called with what was written (metrics). */
  onOutcomes?(outcomes: readonly ItemOutcome[]): void;
  logger: ComponentLogger;
}

const HOUSEKEEPING_MS = 1_000;
const MODEL_SCAN_MS = 1_000;
const BATCH_CACHE_MAX = 1_000;
const UNSERVED_SCAN_MS = 30_000;
/** Items of an unserved model failed per scan (they fail fast: the pipeline answers 404). */
const UNSERVED_CLAIM = 1_000;
const OUTCOME_BATCH = 200;
/** Outcomes waiting to be written beyond which no more items are claimed: results written slower
 *  than items run (a busy shared store) slow claiming down instead of piling up leased items. */
const MAX_UNWRITTEN = 2 * OUTCOME_BATCH;

export class BatchWorker {
  private readonly workerId = randomUUID();
  private claimSeq = 0;
  /** Claim token → items of that claim still being worked on or waiting for their outcome to be
   *  written: their leases are renewed until the write is done, so a slow write never lets a lease
   *  lapse and the item run again (on a busy shared store that became a spiral of repeated work). */
  private readonly activeClaims = new Map<string, number>();
  /** Items claimed and not yet finished running, per model: what the allowance is measured against. */
  private readonly runningByModel = new Map<string, number>();
  /** Items claimed and not yet settled (running, or waiting for their outcome to be written). */
  private unsettled = 0;
  private readonly batchCache = new Map<string, BatchRecord>();
  private readonly abort = new AbortController();
  private readonly writer: OutcomeWriter<ItemOutcome>;
  private readonly timers: NodeJS.Timeout[] = [];
  private modelsWithWork: string[] = [];
  /** Models with queued items this replica does not serve, since when it has seen them. */
  private readonly unservedSince = new Map<string, number>();
  private lastUnservedScan = 0;
  private lastModelScan = 0;
  private ticking = false;
  private tickQueued = false;
  private housekeeping = false;
  private stopped = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Background tasks (ingest, finalize) running now, by batch id. */
  private readonly tasks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: BatchWorkerOptions) {
    this.writer = new OutcomeWriter({
      write: async (outcomes) => {
        try {
          const written = await options.batches.applyOutcomes(outcomes);
          options.onOutcomes?.(outcomes.filter((o) => written.has(o.itemId)));
        } finally {
          // Written or failed: either way stop renewing (a failed write's leases lapse and the items run again).
          for (const o of outcomes) this.settleClaim(o.leaseToken);
          // Claiming may have paused on the backlog of unwritten outcomes.
          this.scheduleTick();
        }
      },
      flushIntervalMs: 50,
      batchSize: OUTCOME_BATCH,
      onError: (err, count) => options.logger.error({ err: (err as Error).message, count }, 'batch: writing item outcomes failed; their leases will expire and they run again'),
    });
  }

  start(): void {
    const every = (ms: number, fn: () => Promise<unknown>) => {
      // A run still under way when the timer fires again is not doubled: overlapping lease renewals
      // on PostgreSQL deadlocked each other (row locks taken in different orders), and every
      // deadlock costs a second of waiting while more renewals pile onto the connection pool.
      let running = false;
      const run = () => {
        if (running) return;
        running = true;
        fn()
          .catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'batch worker task failed'))
          .finally(() => (running = false));
      };
      const t = setInterval(run, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.options.pollIntervalMs, () => this.tick());
    every(Math.max(250, Math.floor(this.options.leaseMs / 3)), () => this.renewLeases());
    every(HOUSEKEEPING_MS, () => this.housekeep());
    void this.housekeep();
  }

  /** A new batch was created here: ingest it now rather than at the next sweep. */
  ingestSoon(batchId: string): void {
    this.runTask(batchId, () => this.ingest(batchId));
  }

  /** New work is ready (a batch started, items were replayed): look for it now. */
  wake(): void {
    this.lastModelScan = 0;
    this.scheduleTick();
  }

  private async ingest(batchId: string): Promise<void> {
    await this.options.ingest(batchId, this.newToken());
    this.wake();
  }

  /** Stops claiming, lets in-flight items finish for up to graceMs, then gives back the rest. */
  async stop(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    this.abort.abort(new Error('gateway shutting down'));
    await Promise.allSettled([...this.tasks.values()]);
    await this.writer.close();
    await this.options.batches.releaseLeases([...this.activeClaims.keys()], Date.now()).catch(() => {});
  }

  private newToken(): string {
    this.claimSeq += 1;
    return `${this.workerId}:${this.claimSeq}`;
  }

  private runTask(key: string, fn: () => Promise<unknown>): void {
    if (this.tasks.has(key) || this.stopped) return;
    const task = fn()
      .catch((err: unknown) => this.options.logger.error({ err: (err as Error).message, batchId: key }, 'batch task failed'))
      .finally(() => this.tasks.delete(key));
    this.tasks.set(key, task);
  }

  private scheduleTick(): void {
    if (this.tickQueued) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      void this.tick().catch((err: unknown) => this.options.logger.warn({ err: (err as Error).message }, 'batch worker tick failed'));
    });
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const now = Date.now();
      if (now - this.lastModelScan >= MODEL_SCAN_MS) {
        this.lastModelScan = now;
        this.modelsWithWork = await this.options.batches.modelsWithWork(this.options.registry.pools.keys(), now);
      }
      for (const model of this.modelsWithWork) {
        const pool = this.options.registry.pools.get(model);
        if (!pool) continue;
        if (this.unsettled - this.inFlight >= MAX_UNWRITTEN) break;
        // Only running items hold a deployment; one waiting for its outcome to be written does not.
        const free = this.options.capacity.allowance(pool, now) - (this.runningByModel.get(model) ?? 0);
        if (free <= 0) continue;
        const token = this.newToken();
        const items = await this.options.batches.claimItems(model, free, token, now, this.options.leaseMs);
        if (items.length < free) this.modelsWithWork = this.modelsWithWork.filter((m) => m !== model);
        if (items.length === 0) continue;
        this.claimed(token, items.length);
        for (const item of items) void this.run(item, token, model);
      }
    } finally {
      this.ticking = false;
    }
  }

  private async batchOf(id: string): Promise<BatchRecord | undefined> {
    let b = this.batchCache.get(id);
    if (!b) {
      b = await this.options.batches.get(id);
      if (!b) return undefined;
      if (this.batchCache.size >= BATCH_CACHE_MAX) this.batchCache.clear();
      this.batchCache.set(id, b);
    }
    return b;
  }

  private async run(item: ClaimedItem, token: string, model: string): Promise<void> {
    this.inFlight += 1;
    this.runningByModel.set(model, (this.runningByModel.get(model) ?? 0) + 1);
    let handedToWriter = false;
    try {
      const batch = await this.batchOf(item.batchId);
      if (batch) {
        this.writer.add(await this.options.executor.execute(item, batch, this.abort.signal));
        handedToWriter = true;
      }
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message, itemId: item.id }, 'batch item failed unexpectedly; its lease will expire and it runs again');
    } finally {
      this.inFlight -= 1;
      this.runningByModel.set(model, (this.runningByModel.get(model) ?? 1) - 1);
      if (!handedToWriter) this.settleClaim(token);
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      this.scheduleTick();
    }
  }

  /** One item of the claim is done with (its outcome written, or nothing to write). */
  private settleClaim(token: string): void {
    const left = this.activeClaims.get(token);
    if (left === undefined) return;
    this.unsettled -= 1;
    if (left <= 1) this.activeClaims.delete(token);
    else this.activeClaims.set(token, left - 1);
  }

  private claimed(token: string, count: number): void {
    this.activeClaims.set(token, count);
    this.unsettled += count;
  }

  private async renewLeases(): Promise<void> {
    const tokens = [...this.activeClaims.keys()];
    if (tokens.length > 0) await this.options.batches.renewLeases(tokens, Date.now() + this.options.leaseMs);
  }

  private async housekeep(): Promise<void> {
    if (this.housekeeping || this.stopped) return;
    this.housekeeping = true;
    try {
      const { batches } = this.options;
      const now = Date.now();
      const released = await batches.releaseExpiredLeases(now);
      if (released > 0) {
        this.options.logger.warn({ released }, 'batch: took over requests whose worker stopped renewing its lease');
        this.lastModelScan = 0;
      }
      await batches.expireOverdue(now);
      await batches.cancelStragglers(now);
      await batches.releaseStrandedPending(now);
      for (const id of await batches.validatingWithExpiredLease(now)) this.runTask(id, () => this.ingest(id));
      await this.failUnservedModels(now);
      for (const id of await batches.readyToFinalize(now)) {
        this.runTask(id, async () => {
          await this.writer.flush();
          if (await this.options.finalize(id, this.newToken())) this.options.logger.info({ batchId: id }, 'batch finalized');
        });
      }
    } finally {
      this.housekeeping = false;
    }
  }

  /**
   * A model removed from the config after its batch was accepted would leave its items queued for
   * ever. After the grace period (long enough for a rolling config change, and only if no replica
   * has worked on the model meanwhile, so one serving it elsewhere keeps it) they run through the
   * pipeline like any item; it answers model_not_found, so each lands in the error file and the
   * dead-letter queue, from where they can be replayed once the model is back.
   */
  private async failUnservedModels(now: number): Promise<void> {
    if (now - this.lastUnservedScan < Math.min(UNSERVED_SCAN_MS, Math.max(1_000, this.options.unservedModelGraceMs / 2))) return;
    this.lastUnservedScan = now;
    const { batches, unservedModelGraceMs: grace } = this.options;
    const unserved = await batches.queuedModelsExcept(new Set(this.options.registry.pools.keys()));
    for (const model of this.unservedSince.keys()) if (!unserved.includes(model)) this.unservedSince.delete(model);
    for (const model of unserved) {
      const since = this.unservedSince.get(model) ?? now;
      this.unservedSince.set(model, since);
      if (now - since < grace || (await batches.modelProgressedSince(model, now - grace))) continue;
      const token = this.newToken();
      const items = await batches.claimItems(model, UNSERVED_CLAIM, token, now, this.options.leaseMs);
      if (items.length === 0) continue;
      this.options.logger.warn({ model, requests: items.length }, 'batch: failing queued requests for a model no gateway has served within the grace period');
      this.claimed(token, items.length);
      for (const item of items) void this.run(item, token, model);
      if (items.length === UNSERVED_CLAIM) this.lastUnservedScan = 0;
    }
  }
}
