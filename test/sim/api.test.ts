// The OpenAI/vLLM wire format over real HTTP, validated against OpenAI's OpenAPI schemas.
// Zero-latency mode (timeScale 0): the engine still runs, as fast as the host allows.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { countTokens } from '../../src/sim/text/tokenizer.ts';
import { assertMatchesSchema, embeddingFromWire } from '../support/openapi.ts';
import { chat, MODEL, post, stream, uniqueText, type Json } from './helpers.ts';

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer', minimum: 1, maximum: 7 } },
      required: ['city', 'unit'],
    },
  },
};
const TIME_TOOL = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } } };

function assertOpenAIError(json: Json, status: number, got: number): void {
  assert.equal(got, status);
  assertMatchesSchema('ErrorResponse', json);
}

describe('simulator HTTP API', () => {
  let sim: RunningSimulator;
  let base: string;
  before(async () => {
    sim = await startSimulator({ timeScale: 0, maxBodyBytes: 256 * 1024 });
    base = sim.url;
  });
  after(() => sim?.close());

  it('serves /health, /v1/models and a URL without /v1', async () => {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${base}/health`)).status, 200);
    const models = await (await fetch(`${base}/v1/models`)).json();
    assertMatchesSchema('ListModelsResponse', models);
    assert.equal(models.data[0].id, MODEL);
    assert.equal(models.data[0].max_model_len, 8192);
  });

  it('chat completion: schema, usage, deterministic output', async () => {
    const body = chat('Tell me something about caching.', { max_tokens: 12 });
    const a = await post(`${base}/v1/chat/completions`, body);
    assert.equal(a.status, 200);
    assertMatchesSchema('CreateChatCompletionResponse', a.json);
    assert.match(a.json.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(a.json.object, 'chat.completion');
    assert.equal(a.json.model, MODEL);
    const choice = a.json.choices[0];
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.refusal, null);
    assert.equal(choice.logprobs, null);
    assert.equal(choice.finish_reason, 'length');
    assert.equal(countTokens(choice.message.content), 12);
    assert.equal(a.json.usage.completion_tokens, 12);
    assert.equal(a.json.usage.total_tokens, a.json.usage.prompt_tokens + 12);
    assert.equal(typeof a.json.usage.prompt_tokens_details.cached_tokens, 'number');
    const b = await post(`${base}/v1/chat/completions`, body);
    assert.equal(b.json.choices[0].message.content, choice.message.content, 'same request, same output');
    const c = await post(`${base}/v1/chat/completions`, { ...body, seed: 42 });
    assert.notEqual(c.json.choices[0].message.content, choice.message.content, 'a seed changes it');
  });

  it('chat: natural stop, ignore_eos, min_tokens, stop strings, n', async () => {
    const natural = await post(`${base}/v1/chat/completions`, chat('Say anything.'));
    assert.equal(natural.json.choices[0].finish_reason, 'stop');
    const n = natural.json.usage.completion_tokens;
    assert.ok(n >= 16 && n <= 256, `${n}`);
    const exact = await post(`${base}/v1/chat/completions`, chat('Say anything.', { max_tokens: 300, ignore_eos: true }));
    assert.equal(exact.json.usage.completion_tokens, 300);
    assert.equal(exact.json.choices[0].finish_reason, 'length');
    const min = await post(`${base}/v1/chat/completions`, chat('Say anything.', { min_tokens: 280, max_tokens: 2000 }));
    assert.ok(min.json.usage.completion_tokens > 280);
    const word = exact.json.choices[0].message.content.split(' ')[4];
    const stopped = await post(`${base}/v1/chat/completions`, chat('Say anything.', { max_tokens: 300, ignore_eos: true, stop: [` ${word}`] }));
    assert.equal(stopped.json.choices[0].finish_reason, 'stop');
    assert.equal(stopped.json.choices[0].stop_reason, ` ${word}`);
    assert.ok(!stopped.json.choices[0].message.content.includes(` ${word}`));
    const many = await post(`${base}/v1/chat/completions`, chat('Say anything.', { n: 3, max_tokens: 8 }));
    assertMatchesSchema('CreateChatCompletionResponse', many.json);
    assert.deepEqual(
      many.json.choices.map((c: Json) => c.index),
      [0, 1, 2],
    );
    assert.equal(many.json.usage.completion_tokens, 24);
  });

  it('streams chat like vLLM: role chunk, one chunk per token, finish chunk, usage chunk, [DONE]', async () => {
    const s = await stream(`${base}/v1/chat/completions`, chat('Stream please.', { max_tokens: 10, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(s.done, 'ends with data: [DONE]');
    for (const e of s.events) assertMatchesSchema('CreateChatCompletionStreamResponse', e);
    const [first, ...rest] = s.events;
    assert.deepEqual(first.choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(first.usage, null);
    const usageChunk = rest.at(-1)!;
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.completion_tokens, 10);
    const tokens = rest.slice(0, -1);
    assert.equal(tokens.length, 10, 'one chunk per generated token');
    assert.ok(tokens.every((e) => e.usage === null && e.object === 'chat.completion.chunk' && e.id === first.id));
    assert.ok(tokens.slice(0, -1).every((e) => e.choices[0].finish_reason === null));
    assert.equal(tokens.at(-1)!.choices[0].finish_reason, 'length');
    const text = tokens.map((e) => e.choices[0].delta.content ?? '').join('');
    const whole = await post(`${base}/v1/chat/completions`, chat('Stream please.', { max_tokens: 10 }));
    assert.equal(text, whole.json.choices[0].message.content, 'streamed text equals the non-streamed text');

    const plain = await stream(`${base}/v1/chat/completions`, chat('Stream please.', { max_tokens: 3, stream: true }));
    assert.ok(plain.done);
    assert.ok(plain.events.every((e) => !('usage' in e)), 'no usage field without include_usage');
  });

  it('calls tools (non-streamed): named, required, auto after a user turn; text after a tool result', async () => {
    const auto = await post(`${base}/v1/chat/completions`, chat('Weather in Paris?', { tools: [WEATHER_TOOL] }));
    assertMatchesSchema('CreateChatCompletionResponse', auto.json);
    const choice = auto.json.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    const [call] = choice.message.tool_calls;
    assert.match(call.id, /^chatcmpl-tool-[0-9a-f]{32}$/);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments);
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
    assert.ok(auto.json.usage.completion_tokens > countTokens(call.function.arguments));

    const named = await post(`${base}/v1/chat/completions`, chat('What time is it?', { tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: { type: 'function', function: { name: 'get_time' } } }));
    assert.equal(named.json.choices[0].message.tool_calls[0].function.name, 'get_time');
    assert.ok('tz' in JSON.parse(named.json.choices[0].message.tool_calls[0].function.arguments));

    const none = await post(`${base}/v1/chat/completions`, chat('Weather?', { tools: [WEATHER_TOOL], tool_choice: 'none', max_tokens: 5 }));
    assert.equal(none.json.choices[0].finish_reason, 'length');
    assert.equal(typeof none.json.choices[0].message.content, 'string');

    const conversation = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: call.function }] },
      { role: 'tool', tool_call_id: call.id, content: '{"temp": 18}' },
    ];
    const answer = await post(`${base}/v1/chat/completions`, { model: MODEL, messages: conversation, tools: [WEATHER_TOOL], max_tokens: 6 });
    assert.equal(answer.json.choices[0].finish_reason, 'length');
    assert.equal(typeof answer.json.choices[0].message.content, 'string');
    assert.equal(answer.json.choices[0].message.tool_calls, undefined);
    const required = await post(`${base}/v1/chat/completions`, { model: MODEL, messages: conversation, tools: [WEATHER_TOOL], tool_choice: 'required' });
    assert.equal(required.json.choices[0].finish_reason, 'tool_calls');
  });

  it('streams tool calls as OpenAI tool_call deltas', async () => {
    const s = await stream(`${base}/v1/chat/completions`, chat('Weather in Paris?', { tools: [WEATHER_TOOL], stream: true, stream_options: { include_usage: true } }));
    assert.ok(s.done);
    for (const e of s.events) assertMatchesSchema('CreateChatCompletionStreamResponse', e);
    const deltas = s.events.filter((e) => e.choices[0]?.delta?.tool_calls).map((e) => e.choices[0].delta.tool_calls[0]);
    const [head, ...pieces] = deltas;
    assert.equal(head.index, 0);
    assert.match(head.id, /^chatcmpl-tool-/);
    assert.equal(head.type, 'function');
    assert.deepEqual(head.function, { name: 'get_weather', arguments: '' });
    assert.ok(pieces.length > 3);
    assert.ok(pieces.every((p) => p.index === 0 && p.id === undefined && typeof p.function.arguments === 'string'));
    const args = JSON.parse(pieces.map((p) => p.function.arguments).join(''));
    assert.ok(typeof args.city === 'string' && typeof args.unit === 'string');
    const finish = s.events.filter((e) => e.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(s.events.at(-1)!.choices, []);
  });

  it('text completions: prompt string or array, streamed and not', async () => {
    const one = await post(`${base}/v1/completions`, { model: MODEL, prompt: 'Once upon a time', max_tokens: 7 });
    assert.equal(one.status, 200);
    assertMatchesSchema('CreateCompletionResponse', one.json);
    assert.match(one.json.id, /^cmpl-[0-9a-f]{32}$/);
    assert.equal(one.json.object, 'text_completion');
    assert.equal(one.json.choices[0].finish_reason, 'length');
    assert.equal(one.json.usage.completion_tokens, 7);
    assert.equal(one.json.usage.prompt_tokens, countTokens('Once upon a time') + 1, 'plus the begin-of-text token');
    const dflt = await post(`${base}/v1/completions`, { model: MODEL, prompt: 'Hi' });
    assert.equal(dflt.json.usage.completion_tokens, 16, 'max_tokens defaults to 16');
    const many = await post(`${base}/v1/completions`, { model: MODEL, prompt: ['first prompt', 'second prompt here'], max_tokens: 3 });
    assertMatchesSchema('CreateCompletionResponse', many.json);
    assert.deepEqual(
      many.json.choices.map((c: Json) => c.index),
      [0, 1],
    );
    assert.equal(many.json.usage.completion_tokens, 6);
    const ids = await post(`${base}/v1/completions`, { model: MODEL, prompt: [1, 2, 3, 4], max_tokens: 2 });
    assert.equal(ids.json.usage.prompt_tokens, 4);

    const s = await stream(`${base}/v1/completions`, { model: MODEL, prompt: 'Once upon a time', max_tokens: 7, stream: true, stream_options: { include_usage: true } });
    assert.ok(s.done);
    // The spec shares one schema between completion responses and chunks, but streamed chunks carry
    // finish_reason null until the last one (OpenAI and vLLM alike), so validate with that filled in.
    for (const e of s.events) {
      assertMatchesSchema('CreateCompletionResponse', { ...e, usage: e.usage ?? undefined, choices: e.choices.map((c: Json) => ({ ...c, finish_reason: c.finish_reason ?? 'length' })) });
    }
    const tokenEvents = s.events.filter((e) => e.choices.length > 0);
    assert.equal(tokenEvents.length, 7);
    assert.deepEqual(
      tokenEvents.map((e) => e.choices[0].finish_reason),
      [null, null, null, null, null, null, 'length'],
    );
    assert.equal(tokenEvents.map((e) => e.choices[0].text).join(''), one.json.choices[0].text);
    assert.equal(s.events.at(-1)!.usage.completion_tokens, 7);
  });

  it('embeddings: deterministic unit vectors, dimensions, base64', async () => {
    const a = await post(`${base}/v1/embeddings`, { model: MODEL, input: ['hello world', 'something else'] });
    assert.equal(a.status, 200);
    assertMatchesSchema('CreateEmbeddingResponse', a.json);
    assert.equal(a.json.data.length, 2);
    const [v0, v1] = a.json.data.map((d: Json) => embeddingFromWire(d.embedding));
    assert.equal(v0.length, 384);
    const norm = Math.sqrt(v0.reduce((s: number, x: number) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.notDeepEqual(v0, v1);
    assert.equal(a.json.usage.prompt_tokens, countTokens('hello world') + countTokens('something else') + 2);
    const again = await post(`${base}/v1/embeddings`, { model: MODEL, input: 'hello world' });
    assert.deepEqual(again.json.data[0].embedding, a.json.data[0].embedding);
    const short = await post(`${base}/v1/embeddings`, { model: MODEL, input: 'hello world', dimensions: 64 });
    assert.equal(short.json.data[0].embedding.length, 64);
    const b64 = await post(`${base}/v1/embeddings`, { model: MODEL, input: 'hello world', encoding_format: 'base64' });
    assertMatchesSchema('CreateEmbeddingResponse', { ...b64.json, data: b64.json.data.map((d: Json) => ({ ...d, embedding: embeddingFromWire(d.embedding) })) });
    const decoded = embeddingFromWire(b64.json.data[0].embedding);
    assert.equal(decoded.length, 384);
    for (let i = 0; i < 384; i++) assert.ok(Math.abs(decoded[i] - v0[i]) < 1e-7);
  });

  it('exposes vLLM metrics in Prometheus text', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'vllm:num_requests_running',
      'vllm:num_requests_waiting',
      'vllm:kv_cache_usage_perc',
      'vllm:gpu_cache_usage_perc',
      'vllm:prefix_cache_queries_total',
      'vllm:prefix_cache_hits_total',
      'vllm:gpu_prefix_cache_queries_total',
      'vllm:gpu_prefix_cache_hits_total',
      'vllm:prompt_tokens_total',
      'vllm:generation_tokens_total',
      'vllm:num_preemptions_total',
    ]) {
      assert.match(text, new RegExp(`^${name}\\{model_name="${MODEL}",engine="0"\\} \\d`, 'm'), name);
    }
    assert.match(text, /^vllm:request_success_total\{model_name="sim-llama-3\.1-8b",engine="0",finished_reason="length"\} [1-9]/m);
    for (const h of ['time_to_first_token_seconds', 'e2e_request_latency_seconds', 'inter_token_latency_seconds', 'request_queue_time_seconds']) {
      assert.match(text, new RegExp(`^# TYPE vllm:${h} histogram$`, 'm'));
      assert.match(text, new RegExp(`^vllm:${h}_bucket\\{[^}]*le="\\+Inf"\\} [1-9]`, 'm'));
      assert.match(text, new RegExp(`^vllm:${h}_count\\{[^}]*\\} [1-9]`, 'm'));
    }
    for (const le of ['0.001', '0.005', '0.25', '2560']) assert.match(text, new RegExp(`vllm:time_to_first_token_seconds_bucket\\{[^}]*le="${le}"\\}`));
    // Every sample line is `name{labels} value`.
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^[a-z0-9_:]+\{[^}]*\} (-?[\d.e+-]+|\+Inf|NaN)$/);
  });

  it('rejects bad requests with OpenAI-shaped errors', async () => {
    const cases: Array<[string, unknown, number, string | null]> = [
      ['/v1/chat/completions', '{"model": "x", "messages": [', 400, null],
      ['/v1/chat/completions', '[1, 2]', 400, null],
      ['/v1/chat/completions', { model: MODEL }, 400, 'messages'],
      ['/v1/chat/completions', { model: MODEL, messages: [] }, 400, 'messages'],
      ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }, 400, 'messages[0].role'],
      ['/v1/chat/completions', chat('x', { max_tokens: 'ten' }), 400, 'max_tokens'],
      ['/v1/chat/completions', chat('x', { max_tokens: 0 }), 400, 'max_tokens'],
      ['/v1/chat/completions', chat('x', { temperature: 'hot' }), 400, 'temperature'],
      ['/v1/chat/completions', chat('x', { tools: [{ type: 'function' }] }), 400, 'tools[0]'],
      ['/v1/chat/completions', chat('x', { tools: [WEATHER_TOOL], tool_choice: { type: 'function', function: { name: 'nope' } } }), 400, 'tool_choice'],
      ['/v1/chat/completions', chat('x', { max_tokens: 9000 }), 400, 'max_tokens'],
      ['/v1/completions', { model: MODEL }, 400, 'prompt'],
      ['/v1/completions', { model: MODEL, prompt: [{}] }, 400, 'prompt[0]'],
      ['/v1/embeddings', { model: MODEL, input: '' }, 400, 'input'],
      ['/v1/embeddings', { model: MODEL, input: 'x', dimensions: 5000 }, 400, 'dimensions'],
    ];
    for (const [path, body, status, param] of cases) {
      const r = await post(`${base}${path}`, body);
      assertOpenAIError(r.json, status, r.status);
      assert.equal(r.json.error.param, param, `${path} ${JSON.stringify(body).slice(0, 80)}`);
    }
  });

  it('answers 400 to a tool schema past its generation bounds, and keeps serving', async () => {
    const hugeTool = { type: 'function', function: { name: 'list_all', parameters: { type: 'object', properties: { ids: { type: 'array', minItems: 1_000_000_000, items: { type: 'integer' } } }, required: ['ids'] } } };
    for (const extra of [{}, { stream: true }]) {
      const started = performance.now();
      const r = await post(`${base}/v1/chat/completions`, chat('List them all', { tools: [WEATHER_TOOL, hugeTool], tool_choice: { type: 'function', function: { name: 'list_all' } }, ...extra }));
      assert.ok(performance.now() - started < 2_000, 'answered at once');
      assertOpenAIError(r.json, 400, r.status);
      assert.equal(r.json.error.type, 'invalid_request_error');
      assert.equal(r.json.error.code, 'tool_schema_too_large');
      assert.equal(r.json.error.param, 'tools[1].function.parameters');
      assert.match(r.json.error.message, /function "list_all".*minItems 1000000000 is above the largest supported, 1024/);
    }
    const after = await post(`${base}/v1/chat/completions`, chat('Weather in Paris?', { tools: [WEATHER_TOOL] }));
    assert.equal(after.status, 200);
  });

  it('unknown model -> 404; too long a prompt -> 400; too large a body -> 413; wrong method -> 405', async () => {
    const missing = await post(`${base}/v1/chat/completions`, { ...chat('x'), model: 'gpt-17' });
    assertOpenAIError(missing.json, 404, missing.status);
    assert.equal(missing.json.error.message, 'The model `gpt-17` does not exist.');
    assert.equal(missing.json.error.code, 'model_not_found');
    const embMissing = await post(`${base}/v1/embeddings`, { model: 'gpt-17', input: 'x' });
    assert.equal(embMissing.status, 404);

    const long = await post(`${base}/v1/chat/completions`, chat(uniqueText(8200)));
    assertOpenAIError(long.json, 400, long.status);
    assert.equal(long.json.error.code, 'context_length_exceeded');
    assert.match(long.json.error.message, /maximum context length is 8192 tokens/);

    const huge = await post(`${base}/v1/chat/completions`, chat('x'.repeat(300 * 1024)));
    assertOpenAIError(huge.json, 413, huge.status);

    const wrong = await fetch(`${base}/v1/chat/completions`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assertOpenAIError(await wrong.json(), 405, 405);
    const unknown = await fetch(`${base}/v1/nope`);
    assertOpenAIError(await unknown.json(), 404, unknown.status);

    // Still serving after all of that.
    assert.equal((await post(`${base}/v1/chat/completions`, chat('still there?', { max_tokens: 2 }))).status, 200);
  });

  it('reports cached prompt tokens in usage for a repeated prefix', async () => {
    const system = uniqueText(600);
    const first = await post(`${base}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'system', content: system }, { role: 'user', content: 'one' }], max_tokens: 2 });
    const second = await post(`${base}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'system', content: system }, { role: 'user', content: 'two' }], max_tokens: 2 });
    assert.equal(first.json.usage.prompt_tokens_details.cached_tokens, 0);
    assert.ok(second.json.usage.prompt_tokens_details.cached_tokens >= 592, `${second.json.usage.prompt_tokens_details.cached_tokens}`);
  });
});
