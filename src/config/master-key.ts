// The one rule for a usable master key, applied to every source of it (server.master_key in the
// file, SWITCHYARD_MASTER_KEY in the environment). A key that breaks it is refused at start-up
// rather than accepted: accepting it would also lift the loopback-only binding.

/** Shortest master key accepted: anything shorter is guessable. */
export const MIN_MASTER_KEY_LENGTH = 8;

/** Why `key` cannot be a master key, or undefined when it can. The message never contains the key. */
export function masterKeyProblem(key: string): string | undefined {
  if (key.length < MIN_MASTER_KEY_LENGTH) return `the master key must be at least ${MIN_MASTER_KEY_LENGTH} characters (got ${key.length})`;
  // Clients send it in an HTTP header, which trims surrounding whitespace and cannot carry control
  // characters: such a key could never be presented.
  if (/\s/.test(key) || [...key].some((c) => c < ' ' || c === '\x7f')) return 'the master key must not contain whitespace or control characters';
  return undefined;
}
