// Request-field validation shared by the endpoints. Every failure is a 400 naming the field, like
// vLLM's request validation; unknown fields are ignored, as vLLM does.

import { badRequest } from './respond.ts';

export type Body = Record<string, unknown>;

function present(body: Body, key: string): boolean {
  return body[key] !== undefined && body[key] !== null;
}

export function optInteger(body: Body, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${key} must be an integer.`, key);
  if (v < min || v > max) throw badRequest(`${key} must be between ${min} and ${max}, got ${v}.`, key);
  return v;
}

export function optNumber(body: Body, key: string, min = -Infinity, max = Infinity): number | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${key} must be a number.`, key);
  if (v < min || v > max) throw badRequest(`${key} must be between ${min} and ${max}, got ${v}.`, key);
  return v;
}

export function optBoolean(body: Body, key: string): boolean | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'boolean') throw badRequest(`${key} must be a boolean.`, key);
  return v;
}

export function optString(body: Body, key: string): string | undefined {
  if (!present(body, key)) return undefined;
  const v = body[key];
  if (typeof v !== 'string') throw badRequest(`${key} must be a string.`, key);
  return v;
}

export function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sampling and streaming options common to chat and text completions. */
export interface SamplingParams {
  /** Undefined: generate until the model stops or the context is full. */
  maxTokens: number | undefined;
  minTokens: number;
  ignoreEos: boolean;
  stop: string[];
  includeStopStrInOutput: boolean;
  /** The request's `seed`, folded to 32 bits; undefined when absent. */
  seed: number | undefined;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

const MAX_N = 16;
const MAX_STOP_STRINGS = 16;

function parseStop(body: Body): string[] {
  if (!present(body, 'stop')) return [];
  const v = body.stop;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length <= MAX_STOP_STRINGS && v.every((s) => typeof s === 'string')) return v as string[];
  throw badRequest(`stop must be a string or an array of at most ${MAX_STOP_STRINGS} strings.`, 'stop');
}

/** Folds any integer seed (up to 64-bit, possibly negative) into 32 bits. */
function foldSeed(seed: number): number {
  const lo = seed % 4_294_967_296;
  const hi = Math.floor(seed / 4_294_967_296);
  return ((lo >>> 0) ^ Math.imul(hi | 0, 0x9e3779b1)) >>> 0;
}

export function parseSampling(body: Body, maxTokensKeys: readonly string[], defaultMaxTokens?: number): SamplingParams {
  let maxTokens: number | undefined;
  for (const key of maxTokensKeys) {
    const v = optInteger(body, key, 1);
    if (v !== undefined) {
      maxTokens = v;
      break;
    }
  }
  maxTokens ??= defaultMaxTokens;
  const minTokens = optInteger(body, 'min_tokens', 0) ?? 0;
  if (maxTokens !== undefined && minTokens > maxTokens) throw badRequest(`min_tokens (${minTokens}) must be less than or equal to max_tokens (${maxTokens}).`, 'min_tokens');
  // Validated for type only: the simulator's output does not depend on them.
  optNumber(body, 'temperature', 0, 2);
  optNumber(body, 'top_p', 0, 1);
  optNumber(body, 'presence_penalty', -2, 2);
  optNumber(body, 'frequency_penalty', -2, 2);
  const seed = optInteger(body, 'seed', Number.MIN_SAFE_INTEGER);
  const stream = optBoolean(body, 'stream') ?? false;
  let includeUsage = false;
  if (present(body, 'stream_options')) {
    const so = body.stream_options;
    if (!isObject(so)) throw badRequest('stream_options must be an object.', 'stream_options');
    includeUsage = optBoolean(so, 'include_usage') ?? false;
  }
  return {
    maxTokens,
    minTokens,
    ignoreEos: optBoolean(body, 'ignore_eos') ?? false,
    stop: parseStop(body),
    includeStopStrInOutput: optBoolean(body, 'include_stop_str_in_output') ?? false,
    seed: seed === undefined ? undefined : foldSeed(seed),
    n: optInteger(body, 'n', 1, MAX_N) ?? 1,
    stream,
    includeUsage: stream && includeUsage,
  };
}
