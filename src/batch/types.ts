// The records of the batch capability: files, batches, their items and attempts, dead letters.
// The store interfaces that keep them are in ports.ts.

import type { BatchablePath } from '../api/endpoints.ts';
import type { UsageRecord } from '../finops/ports.ts';

export type FileStorageKind = 'directory' | 'database';
export type FilePurpose = 'batch' | 'batch_output';

export interface FileRecord {
  id: string;
  purpose: FilePurpose;
  filename: string;
  bytes: number;
  lineCount: number;
  storage: FileStorageKind;
  ownerKeyId: string | null;
  ownerTeamId: string | null;
  /** Unix seconds. */
  createdAt: number;
}

export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const TERMINAL_BATCH_STATUSES: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

/** A problem found in the input file, reported on the batch as OpenAI does. */
export interface BatchValidationError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface Owner {
  keyId: string | null;
  teamId: string | null;
  keyName: string | null;
}

export interface BatchRecord {
  id: string;
  status: BatchStatus;
  endpoint: BatchablePath;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  owner: Owner;
  model: string | null;
  errors: BatchValidationError[] | null;
  outputFileId: string | null;
  errorFileId: string | null;
  total: number;
  completed: number;
  failed: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  createdAt: number;
  inProgressAt: number | null;
  expiresAt: number;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
}

/**
 * pending: ingested while the batch validates; queued: waiting for a worker (or for its retry
 * time); leased: a worker holds it; the rest are terminal.
 */
export type ItemState = 'pending' | 'queued' | 'leased' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** One try of a request, kept on the item and shown in the dead-letter queue. */
export interface Attempt {
  /** Epoch ms the attempt ended. */
  at: number;
  statusCode: number | null;
  code: string | null;
  message: string | null;
  deployment?: string | null;
  /** Set on the marker written when the item was replayed from the dead-letter queue. */
  replayed?: true;
}

export interface NewItem {
  id: string;
  line: number;
  customId: string;
  model: string;
  body: string;
}

export interface ClaimedItem {
  id: string;
  batchId: string;
  customId: string;
  model: string;
  body: string;
  /** Including the one this claim starts. */
  attempts: number;
  history: Attempt[];
  leaseToken: string;
}

/** What a worker learnt from one attempt of one item, written atomically with its ledger records. */
export interface ItemOutcome {
  itemId: string;
  batchId: string;
  leaseToken: string;
  /** queued = try again at nextAttemptMs. */
  state: 'succeeded' | 'failed' | 'queued';
  nextAttemptMs?: number;
  statusCode: number | null;
  /** Response body (success) or error body (HTTP failure), as JSON text. */
  response: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  requestId: string;
  usage: { prompt: number; cached: number; completion: number } | null;
  history: Attempt[];
  ledger: UsageRecord[];
  /** A failed item also goes to the dead-letter queue. */
  deadLetter?: NewDeadLetter;
}

export type DeadLetterKind = 'batch_item' | 'webhook';

export interface NewDeadLetter {
  id: string;
  kind: DeadLetterKind;
  batchId: string | null;
  itemId: string | null;
  customId: string | null;
  model: string | null;
  webhook: string | null;
  ownerKeyId: string | null;
  errorCode: string;
  errorMessage: string;
  statusCode: number | null;
  attempts: number;
  history: Attempt[];
  /** The request body (batch item) or the notification body (webhook), as JSON text. */
  payload: string;
  createdMs: number;
}

export interface DeadLetter extends NewDeadLetter {
  replayedMs: number | null;
  replayCount: number;
}

export interface DeadLetterFilter {
  batchId?: string;
  model?: string;
  errorCode?: string;
  kind?: DeadLetterKind;
}
