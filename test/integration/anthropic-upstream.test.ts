// A streamed answer from an Anthropic upstream, through the gateway to an OpenAI SDK client: the
// body's pieces arrive over time and are pushed into the Anthropic stream decoder as they come.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startGateway, type RunningProcess } from '../support/processes.ts';

const WORDS = ['Hello', ' from', ' a', ' streamed', ' Anthropic', ' upstream.'];

const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The upstream's events, each written on its own after a short pause, so they arrive as separate pieces. */
function transcript(): string[] {
  return [
    event('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: 11, output_tokens: 0 } } }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...WORDS.map((text) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: WORDS.length } }),
    event('message_stop', {}),
  ];
}

describe('Anthropic upstream, streamed', () => {
  let upstream: Server;
  let gateway: RunningProcess;
  const received: { path: string; stream: boolean }[] = [];

  before(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', stream: (JSON.parse(body) as { stream?: boolean }).stream === true });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const events = transcript();
        const timer = setInterval(() => {
          const next = events.shift();
          if (next === undefined) {
            clearInterval(timer);
            res.end();
          } else res.write(next);
        }, 5);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gateway = await startGateway({ config: { models: [{ name: 'claude', deployments: [{ provider: 'anthropic', url, api_key: 'sk-ant-test', model: 'claude-test' }] }] } });
  });

  after(async () => {
    await gateway?.stop();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('relays every text delta in order, then the finish reason and the usage', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, WORDS.join(''));
    assert.equal(finish, 'stop');
    assert.equal(usage?.prompt_tokens, 11);
    assert.equal(usage?.completion_tokens, WORDS.length);
    assert.deepEqual(received, [{ path: '/v1/messages', stream: true }]);
  });
});
