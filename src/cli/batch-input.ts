// The input file of `switchyard batch submit`: JSONL whose lines are either full OpenAI batch lines
// or bare request bodies. Bare bodies are wrapped here, on the client, so users can submit the
// requests they already have; everything else about the lines is left to the gateway's checks.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BATCHABLE_ENDPOINTS, BATCHABLE_PATHS, batchableEndpointOf } from '../api/endpoints.ts';
import type { Json } from './gateway-client.ts';

/** How many bad lines of a file are listed before "... and N more". */
const MAX_LISTED_ERRORS = 20;

export interface NormaliseOptions {
  /** --endpoint: the url of wrapped bodies (else inferred from each body). */
  endpoint?: string;
  /** --model: set on bodies without a model; a model already in a body wins. */
  model?: string;
}

export type NormalisedLine =
  | { kind: 'blank' }
  | { kind: 'error'; message: string }
  | { kind: 'request'; text: string; changed: boolean; url: unknown };

/** How a bare body's endpoint is told from its fields, for help and error text: "messages → /v1/chat/completions, ...". */
export const ENDPOINT_GUESSES = BATCHABLE_ENDPOINTS.map((e) => `${e.requiredField} → ${e.path}`).join(', ');

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One line of the input: a full batch line passes through (gaining a model if --model and it has
 *  none); a bare request body is wrapped as `line-<N>`. Deeper checks (method, url, duplicate ids)
 *  are the gateway's, which reports them all at once with line numbers. */
export function normaliseLine(text: string, lineNo: number, options: NormaliseOptions): NormalisedLine {
  if (text.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'error', message: `not valid JSON (${(err as Error).message})` };
  }
  if (!isObject(value)) return { kind: 'error', message: 'expected a JSON object' };
  if ('custom_id' in value || 'body' in value) {
    if (options.model && isObject(value.body) && value.body.model === undefined) {
      return { kind: 'request', text: JSON.stringify({ ...value, body: { ...value.body, model: options.model } }), changed: true, url: value.url };
    }
    return { kind: 'request', text, changed: false, url: value.url };
  }
  const inferred = batchableEndpointOf(value);
  if (!inferred) return { kind: 'error', message: `neither a batch line {custom_id, method, url, body} nor a request body (${ENDPOINT_GUESSES})` };
  const url = options.endpoint ?? inferred;
  const body = options.model && value.model === undefined ? { ...value, model: options.model } : value;
  return { kind: 'request', text: JSON.stringify({ custom_id: `line-${lineNo}`, method: 'POST', url, body }), changed: true, url };
}

export interface PreparedUpload {
  /** The file to upload: the input itself, or a normalised copy in a temporary directory. */
  path: string;
  requests: number;
  endpoint: string;
  errors: string[];
  errorCount: number;
  cleanup(): Promise<void>;
}

/** Reads the file line by line (it may have 100,000 lines) into a normalised copy. Line numbers
 *  are kept 1:1 (blank lines stay blank) so the gateway's line numbers match the user's file. */
export async function prepareUpload(file: string, options: NormaliseOptions): Promise<PreparedUpload> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-batch-'));
  const copy = join(dir, basename(file));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const result = { requests: 0, errors: [] as string[], errorCount: 0, changed: false, firstUrl: undefined as unknown };
  async function* normalised() {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const text of lines) {
      lineNo++;
      const line = normaliseLine(text, lineNo, options);
      if (line.kind === 'blank') {
        yield '\n';
      } else if (line.kind === 'error') {
        if (++result.errorCount <= MAX_LISTED_ERRORS) result.errors.push(`line ${lineNo}: ${line.message}`);
        yield text + '\n';
      } else {
        result.requests++;
        result.changed ||= line.changed;
        result.firstUrl ??= line.url;
        yield line.text + '\n';
      }
    }
  }
  try {
    await pipeline(Readable.from(normalised()), createWriteStream(copy));
  } catch (err) {
    await cleanup();
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const endpoint = options.endpoint ?? (typeof result.firstUrl === 'string' ? result.firstUrl : BATCHABLE_PATHS[0]);
  if (!result.changed) await cleanup();
  return { path: result.changed ? copy : file, requests: result.requests, endpoint, errors: result.errors, errorCount: result.errorCount, cleanup };
}

/** Why `file` must not be uploaded, or undefined when it may. Checked before any upload so a file
 *  with a typo costs nothing on the gateway and every bad line is listed at once. */
export function uploadRefusal(file: string, prepared: PreparedUpload): string | undefined {
  if (prepared.errorCount > 0) {
    const more = prepared.errorCount - prepared.errors.length;
    return `${file} has ${prepared.errorCount} bad line${prepared.errorCount === 1 ? '' : 's'}; nothing was uploaded:\n  ${prepared.errors.join('\n  ')}${more > 0 ? `\n  ... and ${more} more` : ''}`;
  }
  if (prepared.requests === 0) return `${file} has no request lines; nothing was uploaded`;
  return undefined;
}
