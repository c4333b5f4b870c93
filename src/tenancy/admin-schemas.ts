// Admin API bodies (validated with zod, 400 naming the field at fault) and the JSON views of teams
// and keys. Views never carry a key's secret or hash, only its display prefix. Times on the wire
// are unix seconds, as in OpenAI's APIs.

import { z } from 'zod';
import { GatewayError } from '../api/errors.ts';
import { parseOrThrow, requireObject } from '../api/validation.ts';
import { formatPath } from '../util/format-path.ts';
import type { KeyPatch, KeyRecord, LimitFields, TeamPatch, TeamRecord } from './types.ts';

const limit = z
  .number({ error: 'must be a positive integer, or null for no limit' })
  .int({ error: 'must be a positive integer, or null for no limit' })
  .min(1, { error: 'must be a positive integer, or null for no limit' })
  .nullable()
  .optional();

const limitFields = {
  rpm: limit,
  tpm: limit,
  max_concurrent: limit,
  models: z.array(z.string().min(1, { error: 'model names must not be empty' }), { error: 'must be a list of model names, or null for every model' }).nullable().optional(),
  metadata: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }).optional(),
};

const name = z.string({ error: (issue) => (issue.input === undefined ? undefined : 'must be a string') }).trim().min(1, { error: 'must not be empty' }).max(200, { error: 'must be at most 200 characters' });
const expiresAt = z.union([z.number(), z.string(), z.null()], { error: 'must be unix seconds, an ISO 8601 date, or null' }).optional();

export const createTeamSchema = z.strictObject({ name, ...limitFields });
export const updateTeamSchema = z.strictObject({ name: name.optional(), ...limitFields });
export const createKeySchema = z.strictObject({ name: name.nullable().optional(), team_id: z.string().min(1).nullable().optional(), expires_at: expiresAt, ...limitFields });
export const updateKeySchema = createKeySchema;

/** Validates a JSON body: 400 naming the field at fault, including fields the API does not know. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const object = requireObject(body ?? {});
  const result = schema.safeParse(object);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const param = formatPath([...issue.path, issue.keys[0]]);
    throw new GatewayError('invalid_request', `Unknown field '${param}'.`, { param, code: 'unknown_field' });
  }
  return parseOrThrow(schema, object);
}

/** Unix seconds or an ISO 8601 date to epoch ms. */
export function toEpochMs(value: number | string | null | undefined): number | null | undefined {
  if (value === null || value === undefined) return value;
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(value);
  if (!Number.isFinite(ms)) throw new GatewayError('invalid_request', `expires_at: '${value}' is not unix seconds or an ISO 8601 date.`, { param: 'expires_at', code: 'invalid_value' });
  return Math.round(ms);
}

type LimitInput = { [K in keyof typeof limitFields]?: z.infer<(typeof limitFields)[K]> };

/** Body field names to record field names; fields left out stay undefined (unchanged by a patch). */
export function limitPatch(body: LimitInput): Partial<LimitFields> & { metadata?: Record<string, unknown> } {
  return { rpm: body.rpm, tpm: body.tpm, maxConcurrent: body.max_concurrent, models: body.models, metadata: body.metadata };
}

export function teamPatch(body: z.infer<typeof updateTeamSchema>): TeamPatch {
  return { name: body.name, ...limitPatch(body) };
}

export function keyPatch(body: z.infer<typeof updateKeySchema>): KeyPatch {
  return { name: body.name, teamId: body.team_id, expiresAt: toEpochMs(body.expires_at), ...limitPatch(body) };
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

export function teamView(t: TeamRecord) {
  return {
    object: 'team',
    id: t.id,
    name: t.name,
    rpm: t.rpm,
    tpm: t.tpm,
    max_concurrent: t.maxConcurrent,
    models: t.models,
    metadata: t.metadata,
    created_at: seconds(t.createdAt),
    updated_at: seconds(t.updatedAt),
  };
}

export function keyStatus(k: KeyRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && now >= k.expiresAt) return 'expired';
  return 'active';
}

export function keyView(k: KeyRecord, now: number = Date.now()) {
  return {
    object: 'api_key',
    id: k.id,
    name: k.name,
    team_id: k.teamId,
    key_prefix: k.keyPrefix,
    status: keyStatus(k, now),
    rpm: k.rpm,
    tpm: k.tpm,
    max_concurrent: k.maxConcurrent,
    models: k.models,
    metadata: k.metadata,
    expires_at: seconds(k.expiresAt),
    revoked_at: seconds(k.revokedAt),
    created_at: seconds(k.createdAt),
    updated_at: seconds(k.updatedAt),
    last_used_at: seconds(k.lastUsedAt),
  };
}
