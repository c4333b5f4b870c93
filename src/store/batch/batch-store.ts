// Batches and their items: the durable job queue. Every state change is one conditional UPDATE
// (or one transaction of them), so concurrent workers on several replicas never both own an item:
// a claim takes items with one statement (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has a
// single writer), and a result is written only while the worker's lease token still matches.

import type { BatchablePath } from '../../api/endpoints.ts';
import type { SqlClient, SqlExecutor, SqlValue } from '../sql.ts';
import { insertUsageRecords } from '../finops/ledger-store.ts';
import { insertFileRecord } from './file-store.ts';
import { insertDeadLetter } from './dlq-store.ts';
import type {
  Attempt, BatchRecord, BatchStatus, BatchValidationError, ClaimedItem, FileRecord, ItemOutcome, ItemState, NewItem,
} from '../../batch/types.ts';
import type { BatchStore, FinishedItem } from '../../batch/ports.ts';

interface BatchRow {
  [k: string]: unknown;
}

const num = (v: unknown): number => Number(v);
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toBatch(r: BatchRow): BatchRecord {
  return {
    id: String(r.id),
    status: r.status as BatchStatus,
    endpoint: r.endpoint as BatchablePath,
    inputFileId: String(r.input_file_id),
    completionWindow: String(r.completion_window),
    metadata: r.metadata ? (JSON.parse(String(r.metadata)) as Record<string, string>) : null,
    owner: { keyId: optStr(r.owner_key_id), teamId: optStr(r.owner_team_id), keyName: optStr(r.owner_key_name) },
    model: optStr(r.model),
    errors: r.errors ? (JSON.parse(String(r.errors)) as BatchValidationError[]) : null,
    outputFileId: optStr(r.output_file_id),
    errorFileId: optStr(r.error_file_id),
    total: num(r.total),
    completed: num(r.completed),
    failed: num(r.failed),
    inputTokens: num(r.input_tokens),
    cachedTokens: num(r.cached_tokens),
    outputTokens: num(r.output_tokens),
    createdAt: num(r.created_at),
    inProgressAt: optNum(r.in_progress_at),
    expiresAt: num(r.expires_at),
    finalizingAt: optNum(r.finalizing_at),
    completedAt: optNum(r.completed_at),
    failedAt: optNum(r.failed_at),
    expiredAt: optNum(r.expired_at),
    cancellingAt: optNum(r.cancelling_at),
    cancelledAt: optNum(r.cancelled_at),
  };
}

const UNFINISHED = "('pending', 'queued', 'leased')";
const s = (ms: number) => Math.floor(ms / 1000);

export class SqlBatchStore implements BatchStore {
  constructor(private readonly sql: SqlClient) {}

  async insertBatch(b: BatchRecord): Promise<void> {
    await this.sql.run(
      `INSERT INTO batches (id, status, endpoint, input_file_id, completion_window, metadata, owner_key_id, owner_team_id, owner_key_name,
        model, errors, output_file_id, error_file_id, total, completed, failed, input_tokens, cached_tokens, output_tokens, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, 0, 0, 0, 0, 0, ?, ?)`,
      [b.id, b.status, b.endpoint, b.inputFileId, b.completionWindow, b.metadata ? JSON.stringify(b.metadata) : null, b.owner.keyId, b.owner.teamId,
        b.owner.keyName, b.model, b.total, b.createdAt, b.expiresAt],
    );
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const [row] = await this.sql.query<BatchRow>('SELECT * FROM batches WHERE id = ?', [id]);
    return row ? toBatch(row) : undefined;
  }

  async list(ownerKeyId: string | null | undefined, after: string | undefined, limit: number): Promise<BatchRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (ownerKeyId !== undefined) {
      where.push(ownerKeyId === null ? 'owner_key_id IS NULL' : 'owner_key_id = ?');
      if (ownerKeyId !== null) params.push(ownerKeyId);
    }
    if (after) {
      where.push('id < ?');
      params.push(after);
    }
    params.push(limit);
    const rows = await this.sql.query<BatchRow>(`SELECT * FROM batches ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, params);
    return rows.map(toBatch);
  }

  // ---- validation (ingesting the input file into items) ----

  /** Takes the right to ingest a validating batch (new, or whose previous ingester died). */
  async claimValidation(id: string, token: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.sql.run(
      "UPDATE batches SET lease_token = ?, lease_expires_ms = ? WHERE id = ? AND status = 'validating' AND (lease_expires_ms IS NULL OR lease_expires_ms < ?)",
      [token, nowMs + leaseMs, id, nowMs],
    );
    return changed === 1;
  }

  async validatingWithExpiredLease(nowMs: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      "SELECT id FROM batches WHERE status = 'validating' AND (lease_expires_ms IS NULL OR lease_expires_ms < ?)",
      [nowMs],
    );
    return rows.map((r) => r.id);
  }

  async extendBatchLease(id: string, token: string, untilMs: number): Promise<boolean> {
    return (await this.sql.run('UPDATE batches SET lease_expires_ms = ? WHERE id = ? AND lease_token = ?', [untilMs, id, token])) === 1;
  }

  /** Adds items (idempotent per line, so a re-ingest after a crash skips what is there). */
  async insertItems(batchId: string, items: readonly NewItem[]): Promise<void> {
    const perStatement = 200;
    await this.sql.transaction(async (tx) => {
      for (let i = 0; i < items.length; i += perStatement) {
        const chunk = items.slice(i, i + perStatement);
        const params: SqlValue[] = [];
        for (const it of chunk) params.push(it.id, batchId, it.line, it.customId, it.model, it.body);
        await tx.run(
          `INSERT INTO batch_items (id, batch_id, line, custom_id, model, body, state, attempts, next_attempt_ms)
           VALUES ${chunk.map(() => "(?, ?, ?, ?, ?, ?, 'pending', 0, 0)").join(', ')} ON CONFLICT (batch_id, line) DO NOTHING`,
          params,
        );
      }
    });
  }

  /** Validation passed: the batch starts (its items are then released with releasePending). */
  async startBatch(id: string, token: string, total: number, model: string | null, nowMs: number): Promise<boolean> {
    const changed = await this.sql.run(
      "UPDATE batches SET status = 'in_progress', in_progress_at = ?, total = ?, model = ?, lease_token = NULL, lease_expires_ms = NULL WHERE id = ? AND status = 'validating' AND lease_token = ?",
      [s(nowMs), total, model, id, token],
    );
    return changed === 1;
  }

  /** Hands up to `limit` ingested items of a started batch to the workers; returns how many. */
  async releasePending(batchId: string, limit: number, nowMs: number): Promise<number> {
    return this.sql.run(
      "UPDATE batch_items SET state = 'queued', next_attempt_ms = ? WHERE id IN (SELECT id FROM batch_items WHERE batch_id = ? AND state = 'pending' LIMIT ?)",
      [nowMs, batchId, limit],
    );
  }

  /**
   * Items of started batches whose ingester died before releasing them all: only batches started
   * more than `graceMs` ago (a live ingester releases its own in steps within a second or two),
   * and at most `limit` per call, so the event loop is never held by one large UPDATE (releasing
   * 98,000 rows at once stalled it ~400 ms).
   */
  async releaseStrandedPending(nowMs: number, graceMs = 30_000, limit = 2_000): Promise<number> {
    return this.sql.run(
      `UPDATE batch_items SET state = 'queued', next_attempt_ms = ? WHERE id IN (
         SELECT id FROM batch_items WHERE state = 'pending' AND batch_id IN (SELECT id FROM batches WHERE status = 'in_progress' AND in_progress_at <= ?) LIMIT ?)`,
      [nowMs, s(nowMs - graceMs), limit],
    );
  }

  async failValidation(id: string, token: string, errors: BatchValidationError[], nowMs: number): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const changed = await tx.run(
        "UPDATE batches SET status = 'failed', failed_at = ?, errors = ?, lease_token = NULL, lease_expires_ms = NULL WHERE id = ? AND status = 'validating' AND lease_token = ?",
        [s(nowMs), JSON.stringify(errors), id, token],
      );
      if (changed === 1) await tx.run('DELETE FROM batch_items WHERE batch_id = ?', [id]);
      return changed === 1;
    });
  }

  // ---- the work queue ----

  /** Leases up to `limit` queued items of a model whose retry time has come. */
  async claimItems(model: string, limit: number, token: string, nowMs: number, leaseMs: number): Promise<ClaimedItem[]> {
    const pick =
      "SELECT id FROM batch_items WHERE model = ? AND state = 'queued' AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?" +
      this.skipLocked;
    const rows = await this.sql.query<{ id: string; batch_id: string; custom_id: string; model: string; body: string; attempts: number; history: string | null }>(
      `UPDATE batch_items SET state = 'leased', lease_token = ?, lease_expires_ms = ?, attempts = attempts + 1
       WHERE id IN (${pick}) RETURNING id, batch_id, custom_id, model, body, attempts, history`,
      [token, nowMs + leaseMs, model, nowMs, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      batchId: r.batch_id,
      customId: r.custom_id,
      model: r.model,
      body: r.body,
      attempts: Number(r.attempts),
      history: r.history ? (JSON.parse(r.history) as Attempt[]) : [],
      leaseToken: token,
    }));
  }

  /** Which of these models have a queued item ready now: one index probe each, never a scan. */
  async modelsWithWork(models: Iterable<string>, nowMs: number): Promise<string[]> {
    const ready: string[] = [];
    for (const model of models) {
      const rows = await this.sql.query("SELECT 1 AS one FROM batch_items WHERE model = ? AND state = 'queued' AND next_attempt_ms <= ? LIMIT 1", [model, nowMs]);
      if (rows.length > 0) ready.push(model);
    }
    return ready;
  }

  /** Models with queued items, other than those given (the ones this replica serves). */
  async queuedModelsExcept(served: ReadonlySet<string>): Promise<string[]> {
    const rows = await this.sql.query<{ model: string }>("SELECT DISTINCT model FROM batch_items WHERE state = 'queued'");
    return rows.map((r) => r.model).filter((m) => !served.has(m));
  }

  /** Whether any worker (on any replica) holds or has finished an item of the model since sinceMs. */
  async modelProgressedSince(model: string, sinceMs: number): Promise<boolean> {
    const rows = await this.sql.query("SELECT 1 AS one FROM batch_items WHERE model = ? AND (state = 'leased' OR finished_ms >= ?) LIMIT 1", [model, sinceMs]);
    return rows.length > 0;
  }

  /** Extends the leases of claims still being worked on. */
  async renewLeases(tokens: readonly string[], untilMs: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < tokens.length; i += 200) {
      const chunk = tokens.slice(i, i + 200);
      const leased = `SELECT id FROM batch_items WHERE state = 'leased' AND lease_token IN (${chunk.map(() => '?').join(', ')})`;
      n += await this.sql.run(`UPDATE batch_items SET lease_expires_ms = ? WHERE id IN (${leased}${this.skipLocked})`, [untilMs, ...chunk]);
    }
    return n;
  }

  /**
   * On PostgreSQL, claims and lease housekeeping skip rows another transaction holds (an outcome
   * being written, another claim) instead of waiting for them: waiting statements that lock
   * overlapping rows in different orders deadlock. A row skipped now is taken, renewed or released
   * at the next round.
   */
  private get skipLocked(): string {
    return this.sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  /** Hands back the leases of workers that stopped renewing them (crashed or cut off). */
  async releaseExpiredLeases(nowMs: number): Promise<number> {
    return this.sql.run(
      `UPDATE batch_items SET state = 'queued', lease_token = NULL, lease_expires_ms = NULL, next_attempt_ms = ?
       WHERE id IN (SELECT id FROM batch_items WHERE state = 'leased' AND lease_expires_ms < ?${this.skipLocked})`,
      [nowMs, nowMs],
    );
  }

  /** Gives back leases without counting the attempt (a clean shutdown, or claims never started). */
  async releaseLeases(tokens: readonly string[], nowMs: number): Promise<number> {
    let n = 0;
    for (let i = 0; i < tokens.length; i += 200) {
      const chunk = tokens.slice(i, i + 200);
      n += await this.sql.run(
        `UPDATE batch_items SET state = 'queued', lease_token = NULL, lease_expires_ms = NULL, next_attempt_ms = ?, attempts = attempts - 1
         WHERE state = 'leased' AND lease_token IN (${chunk.map(() => '?').join(', ')})`,
        [nowMs, ...chunk],
      );
    }
    return n;
  }

  /**
   * Writes attempt outcomes in one transaction: each item only if its lease is still the worker's
   * (a taken-over item's late result is dropped, so no line is done twice), with the usage records
   * and dead letters of exactly the outcomes that were written, and the batches' running counts.
   * Returns the ids written.
   */
  async applyOutcomes(outcomes: readonly ItemOutcome[]): Promise<Set<string>> {
    return this.sql.transaction(async (tx) => {
      const written = new Set<string>();
      const counts = new Map<string, { completed: number; failed: number; input: number; cached: number; output: number }>();
      const ledger = [];
      const now = Date.now();
      // Rows locked in one order (by id) by every writer, so two writers' transactions never deadlock.
      for (const o of [...outcomes].sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0))) {
        const changed = await tx.run(
          `UPDATE batch_items SET state = ?, next_attempt_ms = ?, lease_token = NULL, lease_expires_ms = NULL, status_code = ?, response = ?,
             error_code = ?, error_message = ?, request_id = ?, history = ?, prompt_tokens = ?, cached_tokens = ?, completion_tokens = ?, finished_ms = ?
           WHERE id = ? AND state = 'leased' AND lease_token = ?`,
          [o.state, o.nextAttemptMs ?? 0, o.statusCode, o.response, o.errorCode, o.errorMessage, o.requestId, JSON.stringify(o.history),
            o.usage?.prompt ?? null, o.usage?.cached ?? null, o.usage?.completion ?? null, o.state === 'queued' ? null : now, o.itemId, o.leaseToken],
        );
        if (changed !== 1) continue;
        written.add(o.itemId);
        ledger.push(...o.ledger);
        if (o.deadLetter) await insertDeadLetter(tx, o.deadLetter);
        if (o.state === 'queued') continue;
        let c = counts.get(o.batchId);
        if (!c) counts.set(o.batchId, (c = { completed: 0, failed: 0, input: 0, cached: 0, output: 0 }));
        if (o.state === 'succeeded') c.completed += 1;
        else c.failed += 1;
        c.input += o.usage?.prompt ?? 0;
        c.cached += o.usage?.cached ?? 0;
        c.output += o.usage?.completion ?? 0;
      }
      await insertUsageRecords(tx, ledger);
      for (const [batchId, c] of counts) {
        await tx.run(
          'UPDATE batches SET completed = completed + ?, failed = failed + ?, input_tokens = input_tokens + ?, cached_tokens = cached_tokens + ?, output_tokens = output_tokens + ? WHERE id = ?',
          [c.completed, c.failed, c.input, c.cached, c.output, batchId],
        );
      }
      return written;
    });
  }

  // ---- cancel, expire, finalize ----

  /** validating or in_progress → cancelling; queued items will not run. Returns the new record. */
  async cancel(id: string, nowMs: number): Promise<BatchRecord | undefined> {
    await this.sql.transaction(async (tx) => {
      const changed = await tx.run(
        "UPDATE batches SET status = 'cancelling', cancelling_at = ?, lease_token = NULL, lease_expires_ms = NULL WHERE id = ? AND status IN ('validating', 'in_progress', 'finalizing')",
        [s(nowMs), id],
      );
      if (changed === 1) await this.endUnstarted(tx, id, 'cancelled', 'batch_cancelled', 'The batch was cancelled before this request ran.', nowMs);
    });
    return this.get(id);
  }

  /** Batches past their completion window: unfinished items end as expired. */
  async expireOverdue(nowMs: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      "SELECT id FROM batches WHERE status = 'in_progress' AND expired_at IS NULL AND expires_at <= ?",
      [s(nowMs)],
    );
    for (const { id } of rows) {
      await this.sql.transaction(async (tx) => {
        const changed = await tx.run("UPDATE batches SET expired_at = ? WHERE id = ? AND status = 'in_progress' AND expired_at IS NULL", [s(nowMs), id]);
        if (changed === 1) await this.endUnstarted(tx, id, 'expired', 'batch_expired', 'This request was not run before the batch expired.', nowMs);
      });
    }
    return rows.map((r) => r.id);
  }

  private async endUnstarted(tx: SqlExecutor, batchId: string, state: ItemState, code: string, message: string, nowMs: number): Promise<void> {
    await tx.run(
      "UPDATE batch_items SET state = ?, error_code = ?, error_message = ?, finished_ms = ? WHERE batch_id = ? AND state IN ('pending', 'queued')",
      [state, code, message, nowMs, batchId],
    );
  }

  /** Batches whose every item has ended (or whose finalizer died): ready to write their files. */
  async readyToFinalize(nowMs: number): Promise<string[]> {
    const rows = await this.sql.query<{ id: string }>(
      `SELECT id FROM batches b WHERE status IN ('in_progress', 'cancelling', 'finalizing') AND (lease_expires_ms IS NULL OR lease_expires_ms < ?)
         AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.state IN ${UNFINISHED})`,
      [nowMs],
    );
    return rows.map((r) => r.id);
  }

  /** Items a cancelled batch's ingester added after the cancel (or left behind when it died). */
  async cancelStragglers(nowMs: number): Promise<number> {
    return this.sql.run(
      `UPDATE batch_items SET state = 'cancelled', error_code = 'batch_cancelled', error_message = 'The batch was cancelled before this request ran.', finished_ms = ?
       WHERE state = 'pending' AND batch_id IN (SELECT id FROM batches WHERE status = 'cancelling')`,
      [nowMs],
    );
  }

  /** A batch cancelled while it validated: its total is what was ingested. */
  async setTotal(id: string, total: number): Promise<void> {
    await this.sql.run('UPDATE batches SET total = ? WHERE id = ?', [total, id]);
  }

  /** Takes the right to write a finished batch's files; a cancelling batch keeps its status until done. */
  async claimFinalization(id: string, token: string, nowMs: number, leaseMs: number): Promise<BatchRecord | undefined> {
    const changed = await this.sql.run(
      `UPDATE batches SET status = CASE WHEN status = 'cancelling' THEN 'cancelling' ELSE 'finalizing' END,
         finalizing_at = COALESCE(finalizing_at, ?), lease_token = ?, lease_expires_ms = ?
       WHERE id = ? AND status IN ('in_progress', 'cancelling', 'finalizing') AND (lease_expires_ms IS NULL OR lease_expires_ms < ?)
         AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = ? AND i.state IN ${UNFINISHED})`,
      [s(nowMs), token, nowMs + leaseMs, id, nowMs, id],
    );
    return changed === 1 ? this.get(id) : undefined;
  }

  /**
   * Finished items in line order, a page at a time (a 100,000-line batch is never loaded whole):
   * all of them, or only those that succeeded (the output file) or did not (the error file), so
   * each file's pass reads only its own rows' bodies.
   */
  async finishedItems(batchId: string, afterLine: number, limit: number, which: 'all' | 'succeeded' | 'unsuccessful' = 'all'): Promise<FinishedItem[]> {
    const filter = which === 'all' ? '' : which === 'succeeded' ? " AND state = 'succeeded'" : " AND state <> 'succeeded'";
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT id, line, custom_id, state, status_code, response, error_code, error_message, request_id FROM batch_items
       WHERE batch_id = ? AND line > ?${filter} ORDER BY line LIMIT ?`,
      [batchId, afterLine, limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      line: Number(r.line),
      customId: String(r.custom_id),
      state: r.state as ItemState,
      statusCode: optNum(r.status_code),
      response: optStr(r.response),
      errorCode: optStr(r.error_code),
      errorMessage: optStr(r.error_message),
      requestId: optStr(r.request_id),
    }));
  }

  /** Publishes the files and ends the batch, if this finalizer still holds it. */
  async completeFinalization(id: string, token: string, status: 'completed' | 'cancelled' | 'expired', files: { output: FileRecord | null; error: FileRecord | null }, nowMs: number): Promise<boolean> {
    const stampColumn = { completed: 'completed_at', cancelled: 'cancelled_at', expired: 'expired_at' }[status];
    return this.sql.transaction(async (tx) => {
      const changed = await tx.run(
        `UPDATE batches SET status = ?, ${stampColumn} = ?, output_file_id = ?, error_file_id = ?, lease_token = NULL, lease_expires_ms = NULL
         WHERE id = ? AND lease_token = ? AND status IN ('finalizing', 'cancelling')`,
        [status, s(nowMs), files.output?.id ?? null, files.error?.id ?? null, id, token],
      );
      if (changed !== 1) return false;
      if (files.output) await insertFileRecord(tx, files.output);
      if (files.error) await insertFileRecord(tx, files.error);
      return true;
    });
  }

  // ---- replay from the dead-letter queue ----

  /**
   * Puts failed items back in the queue of their batch, reopening it if it had finished (its next
   * finalization writes new files, so each line still appears exactly once), and removes their
   * dead letters. Returns the item ids requeued.
   */
  async requeueItems(items: readonly { itemId: string; batchId: string; deadLetterId: string; history: Attempt[] }[], nowMs: number): Promise<string[]> {
    return this.sql.transaction(async (tx) => {
      const done: string[] = [];
      const perBatch = new Map<string, number>();
      for (const it of items) {
        const changed = await tx.run(
          `UPDATE batch_items SET state = 'queued', attempts = 0, next_attempt_ms = ?, history = ?, status_code = NULL, response = NULL,
             error_code = NULL, error_message = NULL, finished_ms = NULL WHERE id = ? AND state = 'failed'`,
          [nowMs, JSON.stringify(it.history), it.itemId],
        );
        if (changed !== 1) continue;
        await tx.run('DELETE FROM dlq_entries WHERE id = ?', [it.deadLetterId]);
        perBatch.set(it.batchId, (perBatch.get(it.batchId) ?? 0) + 1);
        done.push(it.itemId);
      }
      for (const [batchId, n] of perBatch) {
        await tx.run(
          `UPDATE batches SET failed = failed - ?, status = 'in_progress', completed_at = NULL, finalizing_at = NULL, output_file_id = NULL,
             error_file_id = NULL, lease_token = NULL, lease_expires_ms = NULL WHERE id = ?`,
          [n, batchId],
        );
      }
      return done;
    });
  }
}
