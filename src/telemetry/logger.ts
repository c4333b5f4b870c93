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

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'switchyard' },
      redact: {
        paths: ['headers.authorization', 'headers["x-api-key"]', '*.api_key', '*.master_key', 'apiKey', 'api_key', 'master_key'],
        censor: '[redacted]',
      },
    },
    pino.destination({ sync: false }),
  );
}
