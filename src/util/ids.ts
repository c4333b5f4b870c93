// Ids that sort by creation time (12 hex digits of epoch ms, then 64 random bits): list pagination
// becomes a plain `id < cursor`, and inserts land at the end of a B-tree index instead of on a
// random page of it.

import { randomFillSync } from 'node:crypto';

// Random bytes drawn in bulk, one crypto call per 512 ids: a usage record is written for every
// request, so an id is on the hot path.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

function randomHex8(): string {
  if (offset + 8 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + 8);
  offset += 8;
  return hex;
}

export function timeSortableId(prefix: string, nowMs = Date.now()): string {
  return `${prefix}${nowMs.toString(16).padStart(12, '0')}${randomHex8()}`;
}
