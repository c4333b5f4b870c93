// The official openai SDK against a real gateway process over real simulator replicas.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';
import { assertMatchesSchema, embeddingFromWire } from '../support/openapi.ts';

const MODEL = 'sim-llama-3.1-8b';
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
};

describe('OpenAI SDK through the gateway', () => {
  let gateway: RunningProcess;
  let client: OpenAI;

  before(async () => {
    gateway = await startGateway({ config: simModelConfig({ replicas: 2, timeScale: 0.05 }) });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused-without-master-key', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('answers a chat completion with usage, valid per the OpenAI spec', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 12 })
      .withResponse();
    assertMatchesSchema('CreateChatCompletionResponse', data);
    assert.equal(data.model, MODEL);
    assert.equal(data.object, 'chat.completion');
    assert.ok(data.choices[0].message.content && data.choices[0].message.content.length > 0);
    assert.ok(data.usage!.prompt_tokens > 0);
    assert.ok(data.usage!.completion_tokens > 0 && data.usage!.completion_tokens <= 12);
    assert.equal(data.usage!.total_tokens, data.usage!.prompt_tokens + data.usage!.completion_tokens);
    assert.equal(response.headers.get('x-switchyard-model'), MODEL);
    assert.match(response.headers.get('x-switchyard-deployment') ?? '', /sim/);
  });

  it('streams chat chunks, each valid, with a final usage chunk when asked', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me a story' }],
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usageChunks = 0;
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assertMatchesSchema('CreateChatCompletionStreamResponse', chunk);
      if (chunk.usage) {
        usageChunks++;
        assert.deepEqual(chunk.choices, []);
        assert.ok(chunk.usage.completion_tokens > 0);
      } else {
        assert.equal(chunk.usage, null);
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
    }
    assert.ok(chunks > 3);
    assert.equal(usageChunks, 1);
    assert.ok(text.length > 0);
    assert.ok(finish === 'stop' || finish === 'length');
  });

  it('streams without usage chunks unless asked, ending in [DONE]', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const body = await res.text();
    const events = body.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    for (const e of events.slice(0, -1)) {
      const chunk = JSON.parse(e.slice('data: '.length));
      assert.equal('usage' in chunk, false);
      assertMatchesSchema('CreateChatCompletionStreamResponse', chunk);
    }
  });

  it('passes tool calls through, non-streamed', async () => {
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    assertMatchesSchema('CreateChatCompletionResponse', res);
    const call = res.choices[0].message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    const args = JSON.parse(call.function.arguments);
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
    assert.equal(res.choices[0].finish_reason, 'tool_calls');

    // The tool result goes back and the model answers in text.
    const followUp = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
      ],
      tools: [weatherTool],
      max_tokens: 10,
    });
    assert.ok((followUp.choices[0].message.content ?? '').length > 0);
  });

  it('passes tool calls through, streamed, reassembled by the SDK', async () => {
    const runner = client.chat.completions.stream({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
  });

  it('serves legacy completions, streamed and not', async () => {
    const res = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8 });
    assertMatchesSchema('CreateCompletionResponse', res);
    assert.equal(res.object, 'text_completion');
    assert.ok(res.choices[0].text.length > 0);
    const stream = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, res.choices[0].text, 'the simulator is deterministic for the same request');
  });

  it('returns deterministic embeddings of the configured dimension (base64 and float)', async () => {
    const a = await client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] });
    assertMatchesSchema('CreateEmbeddingResponse', a);
    assert.equal(a.data.length, 2);
    const b = await client.embeddings.create({ model: MODEL, input: 'alpha', encoding_format: 'float' });
    assertMatchesSchema('CreateEmbeddingResponse', b);
    const floatVector = b.data[0].embedding;
    assert.ok(Array.isArray(floatVector) && floatVector.length > 0);
    const decoded = embeddingFromWire(a.data[0].embedding as unknown as number[] | string);
    assert.equal(decoded.length, floatVector.length);
    decoded.forEach((v, i) => assert.ok(Math.abs(v - floatVector[i]) < 1e-6));
    const c = await client.embeddings.create({ model: MODEL, input: 'alpha', encoding_format: 'float', dimensions: 64 });
    assert.equal(c.data[0].embedding.length, 64);
  });

  it('lists models', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, [MODEL]);
    const raw = await (await fetch(`${gateway.url}/v1/models`)).json();
    assertMatchesSchema('ListModelsResponse', raw);
  });

  it('surfaces errors as the SDK typed errors', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof OpenAI.NotFoundError && /no-such-model/.test(err.message),
    );
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'wizard' as 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && (err.param ?? '').startsWith('messages[0]'),
    );
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], temperature: 7 }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'temperature',
    );
  });
});
