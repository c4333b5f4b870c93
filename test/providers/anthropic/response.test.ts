import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicProvider } from '../../../src/providers/anthropic/index.ts';
import { canonicalFinishReason } from '../../../src/providers/anthropic/response.ts';
import { parseOpenAIRequest } from '../../../src/api/openai/request.ts';
import { openAIEdge } from '../../../src/api/openai/index.ts';
import { GatewayError } from '../../../src/api/errors.ts';

const req = parseOpenAIRequest('chat', { model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, 'r');

describe('Anthropic provider: response parsing', () => {
  it('concatenates text, turns tool_use into tool calls and maps usage with cache tokens', () => {
    const res = anthropicProvider.parseResponse(req, {
      id: 'msg_01',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 's' },
        { type: 'text', text: 'Let me ' },
        { type: 'text', text: 'check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Rome', days: 2 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 30, cache_read_input_tokens: 100, cache_creation_input_tokens: 8 },
    });
    assert.equal(res.kind, 'chat');
    assert.ok(res.kind === 'chat');
    assert.equal(res.id, 'msg_01');
    assert.equal(res.upstreamModel, 'claude-sonnet-4-5');
    assert.equal(typeof res.created, 'number');
    assert.deepEqual(res.choices, [
      {
        index: 0,
        text: 'Let me check.',
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","days":2}' } }],
        finish_reason: 'tool_calls',
        stop_sequence: null,
      },
    ]);
    assert.deepEqual(res.usage, { prompt_tokens: 120, completion_tokens: 30, cached_tokens: 100, cache_creation_tokens: 8 });
  });

  it('gives a pure tool-use answer null text, as OpenAI does, and keeps the stop sequence', () => {
    const tools = anthropicProvider.parseResponse(req, {
      id: 'm',
      model: 'c',
      content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 1, output_tokens: 1 },
    });
    assert.ok(tools.kind === 'chat');
    assert.equal(tools.choices[0].text, null);
    assert.equal(tools.choices[0].tool_calls?.[0].function.arguments, '{}');

    const stopped = anthropicProvider.parseResponse(req, { id: 'm', model: 'c', content: [], stop_reason: 'stop_sequence', stop_sequence: '###', usage: { input_tokens: 1, output_tokens: 0 } });
    assert.ok(stopped.kind === 'chat');
    assert.equal(stopped.choices[0].text, '');
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.equal(stopped.choices[0].stop_sequence, '###');
  });

  it('maps every stop reason', () => {
    assert.equal(canonicalFinishReason('end_turn'), 'stop');
    assert.equal(canonicalFinishReason('stop_sequence'), 'stop');
    assert.equal(canonicalFinishReason('max_tokens'), 'length');
    assert.equal(canonicalFinishReason('model_context_window_exceeded'), 'length');
    assert.equal(canonicalFinishReason('tool_use'), 'tool_calls');
    assert.equal(canonicalFinishReason('refusal'), 'content_filter');
    assert.equal(canonicalFinishReason('pause_turn'), 'stop');
    assert.equal(canonicalFinishReason('something_new'), 'stop');
    assert.equal(canonicalFinishReason(null), null);
  });

  it('renders through the OpenAI edge with cached tokens counted inside prompt_tokens', () => {
    const res = anthropicProvider.parseResponse(req, {
      id: 'msg_2',
      model: 'c',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 5, output_tokens: 3, cache_read_input_tokens: 40, cache_creation_input_tokens: 0 },
    });
    const body = openAIEdge.renderResponse(req, res, 'smart') as { choices: { finish_reason: string }[]; usage: Record<string, unknown> };
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.deepEqual(body.usage, { prompt_tokens: 45, completion_tokens: 3, total_tokens: 48, prompt_tokens_details: { cached_tokens: 40 } });
  });

  it('rejects bodies that are not Anthropic messages', () => {
    assert.throws(() => anthropicProvider.parseResponse(req, 'nope'), (e: unknown) => e instanceof GatewayError && e.kind === 'upstream_error');
    assert.throws(() => anthropicProvider.parseResponse(req, { id: 'x' }), (e: unknown) => e instanceof GatewayError && /no content array/.test(e.message));
  });
});
