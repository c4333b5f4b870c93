// The `batch:` config section (files, the batch job queue, workers, dead-letter queue), merged
// into the main schema. Every field is defaulted; meanings are documented in docs/batch.md.

import { z } from 'zod';

const positiveInt = z.number().int().positive();
const durationMs = z.number().int().positive();

export const batchSchema = z.strictObject({
  /** Where file contents live: `directory` (local disk or a shared volume) or `database` (the store,
   *  so every replica sharing PostgreSQL sees them). `auto`: directory on SQLite, database on PostgreSQL. */
  files_storage: z.enum(['auto', 'directory', 'database']).default('auto'),
  /** Directory for `directory` storage; default `<data_dir>/files`. */
  files_directory: z.string().min(1).optional(),
  /** Largest accepted upload. */
  max_file_bytes: positiveInt.default(200 * 1024 * 1024),
  /** Most request lines in one batch input file. */
  max_lines: positiveInt.default(200_000),
  /** Run batch workers in this process (turn off on replicas that should only serve interactive traffic). */
  workers: z.boolean().default(true),
  /** Batch requests in flight at once per healthy deployment of a model, at most, while the model
   *  has no interactive traffic. */
  max_in_flight_per_deployment: positiveInt.default(8),
  /** The same ceiling while interactive requests are arriving for the model: batch prefills share
   *  the engine steps interactive requests wait on, so this trades batch speed for interactive TTFT.
   *  A fraction is allowed (0.5: one batch request per two deployments; at least one always runs). */
  max_in_flight_per_deployment_with_interactive: z.number().positive().default(0.5),
  /** A model counts as free of interactive traffic this long after its last interactive request. */
  interactive_quiet_ms: durationMs.default(10_000),
  /** Attempts per request before it goes to the dead-letter queue. */
  max_attempts: positiveInt.default(5),
  backoff_base_ms: durationMs.default(1_000),
  backoff_max_ms: durationMs.default(60_000),
  /** A worker's claim on a request lasts this long unless renewed; a crashed worker's claims are taken over after it. */
  lease_ms: durationMs.default(60_000),
  /** Queued requests for a model no longer in the config (and not worked on by any replica) are
   *  failed with model_not_found after this long, rather than waiting for ever. */
  unserved_model_grace_ms: durationMs.default(600_000),
  /** How often idle workers look for new work. */
  poll_interval_ms: durationMs.default(250),
});

export type BatchConfig = z.infer<typeof batchSchema>;
