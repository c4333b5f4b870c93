// Structured logs with pino, written asynchronously so logging never blocks a request.
// Credentials are redacted by path; config objects must go through redactConfig before logging.

import { pino, type Logger } from 'pino';

export type { Logger };

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
