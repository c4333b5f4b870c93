// Shared helpers for FinOps tests: a migrated SQLite store in a temp dir, record builders, a
// ledger double that can be slowed down or made to fail.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../../src/store/open.ts';
import type { GroupBy, SpendRow, SpendScope, UsageLedger, UsageRecord } from '../../src/finops/ports.ts';

export async function sqliteStore(): Promise<OpenedStore> {
  return openStore({ dataDir: mkdtempSync(join(tmpdir(), 'sy-finops-')) });
}

let seq = 0;
export function usageRecord(over: Partial<UsageRecord> = {}): UsageRecord {
  seq += 1;
  return {
    id: `rec-${seq}-${Math.random().toString(36).slice(2)}`,
    time: Date.now(),
    requestId: `req-${seq}`,
    keyId: 'key-1',
    teamId: 'team-1',
    model: 'gpt-4o-mini',
    deployment: 'gpt-4o-mini#0',
    endpoint: '/v1/chat/completions',
    promptTokens: 10,
    cachedTokens: 0,
    cacheCreationTokens: 0,
    completionTokens: 5,
    status: 200,
    errorCode: null,
    latencyMs: 50,
    ttftMs: null,
    costUsd: 0.001,
    reservedUsd: null,
    ...over,
  };
}

/** An in-memory ledger whose writes can be held or failed, counting batches. */
export class FakeLedger implements UsageLedger {
  readonly records: UsageRecord[] = [];
  readonly batches: number[] = [];
  failNext = 0;
  gate: Promise<void> | null = null;
  /** Calls to insertBatch so far, including ones still held at the gate. */
  entered = 0;

  async insertBatch(records: readonly UsageRecord[]): Promise<void> {
    this.entered += 1;
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('database unavailable');
    }
    this.batches.push(records.length);
    this.records.push(...records);
  }

  async spendReport(_from: number, _to: number, _groupBy: GroupBy): Promise<SpendRow[]> {
    return [];
  }

  async deploymentUsage(): Promise<SpendRow[]> {
    return [];
  }

  async spendSince(_scope: SpendScope, _from: number): Promise<number> {
    return 0;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the condition holds; fails after timeoutMs (sleeps alone race the event loop on busy hosts). */
export async function until(condition: () => boolean, timeoutMs = 2_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
