import type { z } from 'zod';
import { GatewayError } from './errors.ts';
import { formatPath } from '../util/format-path.ts';

/** Parses with a zod schema; the first issue becomes a 400 naming the field at fault. */
export function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = formatPath(issue.path);
  let message: string;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) message = `${param} is required`;
  else if (param && !issue.message.startsWith(param)) message = `${param}: ${issue.message}`;
  else message = issue.message;
  throw new GatewayError('invalid_request', message, { param: param || null, code: 'invalid_value' });
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.', { code: 'invalid_json' });
  }
  return body as Record<string, unknown>;
}
