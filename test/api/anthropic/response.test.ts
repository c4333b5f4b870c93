import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import { parseAnthropicRequest } from '../../../src/api/anthropic/request.ts';
import { anthropicMessageId, anthropicStopReason, anthropicUsage } from '../../../src/api/anthropic/response.ts';
import type { CanonicalChoice, CanonicalResponse, Usage } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import { parseSse } from '../../../src/providers/sse.ts';

const req = parseAnthropicRequest('chat', { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, 'req-9');

function response(choice: Partial<CanonicalChoice>, usage: Usage = { prompt_tokens: 10, completion_tokens: 5 }): CanonicalResponse {
  return {
    kind: 'chat',
    id: 'chatcmpl-abc123',
    created: 1,
    upstreamModel: 'llama',
    choices: [{ index: 0, text: null, finish_reason: 'stop', ...choice }],
    usage,
  };
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

describe('Anthropic message rendering', () => {
  it('renders text, tool_use blocks with parsed input, stop reason and usage', () => {
    const body = anthropicEdge.renderResponse(
      req,
      response(
        {
          text: 'Checking.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","days":3}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
          finish_reason: 'tool_calls',
        },
        { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 60, cache_creation_tokens: 15 },
      ),
      'my-model',
    );
    assert.deepEqual(body, {
      id: 'msg_chatcmplabc123',
      type: 'message',
      role: 'assistant',
      model: 'my-model',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Rome', days: 3 } },
        { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 25, output_tokens: 20, cache_creation_input_tokens: 15, cache_read_input_tokens: 60 },
    });
  });

  it('omits an empty text block and falls back to {} for arguments that are not a JSON object', () => {
    const body = anthropicEdge.renderResponse(
      req,
      response({
        text: '',
        tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{"city": "Ro' } },
          { id: 'b', type: 'function', function: { name: 'g', arguments: '[1,2]' } },
        ],
        finish_reason: 'length',
      }),
      'm',
    ) as { content: unknown[]; stop_reason: string };
    assert.deepEqual(body.content, [
      { type: 'tool_use', id: 'a', name: 'f', input: {} },
      { type: 'tool_use', id: 'b', name: 'g', input: {} },
    ]);
    assert.equal(body.stop_reason, 'max_tokens');
  });

  it('reports stop_sequence with the sequence that matched', () => {
    const body = anthropicEdge.renderResponse(req, response({ text: 'a', finish_reason: 'stop', stop_sequence: 'END' }), 'm') as Record<string, unknown>;
    assert.equal(body.stop_reason, 'stop_sequence');
    assert.equal(body.stop_sequence, 'END');
  });

  it('maps every finish reason', () => {
    assert.equal(anthropicStopReason('stop', null, false), 'end_turn');
    assert.equal(anthropicStopReason('stop', 'X', false), 'stop_sequence');
    assert.equal(anthropicStopReason('length', null, false), 'max_tokens');
    assert.equal(anthropicStopReason('tool_calls', null, true), 'tool_use');
    assert.equal(anthropicStopReason('content_filter', null, false), 'refusal');
    assert.equal(anthropicStopReason('error', null, false), 'end_turn');
    assert.equal(anthropicStopReason(null, null, false), 'end_turn');
    // Engines that say "stop" after calling tools still mean "run the tools".
    assert.equal(anthropicStopReason('stop', null, true), 'tool_use');
  });

  it('excludes cache reads and writes from input_tokens, never below zero', () => {
    assert.deepEqual(anthropicUsage({ prompt_tokens: 50, completion_tokens: 7 }), {
      input_tokens: 50,
      output_tokens: 7,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    assert.equal(anthropicUsage({ prompt_tokens: 5, completion_tokens: 0, cached_tokens: 9 }).input_tokens, 0);
  });

  it('gives every message a msg_ id', () => {
    assert.equal(anthropicMessageId('msg_01XYZ', 'r'), 'msg_01XYZ');
    assert.equal(anthropicMessageId('chatcmpl-7f3a', 'r'), 'msg_chatcmpl7f3a');
    assert.equal(anthropicMessageId('', 'req-5'), 'msg_req5');
  });

  it('refuses to render an embedding response', () => {
    assert.throws(
      () => anthropicEdge.renderResponse(req, { kind: 'embedding', upstreamModel: 'e', data: [], usage: { prompt_tokens: 1, completion_tokens: 0 } }, 'm'),
      GatewayError,
    );
  });

  it('renders errors in the Anthropic shape, in a body and as an SSE event', async () => {
    const err = new GatewayError('overloaded', 'busy');
    assert.deepEqual(anthropicEdge.renderError(err), { type: 'error', error: { type: 'overloaded_error', message: 'busy' } });
    const sse = anthropicEdge.renderStreamError(new GatewayError('upstream_error', 'upstream died'));
    assert.equal(sse, 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream died"}}\n\n');
    const events = [];
    for await (const e of parseSse(once(sse))) events.push(e);
    assert.deepEqual(events, [{ event: 'error', data: '{"type":"error","error":{"type":"api_error","message":"upstream died"}}' }]);
  });
});
