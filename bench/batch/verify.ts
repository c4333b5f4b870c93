// Checks a finished batch's output file as it streams in, line by line, without holding the file:
// every line parses, every custom_id is one the input had and appears once, and counts how many
// lines carry a 200 response.

import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type OpenAI from 'openai';
import { customId } from './input.ts';

export interface OutputCheck {
  lines: number;
  unique: number;
  ok200: number;
  unknownIds: number;
  badLines: number;
  bytes: number;
}

export async function checkOutput(client: OpenAI, fileId: string, expectedLines: number): Promise<OutputCheck> {
  const res = await client.files.content(fileId);
  if (!res.body) throw new Error(`output file ${fileId} has no body`);
  const seen = new Set<string>();
  const check: OutputCheck = { lines: 0, unique: 0, ok200: 0, unknownIds: 0, badLines: 0, bytes: 0 };
  const valid = (id: string) => /^req-\d{6}$/.test(id) && Number(id.slice(4)) < expectedLines && customId(Number(id.slice(4))) === id;
  const lines = createInterface({ input: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), crlfDelay: Infinity });
  for await (const text of lines) {
    if (text === '') continue;
    check.lines += 1;
    check.bytes += Buffer.byteLength(text) + 1;
    let line: { custom_id?: unknown; response?: { status_code?: unknown } | null };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      check.badLines += 1;
      continue;
    }
    const id = typeof line.custom_id === 'string' ? line.custom_id : '';
    if (!valid(id)) check.unknownIds += 1;
    seen.add(id);
    if (line.response?.status_code === 200) check.ok200 += 1;
  }
  check.unique = seen.size;
  return check;
}
