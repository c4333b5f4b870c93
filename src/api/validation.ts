import type { z } from 'zod';
import { GatewayError } from './errors.ts';
import { formatPath } from '../util/format-path.ts';

type Issue = z.core.$ZodIssue;

/**
 * The issue to report for a failed union. When exactly one option got past the value's own type
 * and failed on a field inside one of its members (`content[0].image_url`, `function.name`), that
 * issue names what to fix; a failure at the value or at a member itself (`prompt[0]` is a number)
 * keeps the union's issue, whose message says what the union accepts.
 */
function precise(issue: Issue): Issue {
  if (issue.code !== 'invalid_union') return issue;
  const matching = issue.errors.filter((errors) => errors.length > 0 && !(errors[0].code === 'invalid_type' && errors[0].path.length === 0));
  if (matching.length !== 1) return issue;
  const inner = precise(matching[0][0]);
  if (inner.path.length < 2 && inner.code !== 'invalid_union') return issue;
  return { ...inner, path: [...issue.path, ...inner.path] };
}

/** Parses with a zod schema; the first issue becomes a 400 naming the field at fault. */
export function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = precise(result.error.issues[0]);
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
