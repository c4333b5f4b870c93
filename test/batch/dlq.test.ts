// The dead-letter queue with a real gateway and a real simulator whose faults are switched at run
// time: requests that exhaust their retries, or fail for good, land in the DLQ with their history;
// the admin API lists, shows, replays (the batch reopens and finishes with fresh files) and purges.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { assertExactlyOnce, chatLine, MODEL, readOutput, waitForBatch, writeJsonl } from './helpers.ts';

interface Entry {
  id: string;
  kind: string;
  batch_id: string;
  custom_id: string;
  model: string;
  error: { code: string; message: string; status_code: number | null };
  attempts: number;
  history: { status_code: number | null; code: string | null; replayed?: boolean }[];
  request: { messages: unknown };
  replay_count: number;
}

describe('dead-letter queue', () => {
  let sim: RunningProcess;
  let gateway: RunningProcess;
  let client: OpenAI;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gateway.url}/admin/v1${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const faults = (body: unknown) => fetch(`${sim.url}/sim/faults`, { method: body ? 'POST' : 'DELETE', headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });

  before(async () => {
    sim = await startSimulatorProcess(['--time-scale', '0']);
    gateway = await startGateway({
      config: {
        models: [{ name: MODEL, max_retries: 0, circuit_breaker: { consecutive_failures: 1000 }, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }],
        batch: { max_attempts: 3, backoff_base_ms: 20, backoff_max_ms: 50, poll_interval_ms: 50 },
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await sim?.stop();
  });

  it('dead-letters exhausted and permanent failures, replays them into their batch, and purges', async () => {
    const lines = [...Array.from({ length: 8 }, (_, i) => chatLine(i)), { customId: 'broken', body: { model: MODEL, messages: 'not a list' } }];
    await faults({ errorRate: 1, errorStatus: 500 });
    const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const failed = await waitForBatch(client, batch.id);
    assert.equal(failed.status, 'completed');
    assert.deepEqual(failed.request_counts, { total: 9, completed: 0, failed: 9 });
    const errorLines = await readOutput(client, failed.error_file_id);
    assertExactlyOnce(lines.map((l) => l.customId), errorLines);
    assert.equal(errorLines.find((l) => l.custom_id === 'broken')!.response!.status_code, 400);
    assert.equal(errorLines.find((l) => l.custom_id === 'req-0')!.response!.status_code, 502, 'an upstream 500 is a 502 from the gateway');

    const list = await admin('GET', `/dlq?batch_id=${batch.id}`);
    assert.equal(list.status, 200);
    const entries = list.body.data as Entry[];
    assert.equal(entries.length, 9);
    const exhausted = entries.find((e) => e.custom_id === 'req-0')!;
    assert.equal(exhausted.kind, 'batch_item');
    assert.equal(exhausted.attempts, 3);
    assert.equal(exhausted.history.length, 3);
    assert.ok(exhausted.history.every((h) => h.status_code === 502));
    assert.match(exhausted.error.message, /Gave up after 3 attempts/);
    const permanent = entries.find((e) => e.custom_id === 'broken')!;
    assert.equal(permanent.attempts, 1, 'a 400 is not retried');
    assert.equal(permanent.error.status_code, 400);
    assert.deepEqual(permanent.request.messages, 'not a list');

    const shown = await admin('GET', `/dlq/${exhausted.id}`);
    assert.equal((shown.body as unknown as Entry).custom_id, 'req-0');
    assert.equal((await admin('GET', '/dlq?error_code=invalid_value')).status, 200);
    assert.equal((await admin('GET', '/dlq/dlq_doesnotexist')).status, 404);
    assert.equal((await admin('POST', '/dlq/replay', {})).status, 400, 'replay needs ids or a filter');

    // The upstream recovers: replaying puts the items back into their batch, which finishes again.
    await faults(null);
    const replay = await admin('POST', '/dlq/replay', { filter: { batch_id: batch.id } });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.replayed, 9);
    assert.deepEqual(replay.body.batches, [batch.id]);
    const redone = await waitForBatch(client, batch.id, 30_000, (b) => b.status === 'completed' && b.completed_at !== failed.completed_at && (b.request_counts?.completed ?? 0) === 8);
    assert.deepEqual(redone.request_counts, { total: 9, completed: 8, failed: 1 });
    const output = await readOutput(client, redone.output_file_id);
    const errors = await readOutput(client, redone.error_file_id);
    assertExactlyOnce(lines.map((l) => l.customId), output, errors);
    assert.deepEqual(errors.map((l) => l.custom_id), ['broken']);

    // The broken line failed again: it is back in the DLQ, marked as replayed once.
    const again = (await admin('GET', `/dlq?batch_id=${batch.id}`)).body.data as Entry[];
    assert.equal(again.length, 1);
    assert.equal(again[0].replay_count, 1);
    assert.ok(again[0].history.some((h) => h.replayed));

    // A replay into a new batch, then purge.
    const intoNew = await admin('POST', '/dlq/replay', { ids: [again[0].id], into: 'new_batch' });
    assert.equal(intoNew.body.replayed, 1);
    const newBatchId = (intoNew.body.batches as string[])[0];
    assert.notEqual(newBatchId, batch.id);
    const newBatch = await waitForBatch(client, newBatchId);
    assert.equal(newBatch.metadata?.replay_of, batch.id);
    assert.deepEqual(newBatch.request_counts, { total: 1, completed: 0, failed: 1 });
    assert.equal((await admin('DELETE', '/dlq')).status, 400, 'purge needs a filter or all=true');
    const purged = await admin('DELETE', `/dlq?batch_id=${newBatchId}`);
    assert.equal(purged.body.purged, 1);
    assert.equal(((await admin('GET', '/dlq')).body.data as Entry[]).length, 0);
  });

  it('does not spend attempts while no deployment of the model is healthy', async () => {
    await faults({ errorRate: 0 });
    // Health checks fail: the model has no healthy deployment, so queued items wait instead of failing.
    sim.child.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 5_500));
      const file = await client.files.create({ file: createReadStream(writeJsonl([chatLine(1)])), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await new Promise((r) => setTimeout(r, 1_000));
      const waiting = await client.batches.retrieve(batch.id);
      assert.equal(waiting.status, 'in_progress');
      assert.deepEqual(waiting.request_counts, { total: 1, completed: 0, failed: 0 });
      sim.child.kill('SIGCONT');
      const done = await waitForBatch(client, batch.id, 30_000);
      assert.deepEqual(done.request_counts, { total: 1, completed: 1, failed: 0 });
    } finally {
      sim.child.kill('SIGCONT');
    }
  });
});
