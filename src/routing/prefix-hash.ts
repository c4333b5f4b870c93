// Prefix fingerprints of a request, for routing toward the replica whose KV cache already holds the
// start of the prompt. An engine caches a prompt's prefix in fixed token blocks; the gateway has no
// tokenizer, so it approximates with fixed character blocks of a deterministic rendering of the
// whole conversation. Two requests that share a conversation prefix share a rendered prefix, hence
// the same leading block hashes.

import type { CanonicalRequest, ChatMessage, ContentPart } from '../api/canonical.ts';
import type { RoutingRequest } from './types.ts';

/** Image URLs and file references this long or shorter are rendered verbatim; longer ones (inline data) are fingerprinted. */
const MAX_VERBATIM_URL = 256;

function verbatimOrFingerprint(s: string): string {
  return s.length <= MAX_VERBATIM_URL ? s : fingerprintLongString(s);
}

function fingerprintLongString(s: string): string {
  // Hashing every character of a multi-megabyte data URL would cost more than routing is worth;
  // a strided sample plus the tail tells different images apart in practice.
  const stride = Math.ceil(s.length / 1024);
  let h = FNV32_OFFSET;
  for (let i = 0; i < s.length; i += stride) h = Math.imul(h ^ s.charCodeAt(i), FNV32_PRIME);
  for (let i = Math.max(0, s.length - 64); i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV32_PRIME);
  return `${s.length}:${(h >>> 0).toString(16)}`;
}

function renderContent(content: string | ContentPart[] | null): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content) {
    switch (part.type) {
      case 'text':
        out += part.text;
        break;
      case 'image_url':
        out += `<image:${verbatimOrFingerprint(part.image_url.url)}>`;
        break;
      case 'input_audio':
        out += `<audio:${fingerprintLongString(part.input_audio.data)}>`;
        break;
      case 'file':
        out += `<file:${verbatimOrFingerprint(part.file.file_id ?? part.file.file_data ?? '')}>`;
        break;
    }
  }
  return out;
}

function renderMessage(m: ChatMessage): string {
  let out = `<|${m.role}|>`;
  if ('name' in m && m.name !== undefined) out += `<|name:${m.name}|>`;
  if (m.role === 'tool') out += `<|result:${m.tool_call_id}|>`;
  out += renderContent(m.content);
  if (m.role === 'assistant' && m.tool_calls) {
    for (const c of m.tool_calls) out += `<|call:${c.id}|>${c.function.name}(${c.function.arguments})`;
  }
  return out + '<|end|>\n';
}

/**
 * Deterministic text of everything the engine will see before generating, in template order:
 * tool definitions first (chat templates put them ahead of the conversation, so they belong to the
 * shared prefix), then every message including tool calls and tool results, or the completion
 * prompt. Appending a turn only appends text: earlier renderings are a prefix of later ones.
 */
export function renderForRouting(req: CanonicalRequest): string {
  let out = '';
  if (req.tools && req.tools.length > 0) {
    out += '<|tools|>';
    // JSON.stringify keeps the client's key order, which clients repeat verbatim turn after turn.
    for (const t of req.tools) out += JSON.stringify(t.function) + '\n';
    out += '<|end|>\n';
  }
  if (req.messages) for (const m of req.messages) out += renderMessage(m);
  const prompt = req.kind === 'embedding' ? req.input : req.prompt;
  if (typeof prompt === 'string') out += prompt;
  else if (Array.isArray(prompt)) out += prompt.join('\n<|next|>\n');
  return out;
}

/** About four characters per token for English text; good enough to weigh load, not to bill. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

// FNV-1a 64 over UTF-16 code units, kept in four 16-bit limbs so every product stays an exact
// small integer (no BigInt, no allocation). Offset basis 0xcbf29ce484222325, prime 2^40 + 0x1b3.
const OFFSET_3 = 0xcbf2;
const OFFSET_2 = 0x9ce4;
const OFFSET_1 = 0x8422;
const OFFSET_0 = 0x2325;
const PRIME_LOW = 0x1b3;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Chained hashes of the text's full `blockChars`-sized blocks (at most `maxBlocks`): hash i covers
 * blocks 0..i, so equal hashes at position i mean equal prefixes up to the end of block i.
 * One running FNV-1a state is snapshotted at each block boundary, which is the same as hashing
 * "previous hash + block" without ever concatenating the prefix. A partial last block is ignored,
 * as engines only cache full blocks.
 */
export function prefixHashes(text: string, blockChars = 256, maxBlocks = 128): string[] {
  const blocks = Math.min(Math.floor(text.length / blockChars), maxBlocks);
  const out = new Array<string>(blocks);
  let h3 = OFFSET_3;
  let h2 = OFFSET_2;
  let h1 = OFFSET_1;
  let h0 = OFFSET_0;
  let pos = 0;
  for (let b = 0; b < blocks; b++) {
    const end = pos + blockChars;
    for (; pos < end; pos++) {
      h0 ^= text.charCodeAt(pos);
      // h * (2^40 + 0x1b3) mod 2^64: the 0x1b3 part per limb, plus h shifted left by 40 bits
      // (limb 0 lands 8 bits into limb 2, limb 1 8 bits into limb 3; the rest overflows).
      const t0 = h0 * PRIME_LOW;
      const t1 = h1 * PRIME_LOW + (t0 >>> 16);
      const t2 = h2 * PRIME_LOW + (h0 << 8) + (t1 >>> 16);
      const t3 = h3 * PRIME_LOW + (h1 << 8) + (t2 >>> 16);
      h0 = t0 & 0xffff;
      h1 = t1 & 0xffff;
      h2 = t2 & 0xffff;
      h3 = t3 & 0xffff;
    }
    out[b] = hex8(h3 * 0x10000 + h2) + hex8(h1 * 0x10000 + h0);
  }
  return out;
}

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/**
 * 32-bit hash of a short string (FNV-1a with a murmur3 finaliser, since plain FNV spreads similar
 * short strings like "replica-1#7" poorly). Used for hash-ring positions.
 */
export function hashString32(s: string): number {
  let h = FNV32_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV32_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface RoutingRequestOptions {
  /** Characters per prefix block; 256 characters is about 64 tokens. */
  blockChars?: number;
  /** Blocks hashed at most; 128 x 256 characters covers the first ~8k tokens. */
  maxBlocks?: number;
  /** Expected output when the client sets no max_tokens. */
  defaultOutputTokens?: number;
}

/** Builds the policy's view of a request: prefix hashes, token estimates and the session key. */
export function routingRequestFor(req: CanonicalRequest, options: RoutingRequestOptions = {}): RoutingRequest {
  const text = renderForRouting(req);
  const n = req.params.n ?? 1;
  return {
    prefixHashes: prefixHashes(text, options.blockChars ?? 256, options.maxBlocks ?? 128),
    estimatedPromptTokens: estimateTokens(text),
    expectedOutputTokens: (req.params.max_tokens ?? options.defaultOutputTokens ?? 256) * n,
    sessionKey: req.meta.user,
  };
}
