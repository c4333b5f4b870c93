import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSse, parseSse } from '../../src/providers/sse.ts';

async function collect(pieces: string[]) {
  async function* source() {
    const enc = new TextEncoder();
    for (const p of pieces) yield enc.encode(p);
  }
  const out = [];
  for await (const e of parseSse(source())) out.push(e);
  return out;
}

describe('SSE parser', () => {
  it('reassembles events split anywhere, including inside multi-byte characters', async () => {
    const text = encodeSse('{"a":"héllo"}') + ': comment\n\n' + encodeSse('{"b":2}', 'message_delta') + 'data: [DONE]\n\n';
    const bytes = Buffer.from(text);
    const pieces: string[] = [];
    const cut = [3, 11, 12, 30, 47];
    let last = 0;
    // Cut raw bytes (not characters) to exercise the streaming decoder.
    async function* source() {
      for (const c of [...cut, bytes.length]) {
        yield bytes.subarray(last, c);
        last = c;
      }
    }
    const events = [];
    for await (const e of parseSse(source())) events.push(e);
    assert.deepEqual(events, [
      { event: null, data: '{"a":"héllo"}' },
      { event: 'message_delta', data: '{"b":2}' },
      { event: null, data: '[DONE]' },
    ]);
    assert.equal(pieces.length, 0);
  });

  it('handles CRLF line endings, multi-line data and a final event without a blank line', async () => {
    const events = await collect(['data: a\r\ndata: b\r\n\r\n', 'event: x\ndata: tail']);
    assert.deepEqual(events, [
      { event: null, data: 'a\nb' },
      { event: 'x', data: 'tail' },
    ]);
  });
});
