import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAIFormatStreamDecoder } from '../../../src/providers/openai-compatible/stream.ts';
import { buildOpenAIFormatCall } from '../../../src/providers/openai-compatible/request.ts';
import { mapUpstreamError } from '../../../src/providers/openai-compatible/errors.ts';
import { parseOpenAIRequest } from '../../../src/api/openai/request.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import type { CanonicalChunk } from '../../../src/api/canonical.ts';

const chatReq = (extra: Record<string, unknown> = {}) =>
  parseOpenAIRequest('chat', { model: 'client-name', messages: [{ role: 'user', content: 'hello there' }], stream: true, ...extra }, 'r');

/** Feeds the events to the decoder as the relay does: until it says the stream is complete, then the end. */
async function run(datas: string[], req = chatReq()): Promise<CanonicalChunk[]> {
  const decoder = new OpenAIFormatStreamDecoder(req);
  const out: CanonicalChunk[] = [];
  let complete = false;
  for (let i = 0; i < datas.length && !complete; i++) complete = decoder.event({ event: null, data: datas[i] }, out);
  decoder.end(out);
  return out;
}

const chunk = (delta: object, finish: string | null = null, usage?: object) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 7, model: 'up', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) });

describe('OpenAI-format stream decoding', () => {
  it('yields start, deltas, and the upstream usage last', async () => {
    const out = await run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hi' }),
      chunk({}, 'stop'),
      JSON.stringify({ id: 'c1', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 2 } } }),
      '[DONE]',
    ]);
    assert.deepEqual(out[0], { type: 'start', id: 'c1', created: 7, upstreamModel: 'up' });
    assert.deepEqual(out.at(-1), { type: 'usage', usage: { prompt_tokens: 3, completion_tokens: 1, cached_tokens: 2 } });
    assert.ok(out.some((c) => c.type === 'delta' && c.text === 'Hi'));
    assert.ok(out.some((c) => c.type === 'delta' && c.finish_reason === 'stop'));
  });

  it('keeps tool-call fragments in order', async () => {
    const out = await run([
      chunk({ tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    const fragments = out.flatMap((c) => (c.type === 'delta' && c.tool_calls ? c.tool_calls : []));
    assert.equal(fragments[0].id, 't1');
    assert.equal(fragments[0].name, 'f');
    assert.equal(fragments.map((f) => f.arguments ?? '').join(''), '{"a":1}');
  });

  it('estimates usage when the upstream sends none', async () => {
    const out = await run([chunk({ content: 'a' }), chunk({ content: 'b' }, 'length'), '[DONE]']);
    const last = out.at(-1);
    assert.ok(last?.type === 'usage' && last.usage.completion_tokens === 2 && last.usage.prompt_tokens > 0);
  });

  it('fails loudly on a truncated stream or an in-band error', async () => {
    await assert.rejects(run([chunk({ content: 'a' })]), (e: unknown) => e instanceof GatewayError && e.code === 'upstream_stream_truncated');
    await assert.rejects(run([chunk({ content: 'a' }), JSON.stringify({ error: { message: 'engine died' } })]), /engine died/);
    await assert.rejects(run(['{not json']), (e: unknown) => e instanceof GatewayError && e.code === 'upstream_malformed_response');
  });
});

describe('OpenAI-format request building', () => {
  it('uses the upstream model name, asks for stream usage, and adds the key', () => {
    const call = buildOpenAIFormatCall(chatReq({ max_tokens: 5, top_k: 3 }), { baseUrl: 'http://x/v1', upstreamModel: 'meta/llama', apiKey: 'k' }, { maxTokensField: 'max_tokens', requestStreamUsage: true });
    const body = JSON.parse(call.body);
    assert.equal(call.path, '/chat/completions');
    assert.equal(body.model, 'meta/llama');
    assert.equal(body.max_tokens, 5);
    assert.equal(body.top_k, 3);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(call.headers.authorization, 'Bearer k');
  });

  it('sends max_completion_tokens to hosted OpenAI', () => {
    const call = buildOpenAIFormatCall(chatReq({ max_tokens: 5 }), { baseUrl: 'http://x/v1', upstreamModel: 'gpt' }, { maxTokensField: 'max_completion_tokens', requestStreamUsage: true });
    const body = JSON.parse(call.body);
    assert.equal(body.max_completion_tokens, 5);
    assert.equal('max_tokens' in body, false);
  });
});

describe('upstream error mapping', () => {
  it('keeps request errors as 4xx and turns upstream failures into 502/503', () => {
    const bad = mapUpstreamError(400, '{"error":{"message":"prompt too long"}}', {});
    assert.equal(bad.status, 400);
    assert.match(bad.message, /prompt too long/);
    assert.equal(bad.retryable, false);
    const auth = mapUpstreamError(401, '{"error":{"message":"bad key sk-123"}}', {});
    assert.equal(auth.status, 502);
    assert.doesNotMatch(auth.message, /sk-123/);
    const limited = mapUpstreamError(429, '', { 'retry-after': '3' });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '3');
    assert.equal(limited.retryable, true);
    assert.equal(mapUpstreamError(500, 'oops', {}).status, 502);
    assert.equal(mapUpstreamError(500, 'oops', {}).retryable, true);
    assert.equal(mapUpstreamError(503, '', {}).status, 503);
  });
});
