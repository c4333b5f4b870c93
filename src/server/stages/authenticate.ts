import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../../api/errors.ts';
import type { Stage } from '../context.ts';

function presentedKey(headers: Record<string, string | string[] | undefined>, edge: 'openai' | 'anthropic'): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7).trim();
  if (edge === 'anthropic' && typeof headers['x-api-key'] === 'string') return headers['x-api-key'];
  return undefined;
}

function sameSecret(a: string, b: Buffer): boolean {
  const candidate = Buffer.from(a);
  return candidate.length === b.length && timingSafeEqual(candidate, b);
}

/** With a master key configured, every /v1 request must present it. Without one, the gateway is loopback-only. */
export function authenticate(masterKey: string | undefined): Stage {
  const expected = masterKey ? Buffer.from(masterKey) : undefined;
  return async (ctx, next) => {
    if (expected) {
      const key = presentedKey(ctx.headers, ctx.edge.name);
      if (key === undefined) {
        const how = ctx.edge.name === 'anthropic' ? 'an x-api-key header or Authorization: Bearer <key>' : 'an Authorization: Bearer <key> header';
        throw new GatewayError('authentication', `Missing API key: send ${how}.`, { code: 'missing_api_key' });
      }
      if (!sameSecret(key, expected)) throw new GatewayError('authentication', 'Invalid API key.', { code: 'invalid_api_key' });
    }
    await next();
  };
}
