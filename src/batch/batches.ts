// The Batches API behind /v1/batches: create (answers `validating` at once; ingestion runs in the
// background), retrieve, list, cancel. A key sees only its own batches; the master key sees all.

import { z } from 'zod';
import { BATCHABLE_PATHS } from '../api/endpoints.ts';
import { GatewayError } from '../api/errors.ts';
import { parseOrThrow } from '../api/validation.ts';
import type { BatchStore } from './ports.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { FilesService } from './files/service.ts';
import { mayAccess } from './files/service.ts';
import { newBatchId } from './ids.ts';
import { TERMINAL_BATCH_STATUSES, type BatchRecord } from './types.ts';

const createSchema = z.strictObject({
  input_file_id: z.string().min(1),
  endpoint: z.enum(BATCHABLE_PATHS),
  completion_window: z.string().regex(/^\d{1,3}h$/, 'use hours, e.g. "24h"').default('24h'),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, 'at most 16 metadata pairs')
    .nullish(),
});

export interface BatchesServiceOptions {
  batches: BatchStore;
  files: FilesService;
  /** Starts ingesting a new batch in the background. */
  startIngest(batchId: string): void;
}

const notFound = (id: string) => new GatewayError('not_found', `No batch with id ${id} (or it belongs to another key).`, { code: 'batch_not_found', param: 'batch_id' });

export class BatchesService {
  constructor(private readonly options: BatchesServiceOptions) {}

  async create(body: unknown, principal: Principal): Promise<BatchRecord> {
    const input = parseOrThrow(createSchema, body);
    const hours = Number(input.completion_window.slice(0, -1));
    if (hours < 1 || hours > 168) {
      throw new GatewayError('invalid_request', 'completion_window must be between "1h" and "168h" (OpenAI uses "24h").', { code: 'invalid_completion_window', param: 'completion_window' });
    }
    const file = await this.options.files.get(input.input_file_id, principal).catch(() => {
      throw new GatewayError('invalid_request', `input_file_id ${input.input_file_id} is not a file of yours; upload it with POST /v1/files (purpose=batch).`, { code: 'file_not_found', param: 'input_file_id' });
    });
    if (file.purpose !== 'batch') {
      throw new GatewayError('invalid_request', `File ${file.id} has purpose "${file.purpose}"; a batch needs a file uploaded with purpose "batch".`, { code: 'invalid_input_file', param: 'input_file_id' });
    }
    const now = Date.now();
    const createdAt = Math.floor(now / 1000);
    const batch: BatchRecord = {
      id: newBatchId(now),
      status: 'validating',
      endpoint: input.endpoint,
      inputFileId: file.id,
      completionWindow: input.completion_window,
      metadata: input.metadata ?? null,
      owner: { keyId: principal.keyId, teamId: principal.teamId, keyName: principal.keyName ?? null },
      model: null,
      errors: null,
      outputFileId: null,
      errorFileId: null,
      total: file.lineCount,
      completed: 0,
      failed: 0,
      inputTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      createdAt,
      inProgressAt: null,
      expiresAt: createdAt + hours * 3600,
      finalizingAt: null,
      completedAt: null,
      failedAt: null,
      expiredAt: null,
      cancellingAt: null,
      cancelledAt: null,
    };
    await this.options.batches.insertBatch(batch);
    this.options.startIngest(batch.id);
    return batch;
  }

  async get(id: string, principal: Principal): Promise<BatchRecord> {
    const batch = await this.options.batches.get(id);
    if (!batch || !mayAccess(principal, batch.owner.keyId)) throw notFound(id);
    return batch;
  }

  list(principal: Principal, after: string | undefined, limit: number): Promise<BatchRecord[]> {
    return this.options.batches.list(principal.isMaster ? undefined : principal.keyId, after, limit);
  }

  async cancel(id: string, principal: Principal): Promise<BatchRecord> {
    const batch = await this.get(id, principal);
    if (batch.status === 'cancelling' || batch.status === 'cancelled') return batch;
    if (TERMINAL_BATCH_STATUSES.has(batch.status)) {
      throw new GatewayError('invalid_request', `Batch ${id} is already ${batch.status} and cannot be cancelled.`, { status: 409, code: 'batch_not_cancellable' });
    }
    return (await this.options.batches.cancel(id, Date.now())) ?? batch;
  }
}
