// Small, fast, non-cryptographic hashes. The simulator hashes every prompt token piece and every
// KV block on the request path, so these avoid allocation and stay in 32-bit integer math.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_POW_20 = 1_048_576;
const TWO_POW_32 = 4_294_967_296;

/** FNV-1a over the UTF-16 code units of `text[start, end)`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string, start = 0, end = text.length): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** MurmurHash3's finaliser: spreads every input bit over the whole word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines 32-bit values into one (order matters). */
export function combine32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) h = fmix32(Math.imul(h ^ (v >>> 0), FNV_PRIME) + 0x7f4a7c15);
  return h >>> 0;
}

/**
 * Hash of one KV block chained to its parent: covers `tokens[start, end)` and, through `parent`,
 * every block before it. Two independent 32-bit lanes are folded into a 52-bit integer (exact in a
 * double) so that a cache of ~30k blocks has a negligible collision chance and Map lookups stay
 * on number keys.
 */
export function chainBlockHash(parent: number, tokens: ArrayLike<number>, start: number, end: number): number {
  const lo = parent % TWO_POW_32 >>> 0;
  const hi = Math.floor(parent / TWO_POW_32) >>> 0;
  let a = (lo ^ 0x243f6a88) | 0;
  let b = (hi ^ 0x85a308d3 ^ Math.imul(lo, 0x2545f491)) | 0;
  for (let i = start; i < end; i++) {
    const t = tokens[i] | 0;
    a = Math.imul(a ^ t, FNV_PRIME);
    a ^= a >>> 15;
    b = Math.imul(b + t, 0x5bd1e995);
    b ^= b >>> 13;
  }
  const fa = fmix32(a ^ (end - start));
  const fb = fmix32(b ^ fa);
  return fa * TWO_POW_20 + (fb >>> 12);
}

/** The parent hash of a request's first block. */
export const ROOT_BLOCK_HASH = 0x1badb002;
