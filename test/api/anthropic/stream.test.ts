import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import type { CanonicalChunk, CanonicalRequest } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import { parseSse } from '../../../src/providers/sse.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const req: CanonicalRequest = anthropicEdge.parseRequest(
  'chat',
  { model: 'claude-x', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'What is the weather in Rome and Paris?' }] },
  'req-1',
);

async function* from(chunks: CanonicalChunk[], failure?: Error): AsyncGenerator<CanonicalChunk> {
  for (const c of chunks) yield c;
  if (failure) throw failure;
}

async function* strings(texts: string[]): AsyncGenerator<string> {
  yield* texts;
}

async function render(chunks: CanonicalChunk[]): Promise<{ raw: string[]; events: Json[] }> {
  const raw: string[] = [];
  for await (const text of anthropicEdge.renderStream(req, from(chunks), 'my-model')) raw.push(text);
  const events: Json[] = [];
  for await (const e of parseSse(strings(raw))) {
    const data = JSON.parse(e.data) as Json;
    assert.equal(e.event, data.type, 'the SSE event name equals data.type');
    events.push(data);
  }
  return { raw, events };
}

/** Checks the protocol as strictly as a client may rely on it, and rebuilds the final message. */
function assemble(events: Json[]): Json {
  assert.equal(events[0].type, 'message_start');
  assert.equal(events.at(-1)!.type, 'message_stop');
  assert.equal(events.at(-2)!.type, 'message_delta');
  const message = structuredClone(events[0].message) as Json;
  const json: string[] = [];
  let open: number | null = null;
  for (const e of events.slice(1, -2)) {
    const index = e.index as number;
    if (e.type === 'content_block_start') {
      assert.equal(open, null, 'a block starts only after the previous one stopped');
      assert.equal(index, message.content.length, 'block indices count up from 0');
      open = index;
      message.content.push(structuredClone(e.content_block));
      json.push('');
    } else if (e.type === 'content_block_delta') {
      assert.ok(index === open, 'deltas go to the open block');
      const block: Json = message.content[index];
      if (e.delta.type === 'text_delta') {
        assert.equal(block.type, 'text');
        block.text += e.delta.text;
      } else {
        assert.equal(e.delta.type, 'input_json_delta');
        assert.equal(block.type, 'tool_use');
        json[index] += e.delta.partial_json;
      }
    } else {
      assert.equal(e.type, 'content_block_stop');
      assert.ok(index === open, 'the open block is the one stopped');
      const block: Json = message.content[index];
      if (block.type === 'tool_use') block.input = json[index] === '' ? {} : JSON.parse(json[index]);
      open = null;
    }
  }
  assert.equal(open, null, 'every block is stopped before message_delta');
  const delta = events.at(-2)!;
  Object.assign(message, delta.delta);
  Object.assign(message.usage, delta.usage);
  return message;
}

const start: CanonicalChunk = { type: 'start', id: 'chatcmpl-1', created: 1, upstreamModel: 'llama' };
const usage = (prompt = 30, completion = 12): CanonicalChunk => ({ type: 'usage', usage: { prompt_tokens: prompt, completion_tokens: completion } });

describe('Anthropic stream rendering', () => {
  it('renders text then two tool calls with fragmented arguments as the exact Anthropic sequence', async () => {
    const { events } = await render([
      start,
      { type: 'delta', index: 0, role: 'assistant', text: '' },
      { type: 'delta', index: 0, text: 'Let me ' },
      { type: 'delta', index: 0, text: 'check.' },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'call_a', name: 'get_weather', arguments: '' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '{"ci' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: 'ty": "Ro' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: 'me"}' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, id: 'call_b', name: 'get_weather', arguments: '{"city"' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: ': "Paris", "unit": "C"}' }] },
      { type: 'delta', index: 0, finish_reason: 'tool_calls' },
      usage(),
    ]);
    const textDelta = (index: number, text: string) => ({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    const jsonDelta = (index: number, partial_json: string) => ({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
    assert.deepEqual(events, [
      {
        type: 'message_start',
        message: {
          id: 'msg_chatcmpl1',
          type: 'message',
          role: 'assistant',
          model: 'my-model',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: events[0].message.usage.input_tokens, output_tokens: 0 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      textDelta(0, 'Let me '),
      textDelta(0, 'check.'),
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'get_weather', input: {} } },
      jsonDelta(1, '{"ci'),
      jsonDelta(1, 'ty": "Ro'),
      jsonDelta(1, 'me"}'),
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_b', name: 'get_weather', input: {} } },
      jsonDelta(2, '{"city"'),
      jsonDelta(2, ': "Paris", "unit": "C"}'),
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { input_tokens: 30, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
      { type: 'message_stop' },
    ]);
    assert.ok((events[0] as Json).message.usage.input_tokens > 0, 'message_start carries an input estimate');
    const message = assemble(events);
    assert.deepEqual(message.content, [
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Rome' } },
      { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Paris', unit: 'C' } },
    ]);
  });

  it('keeps interleaved fragments of parallel tool calls whole and in order', async () => {
    // Some engines announce every call first, then interleave their argument fragments.
    const { events } = await render([
      start,
      { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'c0', name: 'f', arguments: '' }, { index: 1, id: 'c1', name: 'g', arguments: '' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: '{"b":' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '{"a":' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: '2}' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 2, id: 'c2', name: 'h', arguments: '{"c":3' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '1}' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 2, arguments: '}' }] },
      { type: 'delta', index: 0, finish_reason: 'tool_calls' },
      usage(),
    ]);
    const message = assemble(events);
    assert.deepEqual(message.content, [
      { type: 'tool_use', id: 'c0', name: 'f', input: { a: 1 } },
      { type: 'tool_use', id: 'c1', name: 'g', input: { b: 2 } },
      { type: 'tool_use', id: 'c2', name: 'h', input: { c: 3 } },
    ]);
    assert.equal(message.stop_reason, 'tool_use');
  });

  it('streams a tool call live and waits for a name before opening its block', async () => {
    const { events } = await render([
      start,
      { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'c0', arguments: '{"x"' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, name: 'late_name', arguments: ':1' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '}' }] },
      { type: 'delta', index: 0, text: ' trailing note' },
      { type: 'delta', index: 0, finish_reason: 'stop' },
      usage(),
    ]);
    const kinds = events.map((e) => `${e.type}${e.index === undefined ? '' : ':' + e.index}`);
    assert.deepEqual(kinds, [
      'message_start',
      'content_block_start:0',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1',
      'content_block_stop:1',
      'message_delta',
      'message_stop',
    ]);
    const message = assemble(events);
    assert.deepEqual(message.content, [
      { type: 'tool_use', id: 'c0', name: 'late_name', input: { x: 1 } },
      { type: 'text', text: ' trailing note' },
    ]);
    assert.equal(message.stop_reason, 'tool_use', 'an engine saying "stop" after a tool call still means tool_use');
  });

  it('closes an incomplete tool call at the end, invents an id when the upstream sent none', async () => {
    const { events } = await render([
      start,
      { type: 'delta', index: 0, tool_calls: [{ index: 0, name: 'f', arguments: '{"a": "cut off' }] },
      { type: 'delta', index: 0, finish_reason: 'length' },
      usage(),
    ]);
    assert.equal(events[1].type, 'content_block_start');
    assert.match(events[1].content_block.id, /^toolu_[0-9a-f]{32}$/);
    assert.deepEqual(events[2].delta, { type: 'input_json_delta', partial_json: '{"a": "cut off' });
    assert.equal(events[3].type, 'content_block_stop');
    assert.equal(events.at(-2)!.delta.stop_reason, 'max_tokens');
  });

  it('reports stop_sequence and the exact cumulative usage, cache reads excluded from input, in message_delta', async () => {
    const { events } = await render([
      start,
      { type: 'delta', index: 0, text: 'one two' },
      { type: 'delta', index: 0, finish_reason: 'stop', stop_sequence: 'three' },
      { type: 'usage', usage: { prompt_tokens: 1000, completion_tokens: 2, cached_tokens: 900, cache_creation_tokens: 50 } },
    ]);
    assert.deepEqual(events.at(-2), {
      type: 'message_delta',
      delta: { stop_reason: 'stop_sequence', stop_sequence: 'three' },
      usage: { input_tokens: 50, output_tokens: 2, cache_creation_input_tokens: 50, cache_read_input_tokens: 900 },
    });
  });

  it('renders an empty answer as message_start, message_delta, message_stop', async () => {
    const { events } = await render([start, { type: 'delta', index: 0, role: 'assistant', finish_reason: 'stop' }, usage(5, 0)]);
    assert.deepEqual(events.map((e) => e.type), ['message_start', 'message_delta', 'message_stop']);
    assert.equal(events[1].delta.stop_reason, 'end_turn');
  });

  it('ignores choices other than the first', async () => {
    const { events } = await render([start, { type: 'delta', index: 0, text: 'a' }, { type: 'delta', index: 1, text: 'b' }, { type: 'delta', index: 0, finish_reason: 'stop' }, usage()]);
    assert.deepEqual(assemble(events).content, [{ type: 'text', text: 'a' }]);
  });

  it('stops without message_delta or message_stop when the canonical stream fails, so the server can append an error event', async () => {
    const seen: string[] = [];
    const failing = anthropicEdge.renderStream(req, from([start, { type: 'delta', index: 0, text: 'partial' }], new GatewayError('upstream_error', 'boom')), 'm');
    await assert.rejects(
      (async () => {
        for await (const text of failing) seen.push(text);
      })(),
      (err: unknown) => err instanceof GatewayError && err.message === 'boom',
    );
    const joined = seen.join('');
    assert.match(joined, /event: message_start/);
    assert.match(joined, /"text":"partial"/);
    assert.doesNotMatch(joined, /message_delta|message_stop/);
  });
});
