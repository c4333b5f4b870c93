// Reads a streamed chat completion to its end for a load driver: when its first content token
// arrived, and the last few hundred characters (to tell a clean `[DONE]` from an error event).
// Works on raw bytes, so timing a token costs no JSON parsing on the client.

import { performance } from 'node:perf_hooks';

const CONTENT = Buffer.from('"content":"');
const QUOTE = 0x22;

/** Whether buf holds a non-empty `"content":"…` value. */
function hasContent(buf: Buffer): boolean {
  let from = 0;
  for (;;) {
    const i = buf.indexOf(CONTENT, from);
    if (i < 0 || i + CONTENT.length >= buf.length) return false;
    if (buf[i + CONTENT.length] !== QUOTE) return true;
    from = i + CONTENT.length;
  }
}

/**
 * Calls onFirstContent(ms after t0) as the first content arrives (so a stream cut off later still
 * has its TTFT); resolves with the stream's last `tailChars` characters.
 */
export async function readStreamTiming(body: AsyncIterable<Buffer>, t0: number, tailChars: number, onFirstContent: (ms: number) => void): Promise<string> {
  let seen = false;
  let carry: Buffer | undefined;
  let tail = '';
  for await (const chunk of body) {
    if (!seen) {
      // The marker may straddle two reads: search the previous read's end together with this one.
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      if (hasContent(buf)) {
        seen = true;
        onFirstContent(performance.now() - t0);
      }
      else carry = buf.subarray(Math.max(0, buf.length - 16));
    }
    tail = (tail + chunk.toString('latin1')).slice(-tailChars);
  }
  return tail;
}
