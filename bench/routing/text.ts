// Synthetic text sized in the simulator's tokens. Every word is 2-4 lowercase letters with one
// space in front, which the simulator's tokenizer (src/sim/text/tokenizer.ts) counts as exactly one
// token, so a text of n words is n tokens. That averages ~4.2 characters per token, close to
// English under a BPE tokenizer, which matters because the gateway fingerprints prompts in
// characters (256-character blocks, the first 32k characters) while the engine caches tokens.

import type { Rng } from './rng.ts';

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';
const SYLLABLES: string[] = [];
for (const c of CONSONANTS) for (const v of VOWELS) SYLLABLES.push(c + v);

function word(rng: Rng): string {
  const r = rng.next();
  const first = rng.pick(SYLLABLES);
  if (r < 0.3) return first;
  if (r < 0.5) return first + rng.pick(CONSONANTS.split(''));
  return first + rng.pick(SYLLABLES);
}

/** `n` simulator tokens of text: n words, each with a leading space. */
export function words(rng: Rng, n: number): string {
  const parts = new Array<string>(n);
  for (let i = 0; i < n; i++) parts[i] = ' ' + word(rng);
  return parts.join('');
}

/**
 * Tokens the simulator's Llama-3 chat template adds around the messages: <|begin_of_text|>, per
 * message <|start_header_id|> role <|end_header_id|> "\n\n" ... <|eot_id|>, and the generation
 * prompt (header + "\n\n"). Approximate to a token or two; used only for sizing.
 */
export function templateTokens(messages: number): number {
  return 1 + messages * 5 + 4;
}
