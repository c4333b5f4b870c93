// The official openai SDK talking straight to the simulator: it must not notice it is not vLLM.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { MODEL } from './helpers.ts';

describe('simulator with the openai SDK', () => {
  let sim: RunningSimulator;
  let client: OpenAI;
  before(async () => {
    sim = await startSimulator({ timeScale: 0 });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => sim?.close());

  it('chat, streamed chat with usage, tool calls, embeddings (base64 by default), models, errors', async () => {
    const done = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    assert.equal(done.usage?.completion_tokens, 5);

    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    const s = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, done.choices[0].message.content);
    assert.equal(usage?.completion_tokens, 5);

    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] } } }];
    const runner = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'find it' }], tools });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    assert.equal(call?.type, 'function');
    assert.equal(call?.type === 'function' && call.function.name, 'lookup');
    assert.equal(typeof JSON.parse(call?.type === 'function' ? call.function.arguments : '{}').q, 'string');

    const emb = await client.embeddings.create({ model: MODEL, input: ['a', 'b'] });
    assert.equal(emb.data.length, 2);
    assert.equal(emb.data[0].embedding.length, 384);
    const norm = Math.hypot(...emb.data[0].embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5);

    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );

    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => err instanceof OpenAI.NotFoundError);
  });
});
