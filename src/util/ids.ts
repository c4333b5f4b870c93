// Ids that sort by creation time (12 hex digits of epoch ms, then 64 random bits): list pagination
// becomes a plain `id < cursor`, and inserts land at the end of a B-tree index instead of on a
// random page of it.

import { randomBytes } from 'node:crypto';

export function timeSortableId(prefix: string, nowMs = Date.now()): string {
  return `${prefix}${nowMs.toString(16).padStart(12, '0')}${randomBytes(8).toString('hex')}`;
}
