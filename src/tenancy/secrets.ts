// Random ids and key secrets, and the one-way hash stored in place of a secret.

import { createHash, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Every virtual key starts with this, so it is recognisable (and greppable by secret scanners). */
export const SECRET_PREFIX = 'sk-sy-';
const SECRET_RANDOM_CHARS = 32;
/** How much of a secret is kept for display: the marker plus six random characters. */
const DISPLAY_CHARS = SECRET_PREFIX.length + 6;

/** n uniformly random base62 characters (rejection sampling, so no character is favoured). */
export function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of randomBytes(n * 2)) {
      // 248 = 4 * 62: bytes at or above it would skew the distribution towards the first characters.
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

/** A new secret: `sk-sy-` plus 32 base62 characters (about 190 bits). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBase62(SECRET_RANDOM_CHARS);
}

/**
 * SHA-256 hex of a secret. A fast hash is enough here: secrets are long random strings, so there
 * is nothing to brute-force that a slow password hash would protect.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The display prefix of a secret, e.g. `sk-sy-a1B2c3`. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, DISPLAY_CHARS);
}

/** A new record id such as `key_3xY...` or `team_9Qa...`. */
export function newId(kind: 'key' | 'team'): string {
  return `${kind}_${randomBase62(16)}`;
}
