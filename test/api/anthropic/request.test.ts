import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnthropicRequest } from '../../../src/api/anthropic/request.ts';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import { GatewayError } from '../../../src/api/errors.ts';

const base = { model: 'claude-x', max_tokens: 100 };

function parse(body: Record<string, unknown>) {
  return parseAnthropicRequest('chat', { ...base, ...body }, 'req-1');
}

function rejects(body: unknown): GatewayError {
  try {
    parseAnthropicRequest('chat', body, 'r');
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.status, 400);
    assert.equal(err.kind, 'invalid_request');
    return err;
  }
  assert.fail('expected a 400');
}

describe('Anthropic request parsing', () => {
  it('maps the basics: system, sampling, stop sequences, top_k, metadata, stream', () => {
    const req = parse({
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END', '###'],
      metadata: { user_id: 'u-42' },
      stream: true,
    });
    assert.equal(req.kind, 'chat');
    assert.equal(req.model, 'claude-x');
    assert.equal(req.stream, true);
    assert.equal(req.includeUsage, true);
    assert.deepEqual(req.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
    ]);
    assert.deepEqual(req.params, { max_tokens: 100, temperature: 0.2, top_p: 0.9, stop: ['END', '###'] });
    assert.deepEqual(req.extra, { top_k: 40 });
    assert.deepEqual(req.meta, { requestId: 'req-1', edge: 'anthropic', user: 'u-42' });
    assert.equal(anthropicEdge.parseRequest('chat', { ...base, messages: [{ role: 'user', content: 'x' }] }, 'r').stream, false);
  });

  it('accepts system as an array of text blocks (cache_control and all)', () => {
    const req = parse({
      system: [{ type: 'text', text: 'One.' }, { type: 'text', text: 'Two.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.deepEqual(req.messages?.[0], { role: 'system', content: 'One.\nTwo.' });
  });

  it('turns image blocks into image_url parts (base64 -> data URL, url kept)', () => {
    const req = parse({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    assert.deepEqual(req.messages, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('maps a multi-turn tool conversation, tool results first within their user turn', () => {
    const req = parse({
      tools: [
        { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
        { name: 'get_time', input_schema: { type: 'object' } },
      ],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather and time in Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'I should call both tools', signature: 'sig' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Rome' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here you go:' },
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }, { type: 'text', text: '24C' }] },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'clock broken', is_error: true },
          ],
        },
      ],
    });
    assert.deepEqual(req.messages, [
      { role: 'user', content: 'Weather and time in Rome?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny\n24C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: clock broken' },
      { role: 'user', content: 'Here you go:' },
    ]);
    assert.deepEqual(req.tools, [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
    ]);
    assert.equal(req.tool_choice, 'auto');
    assert.equal(req.parallel_tool_calls, false);
  });

  it('gives a pure tool-use assistant turn null content, and drops thinking-only turns', () => {
    const req = parse({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: { a: [1, 2] } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't' }] },
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'xx' }] },
        { role: 'user', content: 'and?' },
      ],
    });
    assert.deepEqual(req.messages, [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{"a":[1,2]}' } }] },
      { role: 'tool', tool_call_id: 't', content: '' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('keeps images in tool results as parts, marking errors with a leading text part', () => {
    const req = parse({
      messages: [
        { role: 'user', content: [
          { type: 'tool_result', tool_use_id: 't', is_error: true, content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] },
        ] },
      ],
    });
    assert.deepEqual(req.messages, [
      { role: 'tool', tool_call_id: 't', content: [{ type: 'text', text: 'Error:' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
    ]);
  });

  it('maps every tool_choice type', () => {
    const msgs = [{ role: 'user', content: 'x' }];
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const choice = (tool_choice: unknown) => {
      const r = parse({ messages: msgs, tools, tool_choice });
      return [r.tool_choice, r.parallel_tool_calls];
    };
    assert.deepEqual(choice({ type: 'auto' }), ['auto', undefined]);
    assert.deepEqual(choice({ type: 'any' }), ['required', undefined]);
    assert.deepEqual(choice({ type: 'any', disable_parallel_tool_use: true }), ['required', false]);
    assert.deepEqual(choice({ type: 'tool', name: 'f', disable_parallel_tool_use: true }), [{ type: 'function', function: { name: 'f' } }, false]);
    assert.deepEqual(choice({ type: 'none' }), ['none', undefined]);
    assert.deepEqual(choice(undefined), [undefined, undefined]);
  });

  it('names the field at fault with Anthropic-style dotted paths', () => {
    const user = [{ role: 'user', content: 'x' }];
    assert.equal(rejects({ max_tokens: 5, messages: user }).param, 'model');
    assert.equal(rejects({ model: 'm', messages: user }).param, 'max_tokens');
    assert.equal(rejects({ ...base, max_tokens: 0, messages: user }).param, 'max_tokens');
    assert.equal(rejects({ ...base, max_tokens: 1.5, messages: user }).param, 'max_tokens');
    assert.equal(rejects({ ...base }).param, 'messages');
    assert.equal(rejects({ ...base, messages: [] }).param, 'messages');
    assert.equal(rejects({ ...base, messages: [{ role: 'system', content: 'x' }] }).param, 'messages.0.role');
    assert.equal(rejects({ ...base, messages: [{ role: 'user' }] }).param, 'messages.0.content');
    assert.equal(rejects({ ...base, messages: [{ role: 'user', content: 42 }] }).param, 'messages.0.content');
    assert.equal(rejects({ ...base, messages: [{ role: 'user', content: [] }] }).param, 'messages.0.content');
    assert.equal(rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'text' }] }] }).param, 'messages.0.content.0.text');
    assert.equal(rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }).param, 'messages.0.content.0.type');
    assert.equal(
      rejects({ ...base, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }).param,
      'messages.1.content.0.source.type',
    );
    assert.equal(
      rejects({ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: 'x' }] }] }).param,
      'messages.0.content.0.input',
    );
    assert.equal(rejects({ ...base, messages: user, temperature: 1.5 }).param, 'temperature');
    assert.equal(rejects({ ...base, messages: user, tools: [{ name: 'f' }] }).param, 'tools.0.input_schema');
    assert.equal(rejects({ ...base, messages: user, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }).param, 'tools.0.type');
    assert.equal(rejects({ ...base, messages: user, tool_choice: { type: 'sometimes' } }).param, 'tool_choice.type');
    assert.equal(rejects({ ...base, messages: user, tool_choice: { type: 'tool' } }).param, 'tool_choice.name');
    assert.equal(rejects({ ...base, messages: user, stop_sequences: 'END' }).param, 'stop_sequences');
  });

  it('rejects blocks in the wrong role, pointing at the block', () => {
    const useInUser = rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] }] });
    assert.equal(useInUser.param, 'messages.0.content.0');
    assert.match(useInUser.message, /tool_use blocks may only appear in assistant messages/);
    const resultInAssistant = rejects({
      ...base,
      messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'tool_result', tool_use_id: 't' }] }],
    });
    assert.equal(resultInAssistant.param, 'messages.1.content.1');
    const imageInAssistant = rejects({
      ...base,
      messages: [{ role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'https://x' } }] }],
    });
    assert.equal(imageInAssistant.param, 'messages.0.content.0');
  });

  it('says what to fix in plain words', () => {
    assert.match(rejects({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).message, /max_tokens is required/);
    assert.match(rejects({ ...base, max_tokens: -1, messages: [{ role: 'user', content: 'x' }] }).message, /max_tokens must be a positive integer/);
    assert.match(rejects({ ...base, messages: [{ role: 'user' }] }).message, /^messages\.0\.content: field required$/);
    assert.match(rejects({ ...base, messages: [{ role: 'system', content: 'x' }] }).message, /top-level system field/);
    assert.match(rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'document' }] }] }).message, /^messages\.0\.content\.0\.type: expected a content block of type/);
    assert.match(rejects({ ...base, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'bash_20250124', name: 'bash' }] }).message, /server tools/);
    assert.match(rejects('hello').message, /JSON object/);
  });

  it('serves only the chat endpoint kind', () => {
    assert.throws(() => parseAnthropicRequest('embedding', { ...base, messages: [{ role: 'user', content: 'x' }] }, 'r'), GatewayError);
  });
});
