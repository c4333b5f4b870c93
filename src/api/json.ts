// Client JSON bodies are parsed here and nowhere else.

import { GatewayError } from './errors.ts';

/** Nesting beyond this is refused: no request needs it, and recursive code (JSON.stringify) would overflow on it. */
export const MAX_JSON_DEPTH = 64;

function tooDeep(value: unknown, levelsLeft: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levelsLeft === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (tooDeep(value[i], levelsLeft - 1)) return true;
    return false;
  }
  for (const key in value) if (tooDeep((value as Record<string, unknown>)[key], levelsLeft - 1)) return true;
  return false;
}

/** Parses a JSON body: a 400 naming the problem when it is not JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJson(raw: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    const detail = raw.length === 0 ? 'the body is empty' : (err as Error).message;
    throw new GatewayError('invalid_request', `The request body is not valid JSON (${detail}).`, { code: 'invalid_json' });
  }
  if (tooDeep(value, MAX_JSON_DEPTH)) {
    throw new GatewayError('invalid_request', `The request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; flatten it.`, { code: 'json_too_deep' });
  }
  return value;
}
