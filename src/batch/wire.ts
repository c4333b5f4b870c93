// The OpenAI wire shapes of files, batches, batch output lines and dead letters.

import type { BatchRecord, DeadLetter, FileRecord } from './types.ts';
import type { FinishedItem } from './ports.ts';

/** OpenAI leaves out what has not happened yet (its spec has these fields optional, not nullable). */
function withoutNulls<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k in o) if (o[k] !== null || k === 'metadata') out[k] = o[k];
  return out;
}

export function fileObject(f: FileRecord) {
  return { id: f.id, object: 'file', bytes: f.bytes, created_at: f.createdAt, filename: f.filename, purpose: f.purpose, status: 'processed' };
}

export function batchObject(b: BatchRecord) {
  return withoutNulls({
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    model: b.model,
    errors: b.errors ? { object: 'list', data: b.errors } : null,
    input_file_id: b.inputFileId,
    completion_window: b.completionWindow,
    status: b.status,
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: b.createdAt,
    in_progress_at: b.inProgressAt,
    expires_at: b.expiresAt,
    finalizing_at: b.finalizingAt,
    completed_at: b.completedAt,
    failed_at: b.failedAt,
    expired_at: b.expiredAt,
    cancelling_at: b.cancellingAt,
    cancelled_at: b.cancelledAt,
    request_counts: { total: b.total, completed: b.completed, failed: b.failed },
    usage: {
      input_tokens: b.inputTokens,
      input_tokens_details: { cached_tokens: b.cachedTokens },
      output_tokens: b.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: b.inputTokens + b.outputTokens,
    },
    metadata: b.metadata,
  });
}

/**
 * One line of an output or error file. Responses and error bodies are stored as JSON text and
 * spliced in as they are, so finalizing a large batch does not parse every response again.
 */
export function outputLine(item: FinishedItem): string {
  const head = `{"id":${JSON.stringify(item.id)},"custom_id":${JSON.stringify(item.customId)},`;
  if (item.statusCode !== null && item.response !== null) {
    return `${head}"response":{"status_code":${item.statusCode},"request_id":${JSON.stringify(item.requestId ?? item.id)},"body":${item.response}},"error":null}\n`;
  }
  const error = { code: item.errorCode ?? 'batch_request_failed', message: item.errorMessage ?? 'The request did not complete.' };
  return `${head}"response":null,"error":${JSON.stringify(error)}}\n`;
}

export function deadLetterObject(d: DeadLetter) {
  let request: unknown;
  try {
    request = JSON.parse(d.payload);
  } catch {
    request = d.payload;
  }
  return {
    id: d.id,
    object: 'dlq.entry',
    kind: d.kind,
    batch_id: d.batchId,
    item_id: d.itemId,
    custom_id: d.customId,
    model: d.model,
    webhook: d.webhook,
    owner_key_id: d.ownerKeyId,
    error: { code: d.errorCode, message: d.errorMessage, status_code: d.statusCode },
    attempts: d.attempts,
    history: d.history.map((a) => ({
      at: Math.floor(a.at / 1000),
      status_code: a.statusCode,
      code: a.code,
      message: a.message,
      deployment: a.deployment ?? null,
      ...(a.replayed ? { replayed: true } : {}),
    })),
    request,
    created_at: Math.floor(d.createdMs / 1000),
    replayed_at: d.replayedMs === null ? null : Math.floor(d.replayedMs / 1000),
    replay_count: d.replayCount,
  };
}
