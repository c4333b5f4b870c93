// Splits a byte stream into JSONL lines without holding more than one line at a time, and checks
// each line against the batch input format: {custom_id, method: "POST", url, body}.

import { BATCHABLE_PATHS, endpointAt, type BatchablePath } from '../../api/endpoints.ts';

const MAX_CUSTOM_ID = 512;

/** Cuts bytes into lines as they arrive, holding only the unfinished line. */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private line = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** The lines this chunk completes (1-based numbers, text without the newline). */
  push(chunk: Buffer): { line: number; text: string }[] {
    const out: { line: number; text: string }[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      const whole = this.carry.length ? Buffer.concat([...this.carry, piece]) : piece;
      this.carry = [];
      this.carryBytes = 0;
      this.line += 1;
      out.push({ line: this.line, text: whole.toString('utf8').replace(/\r$/, '') });
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.carry.push(chunk.subarray(start));
      this.carryBytes += chunk.length - start;
      if (this.carryBytes > this.maxLineBytes) throw new LineTooLongError(this.line + 1, this.maxLineBytes);
    }
    return out;
  }

  /** The last line, when the data did not end with a newline. */
  end(): { line: number; text: string } | undefined {
    if (this.carryBytes === 0) return undefined;
    const text = Buffer.concat(this.carry).toString('utf8').replace(/\r$/, '');
    this.carry = [];
    this.carryBytes = 0;
    this.line += 1;
    return { line: this.line, text };
  }
}

/** Every line of a byte stream, one at a time. */
export async function* jsonlLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<{ line: number; text: string }> {
  const splitter = new LineSplitter(maxLineBytes);
  for await (const raw of source) yield* splitter.push(typeof raw === 'string' ? Buffer.from(raw) : raw);
  const last = splitter.end();
  if (last) yield last;
}

export class LineTooLongError extends Error {
  constructor(
    readonly line: number,
    limit: number,
  ) {
    super(`line ${line} is longer than ${limit} bytes`);
  }
}

export interface BatchLine {
  customId: string;
  url: BatchablePath;
  model: string;
  body: Record<string, unknown>;
}

/** The parsed line, or what is wrong with it (a message naming the field). */
export function parseBatchLine(text: string): BatchLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'each line must be a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.custom_id !== 'string' || v.custom_id === '') return 'custom_id must be a non-empty string';
  if (v.custom_id.length > MAX_CUSTOM_ID) return `custom_id must be at most ${MAX_CUSTOM_ID} characters`;
  if (v.method !== 'POST') return 'method must be "POST"';
  if (typeof v.url !== 'string' || !endpointAt(v.url)?.batchable) return `url must be one of ${BATCHABLE_PATHS.join(', ')}`;
  if (typeof v.body !== 'object' || v.body === null || Array.isArray(v.body)) return 'body must be a JSON object (the request)';
  const body = v.body as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model === '') return 'body.model must be a non-empty string';
  if (body.stream === true) return 'body.stream is not supported in batch requests (remove it)';
  return { customId: v.custom_id, url: v.url as BatchablePath, model: body.model, body };
}

export interface LineProblem {
  line: number;
  message: string;
  /** For a batch's `errors.data[]`. */
  code: string;
  param: string | null;
}

/**
 * Checks a batch input file line by line (the upload, and again when a batch ingests it): each
 * line's format, custom_id unique within the file, at most `maxLines` requests. Keeps the first
 * `maxProblems` problems.
 */
export class BatchFileChecker {
  readonly problems: LineProblem[] = [];
  problemCount = 0;
  requestLines = 0;
  private readonly customIds = new Set<string>();

  constructor(
    private readonly maxLines: number,
    private readonly maxProblems = 100,
  ) {}

  /** The parsed request, the line's problem, or undefined for a blank line. */
  check(line: number, text: string): BatchLine | LineProblem | undefined {
    if (text.trim() === '') return undefined;
    this.requestLines += 1;
    if (this.requestLines === this.maxLines + 1) this.reject(line, `the file has more than ${this.maxLines} requests (batch.max_lines); split it`, 'too_many_requests');
    const parsed = parseBatchLine(text);
    if (typeof parsed === 'string') return this.reject(line, parsed);
    if (this.customIds.has(parsed.customId)) {
      return this.reject(line, `custom_id "${parsed.customId}" is used by an earlier line (custom_id must be unique within the file)`, 'duplicate_custom_id', 'custom_id');
    }
    this.customIds.add(parsed.customId);
    return parsed;
  }

  /** Whether the file has gone past its request limit (nothing after that is worth checking). */
  get overLimit(): boolean {
    return this.requestLines > this.maxLines;
  }

  /** Records a problem with a line that check() cannot see (e.g. one too long to read). */
  reject(line: number, message: string, code = 'invalid_request', param: string | null = null): LineProblem {
    const problem = { line, message, code, param };
    this.problemCount += 1;
    if (this.problems.length < this.maxProblems) this.problems.push(problem);
    return problem;
  }

  /** One message listing the first problems with their line numbers. */
  summary(shown = 10): string {
    const head = this.problems.slice(0, shown).map((p) => `line ${p.line}: ${p.message}`).join('; ');
    const more = this.problemCount > shown ? `; and ${this.problemCount - shown} more` : '';
    return `${head}${more}`;
  }
}
