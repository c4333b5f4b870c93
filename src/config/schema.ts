// The switchyard.yaml schema. Every field is documented in docs/configuration.md; keep them in step.

import { z } from 'zod';

const positiveInt = z.number().int().positive();
const durationMs = z.number().int().positive();

export const ENGINES = ['vllm', 'sglang', 'llamacpp', 'ollama', 'tgi', 'lmstudio', 'generic'] as const;
export type Engine = (typeof ENGINES)[number];

const url = z.url({ error: 'expected a URL such as http://127.0.0.1:8000/v1' });

const common = {
  id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits, ".", "_", ":" or "-"').optional(),
  weight: z.number().positive().default(1),
  headers: z.record(z.string(), z.string()).default({}),
};

const openAICompatibleDeployment = z.strictObject({
  provider: z.literal('openai-compatible'),
  url,
  model: z.string().min(1).optional(),
  api_key: z.string().optional(),
  engine: z.enum(ENGINES).default('generic'),
  health_path: z.string().startsWith('/').optional(),
  ...common,
});

const openAIDeployment = z.strictObject({
  provider: z.literal('openai'),
  url: url.default('https://api.openai.com/v1'),
  model: z.string().min(1).optional(),
  api_key: z.string().min(1, 'an OpenAI deployment needs api_key, e.g. ${OPENAI_API_KEY}'),
  ...common,
});

const anthropicDeployment = z.strictObject({
  provider: z.literal('anthropic'),
  url: url.default('https://api.anthropic.com'),
  model: z.string().min(1).optional(),
  api_key: z.string().min(1, 'an Anthropic deployment needs api_key, e.g. ${ANTHROPIC_API_KEY}'),
  ...common,
});

/** Replicas of the built-in simulator, launched by the gateway as child processes on free loopback ports. */
const simulatorDeployment = z.strictObject({
  provider: z.literal('simulator'),
  replicas: positiveInt.max(64).default(1),
  profile: z.string().min(1).default('h100-llama-3.1-8b'),
  time_scale: z.number().min(0).default(1),
  ...common,
});

export const deploymentSchema = z.discriminatedUnion(
  'provider',
  [openAICompatibleDeployment, openAIDeployment, anthropicDeployment, simulatorDeployment],
  { error: 'expected provider to be one of: openai-compatible, openai, anthropic, simulator' },
);

export const timeoutsSchema = z.strictObject({
  connect_ms: durationMs.default(5_000),
  first_token_ms: durationMs.default(60_000),
  idle_ms: durationMs.default(60_000),
  total_ms: durationMs.default(600_000),
});

export const modelSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9._:/-]+$/, 'use letters, digits, ".", "_", ":", "/" or "-"'),
  deployments: z.array(deploymentSchema).min(1, 'a model needs at least one deployment'),
  timeouts: timeoutsSchema.prefault({}),
  max_retries: z.number().int().min(0).max(10).default(2),
});

export const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  max_body_bytes: positiveInt.default(10 * 1024 * 1024),
  shutdown_grace_ms: durationMs.default(30_000),
  master_key: z.string().min(8, 'master_key must be at least 8 characters').optional(),
});

export const configSchema = z.strictObject({
    server: serverSchema.prefault({}),
    data_dir: z.string().min(1).default('./.switchyard'),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    health_check_interval_ms: durationMs.default(5_000),
    models: z.array(modelSchema).min(1, 'configure at least one model'),
  });

export type SwitchyardConfig = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
