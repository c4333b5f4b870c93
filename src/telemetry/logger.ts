// Structured logs with pino, written asynchronously so logging never blocks a request.
// Credentials are redacted by path; config objects must go through redactConfig before logging.

import { pino, type Logger } from 'pino';

export type { Logger };

/** The part of a logger that background subsystems (FinOps, batch workers) need; tests pass a recorder. */
export interface ComponentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Log output is written in pieces of at least this many bytes, and at least every FLUSH_EVERY_MS. */
const MIN_WRITE_BYTES = 8_192;
const FLUSH_EVERY_MS = 1_000;

export function createLogger(level: string): Logger {
  // Lines are gathered into larger writes: every fs.write wakes a thread-pool thread and calls
  // back on the event loop, which a write per request line would do thousands of times a second.
  const destination = pino.destination({ sync: false, minLength: MIN_WRITE_BYTES });
  let written = 0;
  // A quiet gateway's lines still appear within a second.
  setInterval(() => {
    if (written === 0) return;
    written = 0;
    try {
      destination.flush();
    } catch {
      // destroyed (shutting down) or busy: the next flush or the exit hook writes it
    }
  }, FLUSH_EVERY_MS).unref();
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // a write still in flight: the thread pool finishes it
    }
  });
  return pino(
    {
      level,
      base: { service: 'switchyard' },
      redact: {
        paths: ['headers.authorization', 'headers["x-api-key"]', '*.api_key', '*.master_key', 'apiKey', 'api_key', 'master_key'],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite: (line: string) => {
          written += 1;
          return line;
        },
      },
    },
    destination,
  );
}
