// What batch needs from persistence. Batch owns these interfaces; src/store/batch/ implements them
// once over the portable SqlClient, so SQLite and PostgreSQL are swapped by configuration.
//
// The batch store is a durable job queue shared by every replica: each state change is conditional
// on the lease token of the worker (or ingester, or finalizer) that holds the row, so two replicas
// never both own an item or a batch, and a late write of one that lost its lease changes nothing.

import type {
  Attempt, BatchRecord, BatchValidationError, ClaimedItem, DeadLetter, DeadLetterFilter, FileRecord, ItemOutcome, ItemState, NewDeadLetter, NewItem,
} from './types.ts';

/** A finished item as the finalizer writes it to the output or error file. */
export interface FinishedItem {
  id: string;
  line: number;
  customId: string;
  state: ItemState;
  statusCode: number | null;
  response: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  requestId: string | null;
}

export interface BatchStore {
  insertBatch(batch: BatchRecord): Promise<void>;
  get(id: string): Promise<BatchRecord | undefined>;
  /** Newest first; `ownerKeyId` undefined lists every owner's, null the batches of no key; `after` is the last id of the previous page. */
  list(ownerKeyId: string | null | undefined, after: string | undefined, limit: number): Promise<BatchRecord[]>;

  // Validation: ingesting the input file into items.
  /** Takes the right to ingest a validating batch (new, or whose previous ingester's lease ran out). */
  claimValidation(id: string, token: string, nowMs: number, leaseMs: number): Promise<boolean>;
  validatingWithExpiredLease(nowMs: number): Promise<string[]>;
  extendBatchLease(id: string, token: string, untilMs: number): Promise<boolean>;
  /** Adds items, idempotent per line: a re-ingest after a crash skips the lines already there. */
  insertItems(batchId: string, items: readonly NewItem[]): Promise<void>;
  /** Validation passed: the batch starts; its items are then handed to workers with releasePending. */
  startBatch(id: string, token: string, total: number, model: string | null, nowMs: number): Promise<boolean>;
  /** Hands up to `limit` ingested items of a started batch to the workers; returns how many. */
  releasePending(batchId: string, limit: number, nowMs: number): Promise<number>;
  /**
   * Items of batches started more than `graceMs` ago whose ingester died before releasing them all,
   * at most `limit` a call so no one statement holds the database long (defaults: the store's).
   */
  releaseStrandedPending(nowMs: number, graceMs?: number, limit?: number): Promise<number>;
  /** The batch fails with these input errors and loses its items. */
  failValidation(id: string, token: string, errors: BatchValidationError[], nowMs: number): Promise<boolean>;

  // The work queue.
  /** Leases up to `limit` queued items of a model whose retry time has come. */
  claimItems(model: string, limit: number, token: string, nowMs: number, leaseMs: number): Promise<ClaimedItem[]>;
  /** Which of these models have a queued item ready now. */
  modelsWithWork(models: Iterable<string>, nowMs: number): Promise<string[]>;
  /** Models with queued items, other than those given (the ones this replica serves). */
  queuedModelsExcept(served: ReadonlySet<string>): Promise<string[]>;
  /** Whether any worker, on any replica, holds or has finished an item of the model since sinceMs. */
  modelProgressedSince(model: string, sinceMs: number): Promise<boolean>;
  /** Extends the leases of claims still being worked on. */
  renewLeases(tokens: readonly string[], untilMs: number): Promise<number>;
  /** Hands back the leases of workers that stopped renewing them (crashed or cut off). */
  releaseExpiredLeases(nowMs: number): Promise<number>;
  /** Gives back leases without counting the attempt (a clean shutdown, or claims never started). */
  releaseLeases(tokens: readonly string[], nowMs: number): Promise<number>;
  /**
   * Writes attempt outcomes atomically: each only while its lease is still the worker's, with the
   * usage records and dead letters of exactly the outcomes written and the batches' running counts.
   * Returns the item ids written.
   */
  applyOutcomes(outcomes: readonly ItemOutcome[]): Promise<Set<string>>;

  // Cancel, expire, finalize.
  /** validating, in_progress or finalizing → cancelling; items not started end as cancelled. Returns the new record. */
  cancel(id: string, nowMs: number): Promise<BatchRecord | undefined>;
  /** Batches past their completion window: items not started end as expired. Returns their ids. */
  expireOverdue(nowMs: number): Promise<string[]>;
  /** Batches whose every item has ended (or whose finalizer's lease ran out): ready to write their files. */
  readyToFinalize(nowMs: number): Promise<string[]>;
  /** Items a cancelled batch's ingester added after the cancel (or left behind when it died). */
  cancelStragglers(nowMs: number): Promise<number>;
  /** A batch cancelled while it validated: its total is what was ingested. */
  setTotal(id: string, total: number): Promise<void>;
  /** Takes the right to write a finished batch's files; a cancelling batch keeps its status until done. */
  claimFinalization(id: string, token: string, nowMs: number, leaseMs: number): Promise<BatchRecord | undefined>;
  /** Finished items in line order, a page at a time: all (the default), or only those that succeeded (output file) or did not (error file). */
  finishedItems(batchId: string, afterLine: number, limit: number, which?: 'all' | 'succeeded' | 'unsuccessful'): Promise<FinishedItem[]>;
  /** Publishes the files and ends the batch, if this finalizer still holds it. */
  completeFinalization(id: string, token: string, status: 'completed' | 'cancelled' | 'expired', files: { output: FileRecord | null; error: FileRecord | null }, nowMs: number): Promise<boolean>;

  /**
   * Puts failed items back in the queue of their batch, reopening it if it had finished (its next
   * finalization writes new files, so each line still appears exactly once), and removes their
   * dead letters. Returns the item ids requeued.
   */
  requeueItems(items: readonly { itemId: string; batchId: string; deadLetterId: string; history: Attempt[] }[], nowMs: number): Promise<string[]>;
}

export interface FileListQuery {
  /** Only this key's files (null: the files of no key); undefined lists every file (master key). */
  ownerKeyId?: string | null;
  purpose?: string;
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
}

/** File metadata, and for `database` storage the contents as ordered text chunks. */
export interface FileStore {
  insert(file: FileRecord): Promise<void>;
  get(id: string): Promise<FileRecord | undefined>;
  list(query: FileListQuery): Promise<FileRecord[]>;
  /** Removes the record and its chunks; true when it existed. */
  delete(id: string): Promise<boolean>;
  appendChunk(fileId: string, seq: number, content: string): Promise<void>;
  /** Up to `limit` chunks from `fromSeq` on, in order. */
  readChunks(fileId: string, fromSeq: number, limit: number): Promise<{ seq: number; content: string }[]>;
  deleteChunks(fileId: string): Promise<void>;
}

/** The dead-letter queue: requests and webhook deliveries given up on, kept until replayed or purged. */
export interface DeadLetterStore {
  insert(deadLetter: NewDeadLetter): Promise<void>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** Newest first; `after` is the last id of the previous page. */
  list(filter: DeadLetterFilter, after: string | undefined, limit: number): Promise<DeadLetter[]>;
  getMany(ids: readonly string[]): Promise<DeadLetter[]>;
  deleteIds(ids: readonly string[]): Promise<number>;
  /** Purges by filter; an empty filter purges everything (callers ask for that explicitly). */
  deleteMatching(filter: DeadLetterFilter): Promise<number>;
}
