// callUpstream against a real upstream on 127.0.0.1: every provider's stream goes through its
// synchronous decoder, and a stream the decoder saw complete keeps its keep-alive connection.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { callUpstream } from '../../src/providers/upstream-client.ts';
import { anthropicProvider } from '../../src/providers/anthropic/index.ts';
import { Deployment } from '../../src/routing/deployment.ts';
import { parseOpenAIRequest } from '../../src/api/openai/request.ts';
import { GatewayError } from '../../src/api/errors.ts';
import type { CanonicalChunk } from '../../src/api/canonical.ts';
import { RequestCancel } from '../../src/util/cancel-signal.ts';

const req = parseOpenAIRequest('chat', { model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'r');

const event = (type: string, data: object = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const ANSWER = [
  event('message_start', { message: { id: 'msg_1', model: 'claude-test', usage: { input_tokens: 7, output_tokens: 1 } } }),
  event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
  event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: ' there' } }),
  event('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } }),
];

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function withAnthropicUpstream(handler: Handler, test: (deployment: Deployment, connections: () => number) => Promise<void>): Promise<void> {
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  server.on('connection', () => (connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const deployment = new Deployment({
    id: 'claude#0',
    modelName: 'claude',
    adapter: anthropicProvider,
    target: { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upstreamModel: 'claude-test', apiKey: 'sk-ant-test' },
    weight: 1,
    healthUrl: null,
    metricsUrl: null,
    timeouts: { connect_ms: 5_000, first_token_ms: 10_000, idle_ms: 10_000, total_ms: 20_000 },
    circuitBreaker: { consecutive_failures: 5, ejection_ms: 10_000, max_ejection_ms: 60_000 },
  });
  try {
    await test(deployment, () => connections);
  } finally {
    await deployment.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function read(deployment: Deployment): Promise<{ chunks: CanonicalChunk[]; error?: unknown }> {
  const result = await callUpstream(deployment, req, new RequestCancel());
  assert.equal(result.type, 'stream');
  const chunks: CanonicalChunk[] = [];
  try {
    for await (const c of result.stream) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

describe('callUpstream: streams from an Anthropic upstream', () => {
  it('decodes the stream and keeps the connection of a stream that reached message_stop', async () => {
    await withAnthropicUpstream(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of ANSWER) res.write(piece);
        res.write(event('message_stop'));
        // The body ends a little after message_stop, as a real upstream's may.
        setTimeout(() => res.end(), 100);
      },
      async (deployment, connections) => {
        for (let i = 0; i < 2; i++) {
          const { chunks, error } = await read(deployment);
          assert.equal(error, undefined);
          assert.deepEqual(chunks.filter((c) => c.type === 'delta').map((c) => c.text ?? c.finish_reason), ['Hi', ' there', 'stop']);
          assert.deepEqual(chunks.at(-1), { type: 'usage', usage: { prompt_tokens: 7, completion_tokens: 3, cached_tokens: 0, cache_creation_tokens: 0 } });
          // Long enough for the body to end and undici to hand the connection back to the pool.
          await delay(250);
        }
        assert.equal(connections(), 1, 'a complete stream dropped its connection');
      },
    );
  });

  it('fails a stream cut short before message_stop, after the chunks decoded before the cut', async () => {
    await withAnthropicUpstream(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of ANSWER.slice(0, 3)) res.write(piece);
        setTimeout(() => res.end(), 20);
      },
      async (deployment) => {
        const { chunks, error } = await read(deployment);
        assert.deepEqual(chunks.map((c) => c.type), ['start', 'delta']);
        assert.ok(error instanceof GatewayError && error.code === 'upstream_stream_truncated', String(error));
      },
    );
  });
});
