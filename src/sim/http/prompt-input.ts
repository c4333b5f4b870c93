// The `prompt` of /v1/completions and the `input` of /v1/embeddings: a string, an array of
// strings, an array of token ids, or an array of token-id arrays (as vLLM and OpenAI accept).
// Text gets the begin-of-text token in front, as a Llama tokenizer adds it.

import { BEGIN_OF_TEXT } from '../text/chat-template.ts';
import { encode } from '../text/tokenizer.ts';
import { badRequest } from './respond.ts';

export interface PromptInput {
  /** The text, or null when the client sent token ids. */
  text: string | null;
  ids: number[];
}

const MAX_INPUTS = 2048;

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < 4_294_967_296);
}

function fromText(text: string, allowEmpty: boolean, param: string): PromptInput {
  if (!allowEmpty && text.length === 0) throw badRequest(`${param} must not be an empty string.`, param);
  return { text, ids: encode(BEGIN_OF_TEXT + text) };
}

export function parsePromptInputs(value: unknown, param: string, allowEmpty: boolean): PromptInput[] {
  const shape = `${param} must be a string, an array of strings, an array of token ids, or an array of token-id arrays.`;
  if (typeof value === 'string') return [fromText(value, allowEmpty, param)];
  if (!Array.isArray(value) || value.length === 0) throw badRequest(shape, param);
  if (value.length > MAX_INPUTS) throw badRequest(`${param} may hold at most ${MAX_INPUTS} items.`, param);
  if (value.every((v) => typeof v === 'number')) {
    if (!isTokenArray(value)) throw badRequest(`${param} token ids must be non-negative 32-bit integers.`, param);
    return [{ text: null, ids: value }];
  }
  return value.map((v, i) => {
    if (typeof v === 'string') return fromText(v, allowEmpty, `${param}[${i}]`);
    if (isTokenArray(v)) return { text: null, ids: v };
    throw badRequest(shape, `${param}[${i}]`);
  });
}
