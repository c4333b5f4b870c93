// Shared helpers for the batch tests: input files, polling, reading output files.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';

export const MODEL = 'sim-llama-3.1-8b';

export interface LineSpec {
  customId: string;
  body: Record<string, unknown>;
  url?: string;
}

export function chatLine(i: number, extra: Record<string, unknown> = {}): LineSpec {
  return { customId: `req-${i}`, body: { model: MODEL, messages: [{ role: 'user', content: `item ${i}: say something` }], max_tokens: 6, ...extra } };
}

export function writeJsonl(lines: readonly (LineSpec | string)[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-batch-'));
  const file = join(dir, 'input.jsonl');
  const text = lines
    .map((l) => (typeof l === 'string' ? l : JSON.stringify({ custom_id: l.customId, method: 'POST', url: l.url ?? '/v1/chat/completions', body: l.body })))
    .join('\n');
  writeFileSync(file, `${text}\n`);
  return file;
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export async function waitForBatch(client: OpenAI, id: string, timeoutMs = 60_000, until: (b: OpenAI.Batches.Batch) => boolean = (b) => TERMINAL.has(b.status)) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    if (until(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} after ${timeoutMs} ms: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

export async function readOutput(client: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as OutputLine);
}

/** Every custom_id of the input appears exactly once across the output and error files. */
export function assertExactlyOnce(expected: readonly string[], ...files: OutputLine[][]): void {
  const seen = new Map<string, number>();
  for (const lines of files) for (const l of lines) seen.set(l.custom_id, (seen.get(l.custom_id) ?? 0) + 1);
  const missing = expected.filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const unknown = [...seen.keys()].filter((id) => !expected.includes(id));
  if (missing.length || twice.length || unknown.length) {
    throw new Error(`exactly-once violated: missing ${missing.length} (${missing.slice(0, 5).join(', ')}), duplicated ${twice.length} (${twice.slice(0, 5).join(', ')}), unknown ${unknown.length}`);
  }
}
