import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DecodedStream } from '../../src/providers/decoded-stream.ts';
import { OpenAIFormatStreamDecoder } from '../../src/providers/openai-compatible/stream.ts';
import { parseOpenAIRequest } from '../../src/api/openai/request.ts';
import { GatewayError } from '../../src/api/errors.ts';
import type { CanonicalChunk } from '../../src/api/canonical.ts';

const req = parseOpenAIRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, 'r');
const data = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c1', created: 7, model: 'up', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

function decoded(pieces: string[]) {
  const calls = { firstDelta: 0, close: 0 };
  async function* body() {
    for (const p of pieces) yield Buffer.from(p);
  }
  const stream = new DecodedStream(body(), new OpenAIFormatStreamDecoder(req), {
    firstDelta: () => (calls.firstDelta += 1),
    mapError: (err) => err,
    close: () => (calls.close += 1),
  });
  return { stream, calls };
}

async function collect(stream: AsyncIterable<CanonicalChunk>): Promise<{ chunks: CanonicalChunk[]; error?: unknown }> {
  const chunks: CanonicalChunk[] = [];
  try {
    for await (const c of stream) chunks.push(c);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

describe('DecodedStream (body pieces -> canonical chunks through a synchronous decoder)', () => {
  it('decodes a burst in one piece and events split across pieces, stops at [DONE], closes once', async () => {
    const burst = data({ role: 'assistant', content: '' }) + data({ content: 'a' }) + data({ content: 'b' });
    const tail = data({}, 'stop') + 'data: [DONE]\n\n' + data({ content: 'never read' });
    const { stream, calls } = decoded([burst, tail.slice(0, 10), tail.slice(10)]);
    const { chunks, error } = await collect(stream);
    assert.equal(error, undefined);
    assert.deepEqual(
      chunks.map((c) => (c.type === 'delta' ? (c.text ?? c.finish_reason) : c.type)),
      ['start', '', 'a', 'b', 'stop', 'usage'],
    );
    assert.deepEqual(calls, { firstDelta: 1, close: 1 });
  });

  it('hands out the chunks decoded before an in-band error, then throws it', async () => {
    const { stream, calls } = decoded([data({ content: 'a' }) + `data: ${JSON.stringify({ error: { message: 'boom' } })}\n\n` + data({ content: 'b' })]);
    const { chunks, error } = await collect(stream);
    assert.deepEqual(chunks.map((c) => c.type), ['start', 'delta']);
    assert.ok(error instanceof GatewayError && error.code === 'upstream_stream_error');
    assert.equal(calls.close, 1);
  });

  it('throws on a truncated stream and closes on an early return', async () => {
    const truncated = decoded([data({ content: 'a' })]);
    const { error } = await collect(truncated.stream);
    assert.ok(error instanceof GatewayError && error.code === 'upstream_stream_truncated');
    const early = decoded([data({ content: 'a' }) + data({ content: 'b' }), data({}, 'stop')]);
    for await (const c of early.stream) if (c.type === 'delta') break;
    assert.equal(early.calls.close, 1);
  });
});
