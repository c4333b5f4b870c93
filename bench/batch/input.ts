// The batch input file: N chat request lines written straight to disk with backpressure, so a
// 100,000-line file (~100 MB) never sits in the benchmark's memory. Prompts are random words from
// a fixed seed (no shared prefixes beyond the chat template, so the engines' prefix caches do not
// flatter the throughput), sized in the simulator's tokens (one word = one token).

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Rng } from '../routing/rng.ts';
import { words } from '../routing/text.ts';

export interface BatchShape {
  lines: number;
  promptTokens: [number, number];
  maxTokens: [number, number];
}

export function customId(i: number): string {
  return `req-${String(i).padStart(6, '0')}`;
}

/** Writes the JSONL file; resolves with its size in bytes. */
export async function writeBatchInput(path: string, model: string, shape: BatchShape, seed: number): Promise<number> {
  const rng = Rng.derive(seed, 'batch-input');
  const out = createWriteStream(path);
  let bytes = 0;
  for (let i = 0; i < shape.lines; i++) {
    const body = {
      model,
      messages: [{ role: 'user', content: words(rng, rng.int(...shape.promptTokens)).trimStart() }],
      max_tokens: rng.int(...shape.maxTokens),
    };
    const line = `${JSON.stringify({ custom_id: customId(i), method: 'POST', url: '/v1/chat/completions', body })}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
