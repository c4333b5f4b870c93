// The official @anthropic-ai/sdk against a real gateway translating to OpenAI-format simulator replicas.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

const MODEL = 'sim-llama-3.1-8b';
const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: {
    type: 'object' as const,
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city', 'days'],
  },
};

describe('Anthropic SDK through the gateway', () => {
  let gateway: RunningProcess;
  let client: Anthropic;

  before(async () => {
    gateway = await startGateway({ config: simModelConfig({ replicas: 1, timeScale: 0.05 }) });
    client = new Anthropic({ baseURL: gateway.url, apiKey: 'unused-without-master-key', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('answers a message with a system prompt, usage and end_turn', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 16,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, MODEL);
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.content[0].type, 'text');
    assert.ok(msg.content[0].type === 'text' && msg.content[0].text.length > 0);
    assert.ok(msg.stop_reason === 'end_turn' || msg.stop_reason === 'max_tokens');
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
  });

  it('reports max_tokens as the stop reason when the budget runs out', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 3,
      messages: [{ role: 'user', content: 'Write a long essay' }],
      // vLLM's ignore_eos is not an Anthropic field; the limit alone must stop it.
    });
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.usage.output_tokens, 3);
  });

  it('streams the Anthropic event sequence, message_start to message_stop', async () => {
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const text = await res.text();
    const names = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]).filter((n) => n !== 'ping');
    assert.equal(names[0], 'message_start');
    assert.equal(names[1], 'content_block_start');
    assert.equal(names.at(-1), 'message_stop');
    assert.equal(names.at(-2), 'message_delta');
    assert.equal(names.at(-3), 'content_block_stop');
    assert.ok(names.filter((n) => n === 'content_block_delta').length >= 1);
    for (const block of text.split('\n\n').filter(Boolean)) {
      const [eventLine, dataLine] = block.split('\n');
      assert.equal(JSON.parse(dataLine.slice(6)).type, eventLine.slice(7), 'event name equals data.type');
    }
  });

  it('streams through the SDK helper and assembles the final message', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 12, messages: [{ role: 'user', content: 'Tell me something' }] });
    let deltas = '';
    stream.on('text', (t) => (deltas += t));
    const final = await stream.finalMessage();
    assert.equal(final.content[0].type, 'text');
    assert.equal(final.content[0].type === 'text' && final.content[0].text, deltas);
    assert.ok(final.usage.output_tokens > 0);
    assert.ok(final.usage.input_tokens > 0, 'input tokens arrive by message_delta at the latest');
  });

  it('uses tools, non-streamed, and continues after a tool_result', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 200,
      tools: [weatherTool],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Rome for 3 days?' }],
    });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.equal(use.name, 'get_weather');
    const input = use.input as { city: unknown; days: unknown };
    assert.equal(typeof input.city, 'string');
    assert.ok(Number.isInteger(input.days));

    const next = await client.messages.create({
      model: MODEL,
      max_tokens: 10,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Rome for 3 days?' },
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 24C' }] },
      ],
    });
    assert.equal(next.content[0].type, 'text');
    assert.notEqual(next.stop_reason, 'tool_use');
  });

  it('streams tool use with input_json_delta and rebuilds the input', async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 200,
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [{ role: 'user', content: 'Weather in Lima?' }],
    });
    let partialJsonEvents = 0;
    stream.on('streamEvent', (e) => {
      if (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta') partialJsonEvents++;
    });
    const final = await stream.finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    const use = final.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.equal(typeof (use.input as { city: unknown }).city, 'string');
    assert.ok(partialJsonEvents >= 1);
  });

  it('surfaces errors as the SDK typed errors', async () => {
    await assert.rejects(
      client.messages.create({ model: 'claude-nope', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof Anthropic.NotFoundError,
    );
    await assert.rejects(
      client.messages.create({ model: MODEL, max_tokens: -1, messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof Anthropic.BadRequestError && /max_tokens/.test(err.message),
    );
  });
});
