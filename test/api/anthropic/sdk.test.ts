// The official @anthropic-ai/sdk reads what the Anthropic edge renders. A tiny local server answers
// POST /v1/messages with the edge's output for a scripted canonical response, so the SDK's own
// stream accumulator and response parsing are the judge.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import type { CanonicalChunk, CanonicalRequest, CanonicalResponse } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';

interface Script {
  chunks?: CanonicalChunk[];
  failAfterChunks?: GatewayError;
  response?: CanonicalResponse;
}

let script: Script = {};
let lastRequest: CanonicalRequest | undefined;

async function* play(chunks: CanonicalChunk[], failure?: GatewayError): AsyncGenerator<CanonicalChunk> {
  for (const c of chunks) yield c;
  if (failure) throw failure;
}

/** Does what the gateway's respond stage does with an edge, minus routing. */
async function handle(body: unknown, res: ServerResponse): Promise<void> {
  let req: CanonicalRequest;
  try {
    req = anthropicEdge.parseRequest('chat', body, 'req-sdk');
  } catch (err) {
    const e = err as GatewayError;
    res.writeHead(e.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(anthropicEdge.renderError(e)));
    return;
  }
  lastRequest = req;
  if (!req.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(anthropicEdge.renderResponse(req, script.response!, req.model)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  try {
    for await (const text of anthropicEdge.renderStream(req, play(script.chunks ?? [], script.failAfterChunks), req.model)) res.write(text);
  } catch (err) {
    res.write(anthropicEdge.renderStreamError(err as GatewayError));
  }
  res.end();
}

const weatherTool = {
  name: 'get_weather',
  description: 'Weather by city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('the official Anthropic SDK reads the edge output', () => {
  let server: Server;
  let client: Anthropic;

  before(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (text += d));
      req.on('end', () => void handle(JSON.parse(text), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: 'x', maxRetries: 0 });
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('assembles a streamed text + two tool calls message: content, tool inputs, stop_reason, usage', async () => {
    script = {
      chunks: [
        { type: 'start', id: 'chatcmpl-42', created: 1, upstreamModel: 'llama' },
        { type: 'delta', index: 0, role: 'assistant', text: 'Checking ' },
        { type: 'delta', index: 0, text: 'both.' },
        { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'call_r', name: 'get_weather', arguments: '' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '{"ci' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: 'ty":"Rome"}' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 1, id: 'call_p', name: 'get_weather', arguments: '{"city":' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: '"Paris"}' }] },
        { type: 'delta', index: 0, finish_reason: 'tool_calls' },
        { type: 'usage', usage: { prompt_tokens: 120, completion_tokens: 31, cached_tokens: 100 } },
      ],
    };
    const stream = client.messages.stream({
      model: 'my-model',
      max_tokens: 64,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Rome and Paris?' }],
    });
    let text = '';
    const jsonFragments: string[] = [];
    stream.on('text', (t) => (text += t));
    stream.on('inputJson', (fragment) => jsonFragments.push(fragment));
    const final = await stream.finalMessage();

    assert.equal(text, 'Checking both.');
    assert.deepEqual(jsonFragments, ['{"ci', 'ty":"Rome"}', '{"city":', '"Paris"}']);
    assert.equal(final.id, 'msg_chatcmpl42');
    assert.equal(final.model, 'my-model');
    assert.equal(final.role, 'assistant');
    assert.deepEqual(final.content, [
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_r', name: 'get_weather', input: { city: 'Rome' } },
      { type: 'tool_use', id: 'call_p', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    assert.equal(final.stop_reason, 'tool_use');
    assert.equal(final.stop_sequence, null);
    assert.equal(final.usage.input_tokens, 20, 'exact input from message_delta replaces the estimate');
    assert.equal(final.usage.cache_read_input_tokens, 100);
    assert.equal(final.usage.cache_creation_input_tokens, 0);
    assert.equal(final.usage.output_tokens, 31);

    // And the request the SDK built came through the edge as intended.
    assert.equal(lastRequest?.stream, true);
    assert.equal(lastRequest?.tools?.[0].function.name, 'get_weather');
  });

  it('assembles interleaved parallel tool-call fragments without losing any', async () => {
    script = {
      chunks: [
        { type: 'start', id: 'x', created: 1, upstreamModel: 'llama' },
        { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'a', name: 'get_weather' }, { index: 1, id: 'b', name: 'get_weather' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: '{"city":"Li' }, { index: 0, arguments: '{"city":"Os' }] },
        { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: 'lo"}' }, { index: 1, arguments: 'ma"}' }] },
        { type: 'delta', index: 0, finish_reason: 'tool_calls' },
        { type: 'usage', usage: { prompt_tokens: 9, completion_tokens: 9 } },
      ],
    };
    const final = await client.messages.stream({ model: 'm', max_tokens: 64, tools: [weatherTool], messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    assert.deepEqual(
      final.content.map((b) => (b.type === 'tool_use' ? [b.id, b.input] : b.type)),
      [
        ['a', { city: 'Oslo' }],
        ['b', { city: 'Lima' }],
      ],
    );
  });

  it('reports stop_sequence through the stream', async () => {
    script = {
      chunks: [
        { type: 'start', id: 'x', created: 1, upstreamModel: 'llama' },
        { type: 'delta', index: 0, text: 'one, two' },
        { type: 'delta', index: 0, finish_reason: 'stop', stop_sequence: ', three' },
        { type: 'usage', usage: { prompt_tokens: 7, completion_tokens: 3 } },
      ],
    };
    const final = await client.messages.stream({ model: 'm', max_tokens: 64, stop_sequences: [', three'], messages: [{ role: 'user', content: 'count' }] }).finalMessage();
    assert.equal(final.stop_reason, 'stop_sequence');
    assert.equal(final.stop_sequence, ', three');
    assert.deepEqual(lastRequest?.params.stop, [', three']);
    assert.deepEqual(final.usage.input_tokens, 7);
  });

  it('surfaces a mid-stream failure as an SDK error, not a clean end', async () => {
    script = {
      chunks: [
        { type: 'start', id: 'x', created: 1, upstreamModel: 'llama' },
        { type: 'delta', index: 0, text: 'partial' },
      ],
      failAfterChunks: new GatewayError('overloaded', 'upstream overloaded'),
    };
    const stream = client.messages.stream({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'x' }] });
    await assert.rejects(stream.finalMessage(), (err: unknown) => err instanceof Anthropic.APIError && /upstream overloaded/.test(err.message));
  });

  it('parses a non-streamed message with messages.create', async () => {
    script = {
      response: {
        kind: 'chat',
        id: 'chatcmpl-9',
        created: 1,
        upstreamModel: 'llama',
        choices: [
          {
            index: 0,
            text: 'Calling the tool.',
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }],
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 50, completion_tokens: 10, cached_tokens: 30, cache_creation_tokens: 5 },
      },
    };
    const msg = await client.messages.create({ model: 'my-model', max_tokens: 64, tools: [weatherTool], messages: [{ role: 'user', content: 'Rome?' }] });
    assert.equal(msg.type, 'message');
    assert.equal(msg.id, 'msg_chatcmpl9');
    assert.equal(msg.model, 'my-model');
    assert.deepEqual(msg.content, [
      { type: 'text', text: 'Calling the tool.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Rome' } },
    ]);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.usage, { input_tokens: 15, output_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 30 });
    assert.equal(lastRequest?.stream, false);
  });

  it('gets validation errors as the SDK BadRequestError with the field named', async () => {
    await assert.rejects(
      client.messages.create({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof Anthropic.BadRequestError && /max_tokens must be a positive integer/.test(err.message),
    );
  });
});
