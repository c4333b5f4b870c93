// Request priorities: lower runs first when requests queue for a model.

import { GatewayError } from './errors.ts';

/** The most urgent and the least urgent priority; batch work runs at the least. */
export const HIGHEST_PRIORITY = 0;
export const LOWEST_PRIORITY = 9;
export const DEFAULT_PRIORITY = 5;
const NAMED_PRIORITIES: Record<string, number> = { critical: HIGHEST_PRIORITY, high: 2, normal: DEFAULT_PRIORITY, low: 8, batch: LOWEST_PRIORITY };

/** `x-switchyard-priority`: 0 (most urgent) to 9, or critical / high / normal / low / batch. */
export function parsePriority(header: string | string[]): number {
  const value = (Array.isArray(header) ? header[0] : header).trim().toLowerCase();
  if (value in NAMED_PRIORITIES) return NAMED_PRIORITIES[value];
  const n = Number(value);
  if (value !== '' && Number.isInteger(n) && n >= HIGHEST_PRIORITY && n <= LOWEST_PRIORITY) return n;
  throw new GatewayError('invalid_request', `x-switchyard-priority must be an integer 0-9 or one of ${Object.keys(NAMED_PRIORITIES).join(', ')}; got "${value}".`, {
    param: 'x-switchyard-priority',
    code: 'invalid_priority',
  });
}
