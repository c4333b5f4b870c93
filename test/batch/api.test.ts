// The official openai SDK's files and batches resources against a real gateway process over
// simulator replicas: upload, validation errors with line numbers, create, poll, results, list,
// cancel, delete. Every object is checked against OpenAI's OpenAPI spec.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';
import { assertMatchesSchema } from '../support/openapi.ts';
import { assertExactlyOnce, chatLine, MODEL, readOutput, waitForBatch, writeJsonl } from './helpers.ts';

describe('Files and Batches API through the official SDK', () => {
  let gateway: RunningProcess;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway({
      config: { ...simModelConfig({ replicas: 2, timeScale: 0 }), batch: { poll_interval_ms: 50 } },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused-without-master-key', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('runs a chat batch: every line once in the output file, valid per the spec, with usage', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => chatLine(i));
    const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
    assertMatchesSchema('OpenAIFile', file);
    assert.equal(file.purpose, 'batch');
    assert.equal(file.filename, 'input.jsonl');

    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'test' } });
    assertMatchesSchema('Batch', created);
    assert.equal(created.status, 'validating');
    assert.deepEqual(created.metadata, { job: 'test' });

    const done = await waitForBatch(client, created.id);
    assertMatchesSchema('Batch', done);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 60, completed: 60, failed: 0 });
    assert.ok(done.in_progress_at && done.finalizing_at && done.completed_at);
    assert.equal(done.error_file_id, undefined);
    const usage = (done as unknown as { usage: { input_tokens: number; output_tokens: number; total_tokens: number } }).usage;
    assert.ok(usage.output_tokens > 0 && usage.output_tokens <= 60 * 6);

    const output = await readOutput(client, done.output_file_id);
    assertExactlyOnce(lines.map((l) => l.customId), output);
    let outputTokens = 0;
    for (const line of output) {
      assert.match(line.id, /^batch_req_/);
      assert.equal(line.error, null);
      assert.equal(line.response!.status_code, 200);
      assertMatchesSchema('CreateChatCompletionResponse', line.response!.body);
      outputTokens += (line.response!.body.usage as { completion_tokens: number }).completion_tokens;
    }
    assert.equal(outputTokens, usage.output_tokens);

    const outputFile = await client.files.retrieve(done.output_file_id!);
    assertMatchesSchema('OpenAIFile', outputFile);
    assert.equal(outputFile.purpose, 'batch_output');
  });

  it('runs embeddings and completions batches', async () => {
    for (const [endpoint, body] of [
      ['/v1/embeddings', { model: MODEL, input: 'embed me' }],
      ['/v1/completions', { model: MODEL, prompt: 'Once upon', max_tokens: 4 }],
    ] as const) {
      const lines = Array.from({ length: 5 }, (_, i) => ({ customId: `x-${i}`, url: endpoint, body }));
      const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
      const done = await waitForBatch(client, batch.id);
      assert.equal(done.request_counts?.completed, 5, endpoint);
      const output = await readOutput(client, done.output_file_id);
      assertMatchesSchema(endpoint === '/v1/embeddings' ? 'CreateEmbeddingResponse' : 'CreateCompletionResponse', output[0].response!.body);
    }
  });

  it('refuses an invalid input file with 400 naming each bad line', async () => {
    const path = writeJsonl([
      chatLine(1),
      '{"custom_id": "bad-json", ',
      { customId: 'req-1', body: { model: MODEL, messages: [] } },
      JSON.stringify({ custom_id: 'x', method: 'GET', url: '/v1/chat/completions', body: { model: MODEL } }),
      JSON.stringify({ custom_id: 'y', method: 'POST', url: '/v1/images', body: { model: MODEL } }),
      JSON.stringify({ custom_id: 'z', method: 'POST', url: '/v1/chat/completions', body: { messages: [] } }),
    ]);
    await assert.rejects(client.files.create({ file: createReadStream(path), purpose: 'batch' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal((err.error as { code?: string }).code, 'invalid_file');
      for (const fragment of ['line 2: not valid JSON', 'line 3: custom_id "req-1" is used by an earlier line', 'line 4: method must be "POST"', 'line 5: url must be one of', 'line 6: body.model']) {
        assert.ok(err.message.includes(fragment), `${fragment} in ${err.message}`);
      }
      return true;
    });
    await assert.rejects(client.files.create({ file: createReadStream(writeJsonl([chatLine(1)])), purpose: 'fine-tune' }), /purpose must be "batch"/);
  });

  it('fails a batch whose lines name an unknown model or another endpoint, with line numbers', async () => {
    const file = await client.files.create({
      file: createReadStream(writeJsonl([chatLine(1), { customId: 'other', body: { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] } }])),
      purpose: 'batch',
    });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await waitForBatch(client, batch.id);
    assertMatchesSchema('Batch', done);
    assert.equal(done.status, 'failed');
    assert.equal(done.errors?.data?.[0].line, 2);
    assert.equal(done.errors?.data?.[0].code, 'model_not_found');

    const wrongEndpoint = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const failed = await waitForBatch(client, wrongEndpoint.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errors?.data?.[0].code, 'invalid_url');
  });

  it('answers bad batch requests with 400/404 in the OpenAI error shape', async () => {
    await assert.rejects(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/chat/completions', completion_window: '24h' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.param, 'input_file_id');
      return true;
    });
    await assert.rejects(client.batches.create({ input_file_id: 'x', endpoint: '/v1/images' as '/v1/embeddings', completion_window: '24h' }), OpenAI.BadRequestError);
    await assert.rejects(client.batches.retrieve('batch_nope'), OpenAI.NotFoundError);
    await assert.rejects(client.files.retrieve('file-nope'), OpenAI.NotFoundError);
  });

  it('cancels a batch: unrun lines end in the error file as batch_cancelled, each line once', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => chatLine(i, { max_tokens: 200 }));
    const file = await client.files.create({ file: createReadStream(writeJsonl(lines)), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const cancelling = await client.batches.cancel(batch.id);
    assert.ok(['cancelling', 'cancelled'].includes(cancelling.status));
    const done = await waitForBatch(client, batch.id);
    assert.equal(done.status, 'cancelled');
    assert.ok(done.cancelled_at);
    const output = await readOutput(client, done.output_file_id);
    const errors = await readOutput(client, done.error_file_id);
    assertExactlyOnce(lines.map((l) => l.customId), output, errors);
    assert.ok(errors.length > 0);
    assert.ok(errors.every((l) => l.error?.code === 'batch_cancelled' && l.response === null));
    await assert.rejects(client.batches.cancel(batch.id).then((b) => assert.equal(b.status, 'cancelled')).then(() => Promise.reject(new Error('ok'))), /ok/);
  });

  it('lists batches and files with cursors, and deletes files', async () => {
    const page = await client.batches.list({ limit: 2 });
    assertMatchesSchema('ListBatchesResponse', { object: 'list', data: page.data, first_id: page.data[0]?.id, last_id: page.data.at(-1)?.id, has_more: page.hasNextPage() });
    assert.equal(page.data.length, 2);
    assert.ok(page.hasNextPage());
    const all = [];
    for await (const b of client.batches.list({ limit: 2 })) all.push(b.id);
    assert.equal(new Set(all).size, all.length);
    assert.ok(all.length >= 5);

    const files = await client.files.list();
    assert.ok(files.data.length >= 3);
    for (const f of files.data) assertMatchesSchema('OpenAIFile', f);
    const victim = files.data[0].id;
    const deleted = await client.files.delete(victim);
    assertMatchesSchema('DeleteFileResponse', deleted);
    await assert.rejects(client.files.retrieve(victim), OpenAI.NotFoundError);
    await assert.rejects(client.files.content(victim), OpenAI.NotFoundError);
  });
});
