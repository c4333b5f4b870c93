// The simulator's deterministic tokenizer. It is not a real BPE vocabulary; it only has to give
// stable, plausible counts (about 1.3 tokens per English word, like Llama 3) and stable token ids,
// so that prompts that share a text prefix share a token prefix and thus KV blocks.
//
// Rules, applied left to right (docs/simulator.md has the same list with examples):
//  1. `<|name|>` (name = 1-32 of [A-Za-z0-9_]) is one special token.
//  2. A single space directly before a word, number or punctuation run belongs to that piece
//     (" word" is one token, as in GPT/Llama vocabularies).
//  3. Letter runs (any script, with combining marks) of up to 6 characters are one token; longer
//     runs are cut into pieces of at most 4 characters.
//  4. Digit runs are cut into pieces of at most 3 digits.
//  5. Other characters (punctuation, symbols, emoji) form pieces of at most 3 UTF-16 code units
//     (extended by one rather than split a surrogate pair).
//  6. Remaining whitespace runs are pieces of at most 16 characters.
// A token's id is the FNV-1a hash of its text, so equal pieces always have equal ids.

import { fnv1a32 } from '../util/hash.ts';

const WS = 1;
const LETTER = 2;
const DIGIT = 3;
const OTHER = 4;

const MAX_WHOLE_WORD = 6;
const WORD_PIECE = 4;
const DIGIT_PIECE = 3;
const OTHER_PIECE = 3;
const WS_PIECE = 16;
const MAX_SPECIAL_NAME = 32;

// Class of every UTF-16 code unit, filled lazily (0 = not classified yet).
const classes = new Uint8Array(65_536);
const LETTER_RE = /[\p{L}\p{M}]/u;
const DIGIT_RE = /\p{N}/u;
const SPACE_RE = /\s/u;

function classOf(code: number): number {
  const known = classes[code];
  if (known !== 0) return known;
  let c = OTHER;
  if (code >= 0xd800 && code <= 0xdfff) c = OTHER; // surrogate halves: astral chars count as symbols
  else {
    const ch = String.fromCharCode(code);
    if (SPACE_RE.test(ch)) c = WS;
    else if (LETTER_RE.test(ch)) c = LETTER;
    else if (DIGIT_RE.test(ch)) c = DIGIT;
  }
  classes[code] = c;
  return c;
}

function isNameChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/** End index of a special token starting at `i`, or -1. */
function specialEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== 60 /* < */ || text.charCodeAt(i + 1) !== 124 /* | */) return -1;
  const limit = Math.min(text.length, i + 2 + MAX_SPECIAL_NAME);
  let j = i + 2;
  while (j < limit && isNameChar(text.charCodeAt(j))) j++;
  if (j === i + 2 || text.charCodeAt(j) !== 124 || text.charCodeAt(j + 1) !== 62 /* > */) return -1;
  return j + 2;
}

/** Calls `visit(start, end)` for every token piece of `text`, in order. */
export function scanTokens(text: string, visit: (start: number, end: number) => void): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const special = specialEnd(text, i);
    if (special !== -1) {
      visit(i, special);
      i = special;
      continue;
    }
    let start = i;
    let cls = classOf(text.charCodeAt(i));
    if (cls === WS) {
      let j = i + 1;
      while (j < n && classOf(text.charCodeAt(j)) === WS) j++;
      // Leave one trailing space to prefix the next piece unless that piece is a special token.
      const keepSpace = j < n && text.charCodeAt(j - 1) === 32 && specialEnd(text, j) === -1;
      const wsEnd = keepSpace ? j - 1 : j;
      for (let k = i; k < wsEnd; k += WS_PIECE) visit(k, Math.min(wsEnd, k + WS_PIECE));
      if (!keepSpace) {
        i = j;
        continue;
      }
      start = j - 1;
      i = j;
      cls = classOf(text.charCodeAt(i));
    }
    let j = i + 1;
    if (cls === LETTER) {
      while (j < n && classOf(text.charCodeAt(j)) === LETTER) j++;
      if (j - i <= MAX_WHOLE_WORD) visit(start, j);
      else {
        visit(start, i + WORD_PIECE);
        for (let k = i + WORD_PIECE; k < j; k += WORD_PIECE) visit(k, Math.min(j, k + WORD_PIECE));
      }
    } else if (cls === DIGIT) {
      while (j < n && j - i < DIGIT_PIECE && classOf(text.charCodeAt(j)) === DIGIT) j++;
      visit(start, j);
    } else {
      while (j < n && j - i < OTHER_PIECE && classOf(text.charCodeAt(j)) === OTHER && specialEnd(text, j) === -1) j++;
      // Never split a surrogate pair.
      const last = text.charCodeAt(j - 1);
      if (last >= 0xd800 && last <= 0xdbff && j < n) j++;
      visit(start, j);
    }
    i = j;
  }
}

/** Number of tokens in `text`. */
export function countTokens(text: string): number {
  let count = 0;
  scanTokens(text, () => count++);
  return count;
}

/** The token pieces of `text` (their concatenation is `text`). */
export function tokenize(text: string): string[] {
  const pieces: string[] = [];
  scanTokens(text, (s, e) => pieces.push(text.slice(s, e)));
  return pieces;
}

/** Token ids of `text`. */
export function encode(text: string): number[] {
  const ids: number[] = [];
  scanTokens(text, (s, e) => ids.push(fnv1a32(text, s, e)));
  return ids;
}

/** Token ids with the end offset (in `text`) of each token. */
export function encodeWithOffsets(text: string): { ids: number[]; ends: number[] } {
  const ids: number[] = [];
  const ends: number[] = [];
  scanTokens(text, (s, e) => {
    ids.push(fnv1a32(text, s, e));
    ends.push(e);
  });
  return { ids, ends };
}

/** The id of a single token piece (e.g. a special token). */
export function tokenId(piece: string): number {
  return fnv1a32(piece);
}
