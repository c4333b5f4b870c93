// Batch in one call: file storage, the Files and Batches APIs, the worker that runs batch items
// through the pipeline at the lowest priority, and the dead-letter queue. See docs/batch.md.

import { join, resolve } from 'node:path';
import type { AdminRoute } from '../api/routes.ts';
import type { ClientRoute } from '../api/routes.ts';
import type { Kernel } from '../pipeline/index.ts';
import type { ModelRegistry } from '../routing/registry.ts';
import type { SqlClient } from '../store/sql.ts';
import { batchStores } from '../store/batch/index.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { UndeliveredWebhook } from '../finops/webhooks.ts';
import { deadLetterAdminRoutes } from './admin-routes.ts';
import { BatchesService } from './batches.ts';
import { SpareCapacity } from './capacity.ts';
import type { BatchConfig } from './config.ts';
import { DeadLetterQueue } from './dlq.ts';
import { BatchExecutor } from './executor.ts';
import { FilesService } from './files/service.ts';
import { DatabaseStorage, DirectoryStorage, FileContents } from './files/storage.ts';
import { finalizeBatch } from './finalizer.ts';
import { ingestBatch } from './ingest.ts';
import { batchRoutes, fileRoutes } from './routes.ts';
import type { ItemOutcome } from './types.ts';
import type { ComponentLogger } from '../telemetry/logger.ts';
import { BatchWorker } from './worker.ts';

export interface CreateBatchOptions {
  sql: SqlClient;
  config: BatchConfig;
  dataDir: string;
  registry: ModelRegistry;
  /** Paces batch work; the same object the registry's pools read as their lowest-priority share. */
  capacity: SpareCapacity;
  /** The inference pipeline, with the batch owner as principal instead of a presented key. */
  pipeline: Kernel;
  mayUseModel(principal: Principal, model: string): Promise<boolean>;
  resendWebhook?(webhook: string, kind: UndeliveredWebhook['kind'], body: string): string | undefined;
  /** Longest accepted request line (the gateway's body limit). */
  maxLineBytes: number;
  onOutcomes?(outcomes: readonly ItemOutcome[]): void;
  logger: ComponentLogger;
}

export interface Batch {
  files: FilesService;
  batches: BatchesService;
  dlq: DeadLetterQueue;
  worker: BatchWorker | undefined;
  clientRoutes: { prefix: string; routes: ClientRoute[] }[];
  adminRoutes: AdminRoute[];
  /** FinOps' hook for webhook deliveries it gave up on. */
  recordUndeliveredWebhook(u: UndeliveredWebhook): void;
  /** Stops the worker: in-flight items get up to graceMs, the rest are handed back. */
  stopWorker(graceMs: number): Promise<void>;
  /** Waits for dead letters still being written (call after FinOps has closed). */
  drain(): Promise<void>;
}

/** Batch work's pacing from config; hand it to the model registry (as its lowest-priority share) and to createBatch. */
export function spareCapacity(config: BatchConfig): SpareCapacity {
  return new SpareCapacity({
    maxPerDeployment: config.max_in_flight_per_deployment,
    maxPerDeploymentWithInteractive: config.max_in_flight_per_deployment_with_interactive,
    interactiveQuietMs: config.interactive_quiet_ms,
  });
}

export function createBatch(options: CreateBatchOptions): Batch {
  const { config, logger } = options;
  const stores = batchStores(options.sql);
  const directory = new DirectoryStorage(resolve(config.files_directory ?? join(options.dataDir, 'files')));
  const database = new DatabaseStorage(stores.files);
  const writerKind = config.files_storage === 'auto' ? (options.sql.dialect === 'postgres' ? 'database' : 'directory') : config.files_storage;
  const contents = new FileContents(writerKind === 'database' ? database : directory, { directory, database });
  const files = new FilesService({ files: stores.files, contents, maxFileBytes: config.max_file_bytes, maxLines: config.max_lines, maxLineBytes: options.maxLineBytes });

  const ingest = (batchId: string, token: string) =>
    ingestBatch(
      {
        batches: stores.batches,
        files,
        serves: (model) => options.registry.pools.has(model),
        mayUseModel: options.mayUseModel,
        maxLines: config.max_lines,
        maxLineBytes: options.maxLineBytes,
        leaseMs: config.lease_ms,
        logger,
      },
      batchId,
      token,
    );
  let worker: BatchWorker | undefined;
  const batches = new BatchesService({
    batches: stores.batches,
    files,
    // Ingest here when this replica works batches; otherwise a worker replica's sweep picks it up.
    startIngest: (id) => worker?.ingestSoon(id),
  });
  if (config.workers) {
    worker = new BatchWorker({
      batches: stores.batches,
      registry: options.registry,
      executor: new BatchExecutor({ pipeline: options.pipeline, maxAttempts: config.max_attempts, backoff: { baseMs: config.backoff_base_ms, maxMs: config.backoff_max_ms } }),
      capacity: options.capacity,
      leaseMs: config.lease_ms,
      pollIntervalMs: config.poll_interval_ms,
      unservedModelGraceMs: config.unserved_model_grace_ms,
      ingest,
      finalize: (batchId, token) => finalizeBatch({ batches: stores.batches, files, leaseMs: config.lease_ms }, batchId, token),
      onOutcomes: options.onOutcomes,
      logger,
    });
    worker.start();
  }
  const dlq = new DeadLetterQueue({ deadLetters: stores.deadLetters, batches: stores.batches, batchesService: batches, files, resendWebhook: options.resendWebhook, onRequeued: () => worker?.wake() });

  const pendingDeadLetters = new Set<Promise<void>>();
  return {
    files,
    batches,
    dlq,
    worker,
    clientRoutes: [
      { prefix: '/v1/files', routes: fileRoutes(files) },
      { prefix: '/v1/batches', routes: batchRoutes(batches) },
    ],
    adminRoutes: deadLetterAdminRoutes(dlq),
    recordUndeliveredWebhook(u) {
      const p = dlq
        .recordWebhook(u)
        .catch((err: unknown) => logger.error({ err: (err as Error).message, webhook: u.webhook, kind: u.kind }, 'dlq: could not record an undelivered webhook'))
        .finally(() => pendingDeadLetters.delete(p));
      pendingDeadLetters.add(p);
    },
    stopWorker: async (graceMs) => {
      await worker?.stop(graceMs);
    },
    drain: async () => {
      await Promise.allSettled([...pendingDeadLetters]);
    },
  };
}

export { batchSchema, type BatchConfig } from './config.ts';
