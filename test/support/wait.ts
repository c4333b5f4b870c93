// Polling for a condition in tests: sleeps alone race the event loop on a busy CI host.

import assert from 'node:assert/strict';

/** Polls `check` until it holds; fails naming `what` after timeoutMs. Resolves with the time it took. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
