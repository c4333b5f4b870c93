// Config additions for FinOps: `finopsSchema` becomes the top-level `finops:` section (optional,
// every field defaulted), which the main config schema merges. The GPU cost fields of self-hosted
// deployments are deployment fields (providers/deployment-fields.ts). Field meanings are
// documented in docs/finops.md.

import { z } from 'zod';

const usd = z.number().min(0);
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);
const durationMs = z.number().int().positive();

/** USD per 1M tokens. Cached input and cache writes default to the input price when omitted. */
export const modelPriceSchema = z.strictObject({
  input_per_1m: usd,
  cached_input_per_1m: usd.optional(),
  cache_write_per_1m: usd.optional(),
  output_per_1m: usd,
});

export const BUDGET_SCOPES = ['key', 'team', 'global'] as const;
export const BUDGET_PERIODS = ['daily', 'weekly', 'monthly'] as const;

/** Alert thresholds in percent of the limit, e.g. [50, 80, 100]. */
export const thresholdsSchema = z
  .array(z.number().int().min(1).max(100))
  .min(1)
  .max(10)
  .transform((t) => [...new Set(t)].sort((a, b) => a - b));

export const configBudgetSchema = z
  .strictObject({
    /** Stable id: the budget's counters and alert history hang off it. */
    id: z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits, ".", "_", ":" or "-"'),
    name: z.string().min(1).max(200).optional(),
    scope: z.enum(BUDGET_SCOPES),
    /** The key id (scope key) or team id (scope team); omitted for global. */
    scope_id: z.string().min(1).optional(),
    period: z.enum(BUDGET_PERIODS),
    limit_usd: z.number().positive(),
    thresholds: thresholdsSchema.optional(),
  })
  .refine((b) => (b.scope === 'global') === (b.scope_id === undefined), {
    message: 'scope_id is required for key and team budgets and not allowed for global ones',
    path: ['scope_id'],
  });

export const webhookSchema = z.strictObject({
  /** Shown in logs and the delivery log instead of the URL (webhook URLs are secrets). */
  name: z.string().min(1).max(100).optional(),
  url: z.url({ error: 'expected a URL such as https://hooks.slack.com/services/...' }),
  /** slack: {text, blocks}; json: a typed event object. */
  format: z.enum(['slack', 'json']).default('json'),
  headers: z.record(z.string(), z.string()).default({}),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a UTC time such as 09:00');

export const finopsSchema = z.strictObject({
  /** Price overrides and additions, by Switchyard model name or upstream model name. */
  prices: z.record(z.string().min(1), modelPriceSchema).default({}),
  ledger: z
    .strictObject({
      // Short, so each hand-over to the SQLite writer thread (a structured clone on the event loop) stays small.
      flush_interval_ms: durationMs.max(60_000).default(200),
      /** Records waiting for the database beyond this drop the oldest (counted in metrics). */
      max_queue: positiveInt.default(50_000),
      batch_size: positiveInt.max(2_000).default(500),
    })
    .prefault({}),
  self_hosted: z
    .strictObject({
      /** Trailing window over which measured throughput sets the $/token rate. */
      window_ms: durationMs.default(3_600_000),
      /** Throughput assumed at least, so a nearly idle GPU does not make one request cost its whole hour. */
      floor_tokens_per_gpu_hour: positiveInt.default(1_000_000),
      refresh_ms: durationMs.default(60_000),
    })
    .prefault({}),
  budgets: z.array(configBudgetSchema).default([]),
  budget_enforcement: z
    .strictObject({
      /**
       * max_tokens of a chat request that sets none, when a budget applies: reserved for each
       * choice and sent upstream, so the upstream stops where the reservation does.
       */
      default_max_output_tokens: positiveInt.default(4_096),
      /** Tokens a chat template may add once per request (begin-of-text, generation prompt, built-in system text). */
      template_tokens_per_request: nonNegativeInt.default(64),
      /** Tokens added once to a request that defines tools (tool-use instructions: Anthropic's are up to 530). */
      template_tokens_with_tools: nonNegativeInt.default(600),
      /** Tokens a chat template may add per message (role header, end of turn), tool definition, prompt or embedding input. */
      template_tokens_per_message: nonNegativeInt.default(8),
      /** Tokens reserved for each image or other non-text part (the most any built-in-priced model counts is ~48k). */
      tokens_per_image: nonNegativeInt.default(50_000),
      /** How often budget definitions are re-read from the store (changes made on other replicas). */
      refresh_ms: durationMs.default(5_000),
      /** A reservation not settled within this is released (a request that never reported its end). */
      reservation_timeout_ms: durationMs.default(900_000),
      /** When the counter store (Redis) is unreachable: false refuses requests with 503, true admits them uncounted. */
      fail_open: z.boolean().default(false),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      thresholds: thresholdsSchema.default([50, 80, 100]),
      webhooks: z.array(webhookSchema).default([]),
      max_attempts: positiveInt.max(20).default(6),
      backoff_base_ms: durationMs.default(1_000),
      backoff_max_ms: durationMs.default(300_000),
      timeout_ms: durationMs.default(10_000),
      digest: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** UTC time of day the digest of the previous UTC day is sent. */
          time_utc: hhmm.default('09:00'),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type ModelPriceConfig = z.infer<typeof modelPriceSchema>;
export type ConfigBudget = z.infer<typeof configBudgetSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
export type FinopsConfig = z.infer<typeof finopsSchema>;
export type FinopsConfigInput = z.input<typeof finopsSchema>;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
