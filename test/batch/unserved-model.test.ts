// A model removed from the config after its batch was accepted: its queued requests do not wait
// for ever; after the grace period they fail with model_not_found (error file and dead-letter
// queue) and the batch completes, while the other model's requests succeed.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { assertExactlyOnce, chatLine, MODEL, readOutput, waitForBatch, writeJsonl } from './helpers.ts';

const GONE = 'model-about-to-be-removed';

describe('batch requests for a model no longer served', () => {
  let sim: RunningProcess;
  let gateway: RunningProcess | undefined;
  before(async () => {
    sim = await startSimulatorProcess(['--time-scale', '0']);
  });
  after(async () => {
    await gateway?.stop();
    await sim?.stop();
  });

  it('fails them with model_not_found after the grace period instead of leaving the batch in progress', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-unserved-'));
    const served = { name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] };
    // Nothing listens on port 9: the doomed model's requests cannot run before it is removed.
    const doomed = { name: GONE, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: 'http://127.0.0.1:9/v1' }] };
    const batchConfig = { backoff_base_ms: 60_000, backoff_max_ms: 60_000, poll_interval_ms: 50, unserved_model_grace_ms: 1_000 };
    gateway = await startGateway({ config: { models: [served, doomed], batch: batchConfig }, args: ['--data-dir', dataDir] });
    let client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const lines = [...Array.from({ length: 4 }, (_, i) => chatLine(i)), ...Array.from({ length: 3 }, (_, i) => chatLine(100 + i, { model: GONE }))];
    const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitForBatch(client, batch.id, 30_000, (b) => (b.request_counts?.completed ?? 0) === 4);
    await gateway.stop();

    gateway = await startGateway({ config: { models: [served], batch: batchConfig }, args: ['--data-dir', dataDir] });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const done = await waitForBatch(client, batch.id, 30_000);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 7, completed: 4, failed: 3 });
    const output = await readOutput(client, done.output_file_id);
    const errors = await readOutput(client, done.error_file_id);
    assertExactlyOnce(lines.map((l) => l.customId), [...output, ...errors]);
    assert.deepEqual(errors.map((l) => l.custom_id).sort(), ['req-100', 'req-101', 'req-102']);
    for (const l of errors) assert.equal(l.response!.status_code, 404);

    const dlq = await fetch(`${gateway.url}/admin/v1/dlq?batch_id=${batch.id}`);
    const entries = ((await dlq.json()) as { data: { model: string; error: { code: string } }[] }).data;
    assert.equal(entries.length, 3);
    for (const e of entries) {
      assert.equal(e.model, GONE);
      assert.equal(e.error.code, 'model_not_found');
    }
  });
});
