// Crash safety with real processes: a 5,000-line batch survives kill -9 of the gateway (restarted
// on the same store), a simulator replica killed mid-batch, and — on PostgreSQL — two gateways
// sharing the work while one of them is killed. Every input custom_id appears exactly once across
// the output and error files, and usage is recorded once per completed item.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import OpenAI from 'openai';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { freshPostgresSchema } from '../support/databases.ts';
import { assertExactlyOnce, chatLine, MODEL, readOutput, waitForBatch, writeJsonl } from './helpers.ts';

const LINES = 5_000;
const lines = Array.from({ length: LINES }, (_, i) => chatLine(i));
const customIds = lines.map((l) => l.customId);

function gatewayConfig(sims: RunningProcess[]) {
  return {
    health_check_interval_ms: 500,
    models: [{ name: MODEL, max_retries: 3, deployments: sims.map((s, i) => ({ provider: 'openai-compatible', engine: 'vllm', id: `sim-${i}`, url: `${s.url}/v1` })) }],
    batch: { lease_ms: 1_500, poll_interval_ms: 50, backoff_base_ms: 50, backoff_max_ms: 500 },
  };
}

const clientFor = (g: RunningProcess) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 3 });

async function submit(client: OpenAI): Promise<string> {
  const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
  return (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id;
}

/** Waits until the batch has between `from` and `to` of its lines done, so the crash lands mid-batch. */
async function waitForProgress(client: OpenAI, id: string, fraction: number): Promise<number> {
  const batch = await waitForBatch(client, id, 120_000, (b) => (b.request_counts?.completed ?? 0) >= LINES * fraction || b.status !== 'in_progress' && b.status !== 'validating');
  assert.equal(batch.status, 'in_progress', 'the batch must still be running when the crash comes');
  return batch.request_counts!.completed;
}

async function checkResults(client: OpenAI, id: string, ledgerRows: (ids: string[]) => Promise<{ request_id: string; n: number }[]>) {
  const done = await waitForBatch(client, id, 180_000);
  assert.equal(done.status, 'completed');
  const output = await readOutput(client, done.output_file_id);
  const errors = await readOutput(client, done.error_file_id);
  assertExactlyOnce(customIds, output, errors);
  assert.equal(done.request_counts!.completed, output.length);
  assert.equal(done.request_counts!.failed, errors.length);
  assert.equal(output.length + errors.length, LINES);
  // Usage: one successful ledger record per completed item, none for the others.
  const rows = await ledgerRows(output.map((l) => l.id));
  const recorded = new Map(rows.map((r) => [r.request_id, Number(r.n)]));
  const missing = output.filter((l) => recorded.get(l.id) !== 1);
  assert.equal(missing.length, 0, `items without exactly one usage record: ${missing.slice(0, 3).map((l) => `${l.id}=${recorded.get(l.id)}`).join(', ')}`);
  assert.equal(rows.length, output.length, 'usage recorded only for completed items');
  return { done, output, errors };
}

describe('batch crash safety', { timeout: 600_000 }, () => {
  const sims: RunningProcess[] = [];

  before(async () => {
    for (let i = 0; i < 2; i++) sims.push(await startSimulatorProcess(['--time-scale', '0.02', '--seed', String(i)]));
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('completes a batch exactly once after the gateway is killed with SIGKILL mid-batch and restarted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-crash-'));
    const config = gatewayConfig(sims);
    let gateway = await startGateway({ config, args: ['--data-dir', dataDir] });
    let client = clientFor(gateway);
    const id = await submit(client);
    const before = await waitForProgress(client, id, 0.15 + Math.random() * 0.45);
    gateway.child.kill('SIGKILL');
    await gateway.stop();

    gateway = await startGateway({ config, args: ['--data-dir', dataDir] });
    client = clientFor(gateway);
    const resumedAt = (await client.batches.retrieve(id)).request_counts!.completed;
    assert.ok(resumedAt >= before, 'what was written before the crash is kept');
    try {
      await checkResults(client, id, async (ids) => {
        await gateway.stop(); // flushes; the ledger is read from the file afterwards
        const db = new Database(join(dataDir, 'switchyard.db'), { readonly: true });
        try {
          const all = db.prepare("SELECT request_id, COUNT(*) AS n FROM usage_records WHERE status = 200 AND request_id LIKE 'batch_req_%' GROUP BY request_id").all() as { request_id: string; n: number }[];
          const wanted = new Set(ids);
          assert.equal(all.filter((r) => !wanted.has(r.request_id)).length, 0, 'no usage for items that are not in the output');
          return all;
        } finally {
          db.close();
        }
      });
    } finally {
      await gateway.stop();
    }
  });

  it('completes a batch exactly once when a replica is killed mid-batch', async () => {
    const victim = await startSimulatorProcess(['--time-scale', '0.02', '--seed', '7']);
    const gateway = await startGateway({ config: gatewayConfig([sims[0], victim]) });
    const client = clientFor(gateway);
    try {
      const id = await submit(client);
      await waitForProgress(client, id, 0.2 + Math.random() * 0.4);
      victim.child.kill('SIGKILL');
      const { done } = await checkResults(client, id, async (ids) => ids.map((request_id) => ({ request_id, n: 1 })));
      assert.equal(done.request_counts!.failed, 0, 'requests on the dead replica were retried on the live one');
    } finally {
      await gateway.stop();
      await victim.stop();
    }
  });

  it('shares one batch between two gateways on PostgreSQL, and survives one of them being killed', async (t) => {
    const database = await freshPostgresSchema(t);
    if (!database) return;
    const env = { DATABASE_URL: database.url };
    const config = gatewayConfig(sims);
    const a = await startGateway({ config, env });
    const b = await startGateway({ config, env });
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    try {
      const id = await submit(clientFor(a));
      await waitForProgress(clientFor(b), id, 0.2 + Math.random() * 0.3);
      // Both gateways hold leases at some moment: the work is shared, not done by whoever came first.
      let workers = 0;
      for (let i = 0; i < 50 && workers < 2; i++) {
        const res = await pool.query("SELECT COUNT(DISTINCT split_part(lease_token, ':', 1))::int AS n FROM batch_items WHERE state = 'leased'");
        workers = Math.max(workers, res.rows[0].n);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(workers, 2, 'both gateways were working the batch');
      a.child.kill('SIGKILL');
      await a.stop();
      await checkResults(clientFor(b), id, async (ids) => {
        await b.stop();
        const res = await pool.query<{ request_id: string; n: number }>(
          "SELECT request_id, COUNT(*)::int AS n FROM usage_records WHERE status = 200 AND request_id LIKE 'batch_req_%' GROUP BY request_id",
        );
        const wanted = new Set(ids);
        assert.equal(res.rows.filter((r) => !wanted.has(r.request_id)).length, 0);
        return res.rows;
      });
    } finally {
      await a.stop();
      await b.stop();
      await pool.end();
      await database.drop();
    }
  });
});
