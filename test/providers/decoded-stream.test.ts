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

/** A stream fed the way the upstream exchange feeds it: each piece pushed in a later tick, then the end. */
function decoded(pieces: string[]) {
  const calls = { firstDelta: 0, close: 0, resume: 0 };
  const stream = new DecodedStream(new OpenAIFormatStreamDecoder(req), {
    firstDelta: () => (calls.firstDelta += 1),
    mapError: (err: unknown) => err,
    close: () => (calls.close += 1),
    resume: () => (calls.resume += 1),
  });
  void (async () => {
    for (const p of pieces) {
      await new Promise((resolve) => setImmediate(resolve));
      stream.push(Buffer.from(p));
    }
    await new Promise((resolve) => setImmediate(resolve));
    stream.end();
  })();
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

describe('DecodedStream (pushed body pieces -> canonical chunks through a synchronous decoder)', () => {
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
    assert.deepEqual(calls, { firstDelta: 1, close: 1, resume: 0 });
  });

  it('decodes the last event at the end of the body even without a blank line after it', async () => {
    const { stream } = decoded([data({ content: 'a' }) + data({}, 'stop').trimEnd()]);
    const { chunks, error } = await collect(stream);
    assert.equal(error, undefined);
    assert.deepEqual(
      chunks.map((c) => (c.type === 'delta' ? (c.text ?? c.finish_reason) : c.type)),
      ['start', 'a', 'stop', 'usage'],
    );
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

  it('hands chunks pushed before the reader came, asks for a pause past its high-water mark and a resume once read', async () => {
    const { stream, calls } = decoded([]);
    let accepted = true;
    let pushed = 0;
    while (accepted) {
      accepted = stream.push(Buffer.from(data({ content: 'x' })));
      pushed += 1;
    }
    assert.ok(pushed > 100, `paused after ${pushed} pieces`);
    let read = 0;
    for await (const c of stream) {
      if (c.type === 'delta') read += 1;
      if (read === pushed) break;
    }
    assert.equal(read, pushed);
    assert.equal(calls.resume, 1);
  });

  it('ends with the transport failure after the chunks decoded before it', async () => {
    const { stream } = decoded([]);
    stream.push(Buffer.from(data({ content: 'a' })));
    stream.fail(new Error('socket hang up'));
    const { chunks, error } = await collect(stream);
    assert.deepEqual(chunks.map((c) => c.type), ['start', 'delta']);
    assert.equal((error as Error).message, 'socket hang up');
  });
});
