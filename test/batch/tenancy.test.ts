// Batches belong to the key that created them: other keys cannot see them or their files, their
// requests run as the owner (usage attributed to the owner's key), and revoking the key stops them.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { chatLine, MODEL, readOutput, waitForBatch, writeJsonl } from './helpers.ts';

const MASTER = 'sk-master-batch-tenancy-test';

describe('batch ownership', () => {
  let gateway: RunningProcess;
  let sim: RunningProcess;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gateway.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const clientWith = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

  before(async () => {
    sim = await startSimulatorProcess(['--time-scale', '0']);
    gateway = await startGateway({
      config: {
        health_check_interval_ms: 200,
        models: [{ name: MODEL, timeouts: { connect_ms: 300 }, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }],
        batch: { poll_interval_ms: 50, max_attempts: 1 },
      },
      env: { SWITCHYARD_MASTER_KEY: MASTER },
    });
  });
  after(async () => {
    sim?.child.kill('SIGCONT');
    await gateway?.stop();
    await sim?.stop();
  });

  it('keeps batches private to their key, bills the owner, and stops when the key is revoked', async () => {
    const alice = await admin('POST', '/keys', { name: 'alice' });
    const bob = await admin('POST', '/keys', { name: 'bob' });
    const a = clientWith(alice.key as string);
    const b = clientWith(bob.key as string);
    await assert.rejects(clientWith('sk-sy-not-a-key').files.list(), OpenAI.AuthenticationError);

    const file = await a.files.create({ file: createReadStream(writeJsonl(Array.from({ length: 5 }, (_, i) => chatLine(i)))), purpose: 'batch' });
    const batch = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await assert.rejects(b.files.retrieve(file.id), OpenAI.NotFoundError);
    await assert.rejects(b.batches.retrieve(batch.id), OpenAI.NotFoundError);
    await assert.rejects(b.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), OpenAI.BadRequestError);
    assert.equal((await b.batches.list()).data.length, 0);
    const done = await waitForBatch(a, batch.id);
    assert.equal(done.request_counts?.completed, 5);
    assert.equal((await clientWith(MASTER).batches.retrieve(batch.id)).id, batch.id, 'the master key sees every batch');

    const spend = await admin('GET', '/spend?group_by=key&since=1h');
    const rows = (spend.data ?? spend.rows) as { group: string; requests: number }[];
    assert.equal(rows.find((r) => r.group === alice.id)?.requests, 5, `usage attributed to the owner: ${JSON.stringify(spend)}`);

    // Revoked while its batch waits (the only replica is frozen, so nothing has run yet): every
    // request is refused as the owner's own would be, and ends in the error file and the DLQ.
    sim.child.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      const second = await a.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await waitForBatch(a, second.id, 10_000, (x) => x.status === 'in_progress');
      await admin('POST', `/keys/${alice.id as string}/revoke`);
      sim.child.kill('SIGCONT');
      const ended = await waitForBatch(clientWith(MASTER), second.id, 30_000);
      assert.deepEqual(ended.request_counts, { total: 5, completed: 0, failed: 5 });
      const errors = await readOutput(clientWith(MASTER), ended.error_file_id);
      assert.ok(errors.every((l) => l.response?.status_code === 401));
      const dlq = await admin('GET', `/dlq?batch_id=${second.id}`);
      assert.equal((dlq.data as { error: { code: string } }[]).filter((e) => e.error.code === 'api_key_revoked').length, 5);
    } finally {
      sim.child.kill('SIGCONT');
    }
  });
});
