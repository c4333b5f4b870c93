// The dead-letter queue: batch requests that failed for good and webhook deliveries that could not
// be made. Inspect, replay (items rejoin their batch, or a new batch when theirs has ended for
// good; webhooks are delivered again), purge.

import { GatewayError } from '../api/errors.ts';
import type { UndeliveredWebhook } from '../finops/webhooks.ts';
import type { BatchStore, DeadLetterStore } from './ports.ts';
import type { BatchesService } from './batches.ts';
import type { FilesService } from './files/service.ts';
import { newDeadLetterId } from './ids.ts';
import { ownerPrincipal } from './ingest.ts';
import type { Attempt, BatchRecord, DeadLetter, DeadLetterFilter } from './types.ts';

export type ReplayTarget = 'original' | 'new_batch';

export interface ReplayResult {
  replayed: number;
  /** Batches the items rejoined or were put in. */
  batches: string[];
  webhooks: number;
  /** Entries that could not be replayed, and why. */
  skipped: { id: string; reason: string }[];
}

export interface DeadLetterQueueOptions {
  deadLetters: DeadLetterStore;
  batches: BatchStore;
  batchesService: BatchesService;
  files: FilesService;
  resendWebhook?(webhook: string, kind: UndeliveredWebhook['kind'], body: string): string | undefined;
  /** Requeued items are ready now: let the worker look at once. */
  onRequeued?(): void;
}

const REPLAY_LIMIT = 100_000;
/** Batches that will never run another item: their dead letters go to a new batch. */
const CLOSED_FOR_GOOD = new Set(['cancelling', 'cancelled', 'expired', 'failed']);

/** The old batch's metadata plus replay_of, within OpenAI's 16-pair limit. */
function replayMetadata(batch: BatchRecord): Record<string, string> {
  const entries = Object.entries(batch.metadata ?? {}).filter(([k]) => k !== 'replay_of').slice(0, 15);
  return { ...Object.fromEntries(entries), replay_of: batch.id };
}

export class DeadLetterQueue {
  constructor(private readonly options: DeadLetterQueueOptions) {}

  async recordWebhook(u: UndeliveredWebhook): Promise<void> {
    const now = Date.now();
    await this.options.deadLetters.insert({
      id: newDeadLetterId(now),
      kind: 'webhook',
      batchId: null,
      itemId: null,
      customId: u.deliveryId,
      model: null,
      webhook: u.webhook,
      ownerKeyId: null,
      errorCode: u.reason,
      errorMessage: u.lastError ? `${u.reason}: ${u.lastError}` : u.reason,
      statusCode: u.lastError && /^HTTP (\d{3})$/.test(u.lastError) ? Number(u.lastError.slice(5)) : null,
      attempts: u.attempts,
      history: [{ at: now, statusCode: null, code: u.reason, message: u.lastError }],
      payload: JSON.stringify({ kind: u.kind, body: u.body }),
      createdMs: now,
    });
  }

  list(filter: DeadLetterFilter, after: string | undefined, limit: number): Promise<DeadLetter[]> {
    return this.options.deadLetters.list(filter, after, limit);
  }

  async get(id: string): Promise<DeadLetter> {
    const entry = await this.options.deadLetters.get(id);
    if (!entry) throw new GatewayError('not_found', `No dead-letter entry ${id}.`, { code: 'dlq_entry_not_found' });
    return entry;
  }

  async purge(selection: { ids?: string[]; filter?: DeadLetterFilter; all?: boolean }): Promise<number> {
    if (selection.ids?.length) return this.options.deadLetters.deleteIds(selection.ids);
    const filter = selection.filter ?? {};
    if (Object.values(filter).every((v) => v === undefined) && !selection.all) {
      throw new GatewayError('invalid_request', 'Say what to purge: ids, a filter (batch_id, model, error_code, kind) or all=true.', { code: 'purge_needs_selection' });
    }
    return this.options.deadLetters.deleteMatching(filter);
  }

  async replay(selection: { ids?: string[]; filter?: DeadLetterFilter }, into: ReplayTarget = 'original'): Promise<ReplayResult> {
    const entries = await this.select(selection);
    const result: ReplayResult = { replayed: 0, batches: [], webhooks: 0, skipped: [] };
    const found = new Set(entries.map((e) => e.id));
    for (const id of selection.ids ?? []) if (!found.has(id)) result.skipped.push({ id, reason: 'no such dead-letter entry' });
    const byBatch = new Map<string, DeadLetter[]>();
    for (const e of entries) {
      if (e.kind === 'webhook') {
        await this.replayWebhook(e, result);
        continue;
      }
      if (!e.batchId || !e.itemId) {
        result.skipped.push({ id: e.id, reason: 'entry has no batch item' });
        continue;
      }
      const list = byBatch.get(e.batchId) ?? [];
      list.push(e);
      byBatch.set(e.batchId, list);
    }
    for (const [batchId, group] of byBatch) {
      const batch = await this.options.batches.get(batchId);
      if (!batch) {
        for (const e of group) result.skipped.push({ id: e.id, reason: `batch ${batchId} no longer exists` });
        continue;
      }
      if (into === 'new_batch' || CLOSED_FOR_GOOD.has(batch.status)) await this.intoNewBatch(batch, group, result);
      else await this.intoOriginal(batch, group, result);
    }
    if (result.replayed > 0) this.options.onRequeued?.();
    return result;
  }

  private async select(selection: { ids?: string[]; filter?: DeadLetterFilter }): Promise<DeadLetter[]> {
    if (selection.ids?.length) return this.options.deadLetters.getMany(selection.ids);
    const filter = selection.filter ?? {};
    if (Object.values(filter).every((v) => v === undefined)) {
      throw new GatewayError('invalid_request', 'Say what to replay: ids, or a filter (batch_id, model, error_code, kind).', { code: 'replay_needs_selection' });
    }
    const out: DeadLetter[] = [];
    let after: string | undefined;
    while (out.length < REPLAY_LIMIT) {
      const page = await this.options.deadLetters.list(filter, after, 1_000);
      out.push(...page);
      if (page.length < 1_000) break;
      after = page[page.length - 1].id;
    }
    return out;
  }

  private async replayWebhook(e: DeadLetter, result: ReplayResult): Promise<void> {
    const { kind, body } = JSON.parse(e.payload) as { kind: UndeliveredWebhook['kind']; body: string };
    const id = e.webhook ? this.options.resendWebhook?.(e.webhook, kind, body) : undefined;
    if (!id) {
      result.skipped.push({ id: e.id, reason: `webhook ${e.webhook ?? '(unnamed)'} is not configured any more` });
      return;
    }
    // If this delivery fails again, the dispatcher gives it up into a new entry.
    await this.options.deadLetters.deleteIds([e.id]);
    result.webhooks += 1;
  }

  private async intoOriginal(batch: BatchRecord, group: DeadLetter[], result: ReplayResult): Promise<void> {
    const now = Date.now();
    const marker: Attempt = { at: now, statusCode: null, code: 'replayed', message: 'replayed from the dead-letter queue', replayed: true };
    const done = await this.options.batches.requeueItems(
      group.map((e) => ({ itemId: e.itemId!, batchId: batch.id, deadLetterId: e.id, history: [...e.history, marker] })),
      now,
    );
    const requeued = new Set(done);
    for (const e of group) if (!requeued.has(e.itemId!)) result.skipped.push({ id: e.id, reason: 'the item is no longer failed (already replayed?)' });
    if (done.length > 0) {
      result.replayed += done.length;
      result.batches.push(batch.id);
    }
  }

  private async intoNewBatch(batch: BatchRecord, group: DeadLetter[], result: ReplayResult): Promise<void> {
    const principal = ownerPrincipal(batch);
    const lines = async function* () {
      for (const e of group) {
        yield `{"custom_id":${JSON.stringify(e.customId)},"method":"POST","url":${JSON.stringify(batch.endpoint)},"body":${e.payload}}\n`;
      }
    };
    const file = await this.options.files.writeGenerated('batch', `${batch.id}_replay.jsonl`, batch.owner, lines());
    await this.options.files.record(file);
    const created = await this.options.batchesService.create(
      { input_file_id: file.id, endpoint: batch.endpoint, completion_window: batch.completionWindow, metadata: replayMetadata(batch) },
      principal,
    );
    await this.options.deadLetters.deleteIds(group.map((e) => e.id));
    result.replayed += group.length;
    result.batches.push(created.id);
  }
}
