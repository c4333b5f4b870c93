// The `limits:` config section, merged into the main schema. Limits themselves (rpm, tpm,
// concurrency) are set per key and team over the admin API; this says how they behave when their
// counter store cannot be reached. Documented in docs/configuration.md and docs/tenancy.md.

import { z } from 'zod';

export const limitsSchema = z.strictObject({
  /** Redis (REDIS_URL) unreachable: true lets requests through without limits, false refuses requests under a limit with 503. */
  fail_open: z.boolean().default(true),
});

export type LimitsConfig = z.infer<typeof limitsSchema>;
