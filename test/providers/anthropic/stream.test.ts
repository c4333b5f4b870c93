import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnthropicStreamDecoder } from '../../../src/providers/anthropic/stream.ts';
import { DecodedStream } from '../../../src/providers/decoded-stream.ts';
import { anthropicEdge } from '../../../src/api/anthropic/index.ts';
import type { CanonicalChunk } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import { parseSse } from '../../../src/providers/sse.ts';

/** One SSE event the way api.anthropic.com writes it. */
function ev(data: Record<string, unknown>): string {
  return `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Feeds the transcript to parseSse in awkward pieces, as a network would. */
async function* network(text: string, piece = 17): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += piece) yield text.slice(i, i + piece);
}

interface Outcome {
  chunks: CanonicalChunk[];
  error?: unknown;
}

/** The transcript through the synchronous decoder, pushed in awkward pieces as the upstream exchange would. */
async function decoded(transcript: string, piece = 17): Promise<Outcome> {
  const stream = new DecodedStream(new AnthropicStreamDecoder(), { firstDelta() {}, mapError: (err) => err, close() {}, resume() {} });
  const bytes = Buffer.from(transcript);
  for (let i = 0; i < bytes.length; i += piece) stream.push(bytes.subarray(i, i + piece));
  stream.end();
  const chunks: CanonicalChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

/** `created` is the wall clock at decoding; everything else must match exactly. */
const comparable = (o: Outcome) => ({
  chunks: o.chunks.map((c) => (c.type === 'start' ? { ...c, created: 0 } : c)),
  error: o.error instanceof GatewayError ? { kind: o.error.kind, code: o.error.code, message: o.error.message } : o.error,
});

/**
 * Decodes the transcript, checking that how the body is cut into pieces changes nothing. The
 * expected outputs below were checked against the async-generator parser this decoder replaced.
 */
async function outcomeOf(transcript: string): Promise<Outcome> {
  const outcome = await decoded(transcript);
  const reference = comparable(outcome);
  for (const piece of [1, 5, transcript.length || 1]) assert.deepEqual(comparable(await decoded(transcript, piece)), reference, `pieces of ${piece} bytes`);
  return outcome;
}

async function chunksOf(transcript: string): Promise<CanonicalChunk[]> {
  const { chunks, error } = await outcomeOf(transcript);
  if (error) throw error;
  return chunks;
}

const messageStart = ev({
  type: 'message_start',
  message: {
    id: 'msg_01ABC',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 472, cache_creation_input_tokens: 10, cache_read_input_tokens: 1000, output_tokens: 2 },
  },
});

const toolTranscript = [
  messageStart,
  ev({ type: 'ping' }),
  ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
  ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Two cities, two calls.' } }),
  ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } }),
  ev({ type: 'content_block_stop', index: 0 }),
  ev({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
  ev({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking ' } }),
  ev({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'both.' } }),
  ev({ type: 'content_block_stop', index: 1 }),
  ev({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: {} } }),
  ev({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }),
  ev({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Ro' } }),
  ev({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'me"}' } }),
  ev({ type: 'content_block_stop', index: 2 }),
  ev({ type: 'some_future_event', detail: 'ignored' }),
  ev({ type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_B', name: 'get_weather', input: {} } }),
  ev({ type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
  ev({ type: 'ping' }),
  ev({ type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: ' "Oslo"}' } }),
  ev({ type: 'content_block_stop', index: 3 }),
  ev({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }),
  ev({ type: 'message_stop' }),
].join('');

describe('Anthropic provider: stream parsing', () => {
  it('turns a recorded tool-use transcript into canonical chunks', async () => {
    const chunks = await chunksOf(toolTranscript);
    const start = chunks[0];
    assert.ok(start.type === 'start');
    assert.equal(start.id, 'msg_01ABC');
    assert.equal(start.upstreamModel, 'claude-sonnet-4-5');
    assert.deepEqual(chunks.slice(1), [
      { type: 'delta', index: 0, role: 'assistant', text: 'Checking ' },
      { type: 'delta', index: 0, text: 'both.' },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, id: 'toolu_A', name: 'get_weather', arguments: '' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: '{"city": "Ro' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 0, arguments: 'me"}' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, id: 'toolu_B', name: 'get_weather', arguments: '' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: '{"city":' }] },
      { type: 'delta', index: 0, tool_calls: [{ index: 1, arguments: ' "Oslo"}' }] },
      { type: 'delta', index: 0, finish_reason: 'tool_calls', stop_sequence: null },
      // prompt = uncached input + cache reads + cache writes; output is message_delta's cumulative count.
      { type: 'usage', usage: { prompt_tokens: 1482, completion_tokens: 89, cached_tokens: 1000, cache_creation_tokens: 10 } },
    ]);
  });

  it('keeps the latest cumulative usage instead of summing, and prefers message_delta input counts', async () => {
    const transcript = [
      messageStart,
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      ev({ type: 'content_block_stop', index: 0 }),
      ev({ type: 'message_delta', delta: { stop_reason: null, stop_sequence: null }, usage: { output_tokens: 5 } }),
      ev({
        type: 'message_delta',
        delta: { stop_reason: 'stop_sequence', stop_sequence: '###' },
        usage: { output_tokens: 9, input_tokens: 500, cache_read_input_tokens: 1000 },
      }),
      ev({ type: 'message_stop' }),
    ].join('');
    const chunks = await chunksOf(transcript);
    assert.deepEqual(chunks.slice(1), [
      { type: 'delta', index: 0, role: 'assistant', text: 'Hi' },
      { type: 'delta', index: 0, finish_reason: 'stop', stop_sequence: '###' },
      { type: 'usage', usage: { prompt_tokens: 1510, completion_tokens: 9, cached_tokens: 1000, cache_creation_tokens: 10 } },
    ]);
  });

  it('throws the upstream error event mid-stream, overloaded as retryable overloaded', async () => {
    const partial = [
      messageStart,
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
    ].join('');
    const overloaded = await outcomeOf(partial + ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) + ev({ type: 'message_stop' }));
    const err = overloaded.error;
    assert.ok(err instanceof GatewayError);
    assert.equal(err.kind, 'overloaded');
    assert.match(err.message, /Overloaded/);
    assert.ok(err.retryable);
    assert.deepEqual(comparable(overloaded).chunks, [
      { type: 'start', id: 'msg_01ABC', created: 0, upstreamModel: 'claude-sonnet-4-5' },
      { type: 'delta', index: 0, role: 'assistant', text: 'Hel' },
    ], 'chunks before the error were delivered, nothing after it');
    await assert.rejects(chunksOf(partial + ev({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } })), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.kind, 'upstream_error');
      assert.match(err.message, /Internal server error/);
      return true;
    });
  });

  it('throws when the stream ends before message_stop', async () => {
    const cut = await outcomeOf(toolTranscript.slice(0, toolTranscript.indexOf('event: message_delta')));
    const err = cut.error;
    assert.ok(err instanceof GatewayError && err.kind === 'upstream_error' && err.code === 'upstream_stream_truncated' && /stream ended early/.test(err.message));
    // Every delta decoded before the cut reaches the reader (the meter counts them), then the error; no usage.
    assert.deepEqual(cut.chunks.slice(1).map((c) => (c.type === 'delta' ? (c.text ?? c.tool_calls?.[0].arguments) : c.type)), [
      'Checking ',
      'both.',
      '',
      '{"city": "Ro',
      'me"}',
      '',
      '{"city":',
      ' "Oslo"}',
    ]);
  });

  it('rejects a malformed event', async () => {
    await assert.rejects(chunksOf(messageStart + 'event: content_block_delta\ndata: {not json\n\n'), (err: unknown) => err instanceof GatewayError && err.code === 'upstream_malformed_response');
  });

  it('reads a last event not followed by a blank line, and nothing after message_stop', async () => {
    const body = messageStart + ev({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } });
    const unterminated = await chunksOf(body + 'event: message_stop\ndata: {"type":"message_stop"}');
    assert.deepEqual(unterminated.at(-1), { type: 'usage', usage: { prompt_tokens: 1482, completion_tokens: 1, cached_tokens: 1000, cache_creation_tokens: 10 } });
    const trailing = await chunksOf(body + ev({ type: 'message_stop' }) + ev({ type: 'error', error: { type: 'api_error', message: 'never read' } }));
    assert.deepEqual(trailing.slice(1), [
      { type: 'delta', index: 0, role: 'assistant', finish_reason: 'stop', stop_sequence: null },
      { type: 'usage', usage: { prompt_tokens: 1482, completion_tokens: 1, cached_tokens: 1000, cache_creation_tokens: 10 } },
    ]);
  });

  it('takes the event type from the event line when the data has none', async () => {
    const chunks = await chunksOf(messageStart + 'event: message_delta\ndata: {"delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}}\n\nevent: message_stop\ndata: {}\n\n');
    assert.deepEqual(chunks.slice(1), [
      { type: 'delta', index: 0, role: 'assistant', finish_reason: 'length', stop_sequence: null },
      { type: 'usage', usage: { prompt_tokens: 1482, completion_tokens: 3, cached_tokens: 1000, cache_creation_tokens: 10 } },
    ]);
  });

  it('supplies a finish reason when the upstream gave none', async () => {
    const chunks = await chunksOf(messageStart + ev({ type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: 0 } }) + ev({ type: 'message_stop' }));
    assert.deepEqual(chunks.at(-2), { type: 'delta', index: 0, role: 'assistant', finish_reason: 'stop' });
  });

  it('round-trips an Anthropic upstream stream to an Anthropic client without changing the content', async () => {
    const anthropicReq = anthropicEdge.parseRequest('chat', { model: 'smart', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] }, 'r');
    const rendered: string[] = [];
    const canonical = new DecodedStream(new AnthropicStreamDecoder(), { firstDelta() {}, mapError: (err) => err, close() {}, resume() {} });
    canonical.push(Buffer.from(toolTranscript));
    canonical.end();
    for await (const text of anthropicEdge.renderStream(anthropicReq, canonical, 'smart')) rendered.push(text);
    const events: Record<string, unknown>[] = [];
    for await (const e of parseSse(network(rendered.join('')))) events.push(JSON.parse(e.data) as Record<string, unknown>);
    // The upstream's events minus ping, thinking and unknown types, with blocks renumbered from 0.
    const expected = toolTranscript
      .split('\n\n')
      .filter((block) => block.startsWith('event: content_block'))
      .map((block) => JSON.parse(block.split('\ndata: ')[1]) as Record<string, unknown> & { index: number; delta?: Record<string, unknown> })
      .filter((e) => e.index !== 0 && !(e.delta?.type === 'input_json_delta' && e.delta.partial_json === ''))
      .map((e) => ({ ...e, index: e.index - 1 }));
    assert.equal(expected.length, 12, 'text block and two tool blocks, 4 events each');
    assert.deepEqual(events.slice(1, -2), expected);
    assert.deepEqual(events.at(-2), {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 472, output_tokens: 89, cache_creation_input_tokens: 10, cache_read_input_tokens: 1000 },
    });
  });
});
