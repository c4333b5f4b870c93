import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicProvider } from '../../../src/providers/anthropic/index.ts';
import { parseAnthropicRequest } from '../../../src/api/anthropic/request.ts';
import { parseOpenAIRequest } from '../../../src/api/openai/request.ts';
import type { CanonicalRequest } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import type { UpstreamTarget } from '../../../src/providers/types.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const target: UpstreamTarget = { baseUrl: 'https://api.anthropic.com', upstreamModel: 'claude-sonnet-4-5', apiKey: 'sk-ant-secret' };

function openAI(body: Record<string, unknown>, kind: 'chat' | 'completion' | 'embedding' = 'chat'): CanonicalRequest {
  return parseOpenAIRequest(kind, { model: 'smart', ...body }, 'req-1');
}

function build(req: CanonicalRequest, t: UpstreamTarget = target): { path: string; headers: Record<string, string>; body: Json } {
  const call = anthropicProvider.buildRequest(req, t);
  return { path: call.path, headers: call.headers, body: JSON.parse(call.body) as Json };
}

function rejects(req: CanonicalRequest): GatewayError {
  try {
    anthropicProvider.buildRequest(req, target);
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.kind, 'invalid_request');
    return err;
  }
  assert.fail('expected a GatewayError');
}

describe('Anthropic provider: request building', () => {
  it('targets /v1/messages with the upstream model, version and key headers', () => {
    const { path, headers, body } = build(openAI({ messages: [{ role: 'user', content: 'hi' }] }), {
      ...target,
      headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' },
    });
    assert.equal(path, '/v1/messages');
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'prompt-caching-2024-07-31',
      'x-api-key': 'sk-ant-secret',
    });
    assert.deepEqual(body, { model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('omits x-api-key without a key and asks for SSE when streaming', () => {
    const { headers, body } = build(openAI({ messages: [{ role: 'user', content: 'hi' }], stream: true }), { baseUrl: 'http://x', upstreamModel: 'c' });
    assert.equal(headers['x-api-key'], undefined);
    assert.equal(headers.accept, 'text/event-stream');
    assert.equal(body.stream, true);
  });

  it('maps sampling: max_tokens, stop, temperature (clamped to 1), top_p, top_k, user', () => {
    const { body } = build(
      openAI({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 77, stop: ['END'], temperature: 1.6, top_p: 0.5, top_k: 20, user: 'alice', seed: 3 }),
    );
    assert.deepEqual(body, {
      model: 'claude-sonnet-4-5',
      max_tokens: 77,
      messages: [{ role: 'user', content: 'hi' }],
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.5,
      top_k: 20,
      metadata: { user_id: 'alice' },
    });
    assert.equal(build(openAI({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.3 })).body.temperature, 0.3);
  });

  it('lifts system and developer messages into system', () => {
    assert.equal(build(openAI({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'u' }] })).body.system, 'S');
    const { body } = build(
      openAI({
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'A' }] },
          { role: 'developer', content: 'B' },
          { role: 'user', content: 'u' },
        ],
      }),
    );
    assert.deepEqual(body.system, [
      { type: 'text', text: 'A' },
      { type: 'text', text: 'B' },
    ]);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'u' }]);
  });

  it('turns tool calls into tool_use blocks and consecutive tool messages into one user turn of tool_results', () => {
    const { body } = build(
      openAI({
        messages: [
          { role: 'user', content: 'Weather in Rome and Paris?' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }, { type: 'text', text: ' later' }] },
          { role: 'user', content: 'Thanks, and tomorrow?' },
        ],
      }),
    );
    assert.deepEqual(body.messages, [
      { role: 'user', content: 'Weather in Rome and Paris?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Rome' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          {
            type: 'tool_result',
            tool_use_id: 'call_2',
            content: [
              { type: 'text', text: 'rain' },
              { type: 'text', text: ' later' },
            ],
          },
          { type: 'text', text: 'Thanks, and tomorrow?' },
        ],
      },
    ]);
  });

  it('merges consecutive same-role messages so turns alternate', () => {
    const { body } = build(
      openAI({
        messages: [
          { role: 'user', content: 'one' },
          { role: 'user', content: 'two' },
          { role: 'assistant', content: 'A' },
          { role: 'assistant', content: '   ' },
          { role: 'assistant', content: 'B' },
          { role: 'user', content: 'three' },
        ],
      }),
    );
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }] },
      { role: 'user', content: 'three' },
    ]);
  });

  it('converts images: data URLs to base64 sources, http(s) URLs to url sources', () => {
    const { body } = build(
      openAI({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look' },
              { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(body.messages[0].content, [
      { type: 'text', text: 'Look' },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
    ]);
    const bad = rejects(openAI({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }));
    assert.equal(bad.param, 'messages[0].content[0].image_url.url');
    const notBase64 = rejects(openAI({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url: 'data:image/png,rawbytes' } }] }] }));
    assert.equal(notBase64.param, 'messages[0].content[1].image_url.url');
    assert.match(notBase64.message, /base64/);
  });

  it('refuses audio and file parts with a 400 naming the part (Anthropic takes text and images only)', () => {
    const audio = rejects(openAI({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hear' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }] }));
    assert.equal(audio.param, 'messages[0].content[1]');
    assert.match(audio.message, /not input_audio/);
    const file = rejects(openAI({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc' } }] }] }));
    assert.equal(file.param, 'messages[0].content[0]');
    assert.match(file.message, /not file/);
  });

  it('maps tools and tool_choice, with parallel_tool_calls=false as disable_parallel_tool_use', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'ping' } },
    ];
    const msgs = [{ role: 'user', content: 'x' }];
    const { body } = build(openAI({ messages: msgs, tools }));
    assert.deepEqual(body.tools, [
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'ping', input_schema: { type: 'object' } },
    ]);
    assert.equal(body.tool_choice, undefined);
    const choice = (extra: Record<string, unknown>) => build(openAI({ messages: msgs, tools, ...extra })).body.tool_choice;
    assert.deepEqual(choice({ tool_choice: 'auto' }), { type: 'auto' });
    assert.deepEqual(choice({ tool_choice: 'required' }), { type: 'any' });
    assert.deepEqual(choice({ tool_choice: 'none' }), { type: 'none' });
    assert.deepEqual(choice({ tool_choice: { type: 'function', function: { name: 'ping' } } }), { type: 'tool', name: 'ping' });
    assert.deepEqual(choice({ tool_choice: 'required', parallel_tool_calls: false }), { type: 'any', disable_parallel_tool_use: true });
    assert.deepEqual(choice({ parallel_tool_calls: false }), { type: 'auto', disable_parallel_tool_use: true });
    // Without tools there is nothing to choose: Anthropic rejects a lone tool_choice.
    assert.equal(build(openAI({ messages: msgs, tool_choice: 'auto' })).body.tool_choice, undefined);
  });

  it('names the assistant tool call whose arguments are not a JSON object', () => {
    const call = (args: string) =>
      openAI({
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'b', type: 'function', function: { name: 'f', arguments: args } }] },
        ],
      });
    const err = rejects(call('{"city": '));
    assert.equal(err.param, 'messages[1].tool_calls[1].function.arguments');
    assert.match(err.message, /not valid JSON/);
    assert.equal(rejects(call('[1,2]')).param, 'messages[1].tool_calls[1].function.arguments');
  });

  it('refuses what Anthropic cannot serve, saying why', () => {
    const completion = rejects(openAI({ prompt: 'hi' }, 'completion'));
    assert.match(completion.message, /Model smart is served by an Anthropic upstream, which has no \/v1\/completions endpoint/);
    assert.match(rejects(openAI({ input: 'hi' }, 'embedding')).message, /no \/v1\/embeddings endpoint/);
    assert.equal(rejects(openAI({ messages: [{ role: 'user', content: 'x' }], n: 2 })).param, 'n');
    assert.equal(rejects(openAI({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } })).param, 'response_format');
    assert.doesNotThrow(() => build(openAI({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'text' } })));
  });

  it('round-trips a multi-turn Anthropic tool conversation through the canonical request', () => {
    const original = {
      model: 'smart',
      max_tokens: 512,
      system: 'You are a weather bot.',
      tools: [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['STOP'],
      temperature: 0.4,
      top_k: 10,
      metadata: { user_id: 'u-1' },
      stream: true,
      messages: [
        { role: 'user', content: 'Rome and Oslo?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'two calls', signature: 's' },
            { type: 'text', text: 'Checking both.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Rome' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'snow' }] },
            { type: 'text', text: 'Which is warmer?' },
          ],
        },
        { role: 'assistant', content: 'Rome.' },
        { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
      ],
    };
    const { body } = build(parseAnthropicRequest('chat', original, 'r'));
    assert.deepEqual(body, {
      model: 'claude-sonnet-4-5',
      max_tokens: 512,
      system: 'You are a weather bot.',
      tools: original.tools,
      tool_choice: original.tool_choice,
      stop_sequences: ['STOP'],
      temperature: 0.4,
      top_k: 10,
      metadata: { user_id: 'u-1' },
      stream: true,
      messages: [
        { role: 'user', content: 'Rome and Oslo?' },
        {
          role: 'assistant',
          // Thinking is dropped on the way in (its signature is only valid for the model that made it).
          content: [
            { type: 'text', text: 'Checking both.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Rome' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Oslo' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'snow' },
            { type: 'text', text: 'Which is warmer?' },
          ],
        },
        { role: 'assistant', content: 'Rome.' },
        { role: 'user', content: [{ type: 'text', text: 'And this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
      ],
    });
  });
});
