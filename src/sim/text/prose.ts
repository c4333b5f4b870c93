// Deterministic prose: an endless stream of one-token pieces (" word", ",", ".") drawn from the
// built-in vocabulary by a seeded generator. Sentences start with a capital and end with a period.

import type { Rng } from '../util/rng.ts';
import { WORDS } from './vocabulary.ts';

export class Prose {
  private first = true;
  private capitalize = true;
  private afterComma = false;
  private wordsLeft: number;

  constructor(private readonly rng: Rng) {
    this.wordsLeft = rng.int(5, 16);
  }

  /** The next piece; each piece is exactly one token. */
  next(): string {
    if (this.wordsLeft === 0) {
      this.wordsLeft = this.rng.int(5, 16);
      this.capitalize = true;
      return '.';
    }
    if (!this.afterComma && !this.capitalize && this.wordsLeft > 2 && this.rng.chance(0.07)) {
      this.afterComma = true;
      return ',';
    }
    this.afterComma = false;
    let word = this.rng.pick(WORDS);
    if (this.capitalize) {
      word = word[0].toUpperCase() + word.slice(1);
      this.capitalize = false;
    }
    this.wordsLeft--;
    const piece = this.first ? word : ` ${word}`;
    this.first = false;
    return piece;
  }

  /** `count` pieces joined, for callers that only need text (e.g. tool argument strings). */
  words(count: number): string {
    let out = '';
    for (let i = 0; i < count; i++) out += this.next();
    return out;
  }
}
