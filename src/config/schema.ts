// The switchyard.yaml schema. Every field is documented in docs/configuration.md; keep them in step.

import { z } from 'zod';
import { POLICY_NAMES } from '../routing/policies/index.ts';
import { legacySchedulerWeightsSchema, resolveScheduler, schedulerSchema } from '../routing/scheduler-config.ts';
import { finopsSchema } from '../finops/config.ts';
import { DEPLOYMENT_KINDS, DEPLOYMENT_SCHEMAS } from '../providers/registry.ts';
import { batchSchema } from '../batch/config.ts';
import { limitsSchema } from '../tenancy/config.ts';
import { masterKeyProblem } from './master-key.ts';

const positiveInt = z.number().int().positive();
const durationMs = z.number().int().positive();

/** One deployment: the schema of the kind its `provider` names, from the provider registry. */
export const deploymentSchema = z.discriminatedUnion('provider', DEPLOYMENT_SCHEMAS, {
  error: `expected provider to be one of: ${DEPLOYMENT_KINDS.join(', ')}`,
});

export const timeoutsSchema = z.strictObject({
  connect_ms: durationMs.default(5_000),
  first_token_ms: durationMs.default(60_000),
  idle_ms: durationMs.default(60_000),
  total_ms: durationMs.default(600_000),
});

export const routingSchema = z
  .strictObject({
    /** Default: `scheduler` when every deployment is self-hosted, `weighted` otherwise. */
    policy: z.enum(POLICY_NAMES).optional(),
    sticky_sessions: z.boolean().default(false),
    /** Header carrying a conversation key for stickiness; the OpenAI `user` field is used when absent. */
    session_header: z.string().min(1).default('x-session-id'),
    scrape_interval_ms: durationMs.default(250),
    stale_after_ms: durationMs.default(2_000),
    /** The scheduler policy's scorers and filters by name (src/routing/scheduler-config.ts). */
    scheduler: schedulerSchema.optional(),
    /** Deprecated alias of scheduler.scorers, kept working; config/deprecations.ts says what to write instead. */
    scheduler_weights: legacySchedulerWeightsSchema.optional(),
    /** prefix-affinity: a replica may carry up to (1 + epsilon) x the average load before keys spill. */
    load_bound_epsilon: z.number().positive().default(0.25),
  })
  .superRefine((r, ctx) => {
    if (r.scheduler?.scorers && r.scheduler_weights) {
      ctx.addIssue({ code: 'custom', path: ['scheduler_weights'], message: 'give routing.scheduler.scorers or the deprecated routing.scheduler_weights, not both' });
    }
  })
  .transform((r) => ({ ...r, scheduler: resolveScheduler(r.scheduler, r.scheduler_weights) }));

export const circuitBreakerSchema = z.strictObject({
  consecutive_failures: positiveInt.default(5),
  ejection_ms: durationMs.default(10_000),
  max_ejection_ms: durationMs.default(300_000),
});

/** Ejection of replicas that fail or stall far more than their peers (see docs/routing.md). */
export const outlierDetectionSchema = z.strictObject({
  /** How often each pool is examined. */
  interval_ms: durationMs.default(1_000),
  /** An attempt with no first token after this many times its peers' typical time to first token is stalled... */
  stall_factor: z.number().min(1).default(10),
  /** ...and never before this long. */
  min_stall_ms: durationMs.default(3_000),
  /** Eject when a deployment's failure percentage exceeds its peers' by this many points. */
  failure_percent_above_peers: z.number().min(1).max(100).default(20),
  /** Outcomes a deployment (and its peers together) need before their percentages are compared. */
  min_requests: positiveInt.default(20),
});

export const retrySchema = z.strictObject({
  backoff_base_ms: z.number().int().min(0).default(25),
  backoff_max_ms: z.number().int().min(0).default(2_000),
  /** Longest upstream Retry-After the gateway waits out itself before trying again. */
  max_retry_after_ms: z.number().int().min(0).default(5_000),
});

export const admissionSchema = z.strictObject({
  /** Requests waiting in the gateway queue beyond this are shed at once. */
  max_queue: z.number().int().min(0).default(1_000),
  /** Shed (or fall back) when the predicted queue wait exceeds this: the model's queueing SLO. */
  max_queue_wait_ms: durationMs.default(10_000),
});

export const modelSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9._:/-]+$/, 'use letters, digits, ".", "_", ":", "/" or "-"'),
  deployments: z.array(deploymentSchema).min(1, 'a model needs at least one deployment'),
  timeouts: timeoutsSchema.prefault({}),
  max_retries: z.number().int().min(0).max(10).default(2),
  retry: retrySchema.prefault({}),
  routing: routingSchema.prefault({}),
  circuit_breaker: circuitBreakerSchema.prefault({}),
  outlier_detection: outlierDetectionSchema.prefault({}),
  admission: admissionSchema.prefault({}),
  /** Models tried in order when this one cannot serve (all replicas down, or the queue wait would exceed the SLO). */
  fallbacks: z.array(z.string().min(1)).default([]),
});

const origin = z
  .string()
  .regex(/^https?:\/\/[^/\s]+$/, 'expected an origin: scheme and host, with a port if not the default, no path (https://app.example.com)')
  .transform((o) => o.toLowerCase());

/** Which web pages may call the gateway from a browser (docs/api.md, "Browsers and CORS"). */
export const corsSchema = z.strictObject({
  /** Origins allowed to call /v1 (and health, metrics); "*" allows any. */
  origins: z.array(z.union([z.literal('*'), origin])).default([]),
  /** Origins allowed to call /admin/v1; never "*". */
  admin_origins: z.array(origin).default([]),
});

export const serverSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    max_body_bytes: positiveInt.default(10 * 1024 * 1024),
    shutdown_grace_ms: durationMs.default(30_000),
    /** A connection whose request headers have not all arrived this long after it opened (or its last request) is closed. */
    headers_timeout_ms: durationMs.default(10_000),
    /** Longest time to receive a whole request, headers and body (not the response, which streams as long as it takes). */
    request_timeout_ms: durationMs.default(300_000),
    /** An idle keep-alive connection is closed after this long (above the usual 60 s of load balancers, so they close first). */
    keep_alive_timeout_ms: durationMs.default(65_000),
    /** Open client connections at most; default: half the process's open-file limit, at most 16,384. */
    max_connections: positiveInt.optional(),
    /** Open connections from one client address at most; default: no cap beyond max_connections. */
    max_connections_per_client: positiveInt.optional(),
    cors: corsSchema.prefault({}),
    master_key: z
      .string()
      .superRefine((key, ctx) => {
        const problem = masterKeyProblem(key);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .superRefine((server, ctx) => {
    if (server.headers_timeout_ms > server.request_timeout_ms) {
      ctx.addIssue({ code: 'custom', path: ['headers_timeout_ms'], message: `must not exceed request_timeout_ms (${server.request_timeout_ms})` });
    }
  });

export type ServerConfig = z.infer<typeof serverSchema>;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const configSchema = z.strictObject({
    server: serverSchema.prefault({}),
    data_dir: z.string().min(1).default('./.switchyard'),
    log_level: z.enum(LOG_LEVELS).default('info'),
    health_check_interval_ms: durationMs.default(5_000),
    models: z.array(modelSchema).min(1, 'configure at least one model'),
    limits: limitsSchema.prefault({}),
    finops: finopsSchema.prefault({}),
    batch: batchSchema.prefault({}),
  });

export type SwitchyardConfig = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;
export type OutlierDetectionConfig = z.infer<typeof outlierDetectionSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type AdmissionConfig = z.infer<typeof admissionSchema>;
