// Seeded generator of inference request shapes for budget property tests: every endpoint the
// gateway serves and every field that multiplies work or tokens (n, best_of, prompt arrays,
// embeddings input arrays, dense unicode text, ignore_eos, missing max_tokens, tools,
// response_format, Anthropic messages). The same seed always gives the same shapes.

import { Rng } from '../../src/sim/util/rng.ts';

export type ShapeEndpoint = '/v1/chat/completions' | '/v1/completions' | '/v1/embeddings' | '/v1/messages';

export interface RequestShape {
  endpoint: ShapeEndpoint;
  body: Record<string, unknown>;
  /** One line saying what the shape exercises, for assertion messages. */
  label: string;
}

export interface ShapeOptions {
  model: string;
  /** Largest max_tokens a shape sets (the simulator's context must hold prompt + max_tokens). */
  maxTokens: number;
  /** Largest text a message or prompt holds, in UTF-16 units. */
  maxTextUnits: number;
}

// Pieces chosen to be dense for byte-level tokenizers and for the simulator's: single letters
// between punctuation (one token per byte), digits, emoji (surrogate pairs), CJK, combining
// marks, whitespace runs; plus ordinary English.
const PIECES = [
  'the quick brown fox jumps over the lazy dog ',
  'a,b;c:d!e?f.',
  '1,2.3;4',
  '😀🎉🚀',
  '漢字かな交じり文',
  'e\u0301a\u0300o\u0302',
  ' \t \n\n',
  '{"k":[1,2]}',
  'Ünïcödé ß ø ',
  '<|eot_id|>',
];

export function randomText(rng: Rng, maxUnits: number): string {
  const target = rng.int(1, maxUnits);
  let out = '';
  while (out.length < target) out += rng.pick(PIECES);
  return out.slice(0, target).replace(/[\ud800-\udbff]$/, '');
}

function maybeMaxTokens(rng: Rng, body: Record<string, unknown>, options: ShapeOptions, field = 'max_tokens'): string {
  if (rng.chance(0.4)) return 'no max_tokens';
  body[field] = rng.int(1, options.maxTokens);
  return `${field} ${body[field] as number}`;
}

function chatShape(rng: Rng, o: ShapeOptions): RequestShape {
  const messages: Record<string, unknown>[] = [];
  if (rng.chance(0.3)) messages.push({ role: 'system', content: randomText(rng, o.maxTextUnits) });
  const turns = rng.int(0, 2);
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: randomText(rng, o.maxTextUnits) });
    if (rng.chance(0.3)) {
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: randomText(rng, 40) }) } }] });
      messages.push({ role: 'tool', tool_call_id: `call_${i}`, content: randomText(rng, o.maxTextUnits) });
    } else {
      messages.push({ role: 'assistant', content: randomText(rng, o.maxTextUnits) });
    }
  }
  messages.push({ role: 'user', content: rng.chance(0.2) ? [{ type: 'text', text: randomText(rng, o.maxTextUnits) }] : randomText(rng, o.maxTextUnits) });
  const body: Record<string, unknown> = { model: o.model, messages };
  const parts = [`chat ${messages.length} messages`, maybeMaxTokens(rng, body, o, rng.chance(0.5) ? 'max_tokens' : 'max_completion_tokens')];
  if (rng.chance(0.4)) parts.push(`n ${(body.n = rng.int(2, 4))}`);
  if (rng.chance(0.4)) parts.push(`ignore_eos ${(body.ignore_eos = true)}`);
  if (rng.chance(0.25)) {
    body.tools = [{ type: 'function', function: { name: 'lookup', description: randomText(rng, 80), parameters: { type: 'object', properties: { q: { type: 'string', description: randomText(rng, 40) } } } } }];
    body.tool_choice = rng.pick(['auto', 'none']);
    parts.push('tools');
  }
  if (rng.chance(0.2)) {
    body.response_format = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object', properties: { text: { type: 'string' } } } } };
    parts.push('response_format');
  }
  if (rng.chance(0.4)) {
    body.stream = true;
    body.stream_options = { include_usage: true };
    parts.push('stream');
  }
  return { endpoint: '/v1/chat/completions', body, label: parts.join(', ') };
}

function completionShape(rng: Rng, o: ShapeOptions): RequestShape {
  const prompts = rng.int(1, 6);
  const prompt = prompts === 1 && rng.chance(0.5) ? randomText(rng, o.maxTextUnits) : Array.from({ length: prompts }, () => randomText(rng, o.maxTextUnits));
  const body: Record<string, unknown> = { model: o.model, prompt };
  const parts = [`completion ${Array.isArray(prompt) ? `${prompt.length} prompts` : '1 prompt string'}`, maybeMaxTokens(rng, body, o)];
  const n = rng.chance(0.4) ? rng.int(2, 3) : 1;
  if (n > 1) parts.push(`n ${(body.n = n)}`);
  if (rng.chance(0.3)) parts.push(`best_of ${(body.best_of = n + rng.int(0, 2))}`);
  if (rng.chance(0.4)) parts.push(`ignore_eos ${(body.ignore_eos = true)}`);
  if (rng.chance(0.3)) {
    body.stream = true;
    body.stream_options = { include_usage: true };
    parts.push('stream');
  }
  return { endpoint: '/v1/completions', body, label: parts.join(', ') };
}

function embeddingShape(rng: Rng, o: ShapeOptions): RequestShape {
  const inputs = rng.int(1, 8);
  const input = inputs === 1 && rng.chance(0.5) ? randomText(rng, o.maxTextUnits) : Array.from({ length: inputs }, () => randomText(rng, o.maxTextUnits));
  return { endpoint: '/v1/embeddings', body: { model: o.model, input }, label: `embeddings ${Array.isArray(input) ? `${input.length} inputs` : '1 input string'}` };
}

function messagesShape(rng: Rng, o: ShapeOptions): RequestShape {
  const messages: Record<string, unknown>[] = [];
  const turns = rng.int(0, 2);
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: randomText(rng, o.maxTextUnits) });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: randomText(rng, o.maxTextUnits) }] });
  }
  messages.push({ role: 'user', content: rng.chance(0.5) ? randomText(rng, o.maxTextUnits) : [{ type: 'text', text: randomText(rng, o.maxTextUnits) }, { type: 'text', text: randomText(rng, 50) }] });
  const body: Record<string, unknown> = { model: o.model, max_tokens: rng.int(1, o.maxTokens), messages };
  const parts = [`anthropic messages ${messages.length} messages`, `max_tokens ${body.max_tokens as number}`];
  if (rng.chance(0.4)) {
    body.system = randomText(rng, o.maxTextUnits);
    parts.push('system');
  }
  if (rng.chance(0.3)) {
    body.stream = true;
    parts.push('stream');
  }
  return { endpoint: '/v1/messages', body, label: parts.join(', ') };
}

export function randomShape(rng: Rng, options: ShapeOptions): RequestShape {
  const r = rng.next();
  if (r < 0.35) return chatShape(rng, options);
  if (r < 0.6) return completionShape(rng, options);
  if (r < 0.8) return messagesShape(rng, options);
  return embeddingShape(rng, options);
}

export function randomShapes(seed: number, count: number, options: ShapeOptions): RequestShape[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomShape(rng, options));
}
