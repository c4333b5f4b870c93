// The dead-letter queue: requests and webhook deliveries the gateway gave up on, kept with the
// last error and the attempt history until someone replays or purges them.

import type { SqlClient, SqlExecutor, SqlValue } from '../sql.ts';
import type { DeadLetterStore } from '../../batch/ports.ts';
import type { Attempt, DeadLetter, DeadLetterFilter, DeadLetterKind, NewDeadLetter } from '../../batch/types.ts';

const COLUMNS = 'id, kind, batch_id, item_id, custom_id, model, webhook, owner_key_id, error_code, error_message, status_code, attempts, history, payload, created_ms, replayed_ms, replay_count';

export async function insertDeadLetter(tx: SqlExecutor, d: NewDeadLetter): Promise<void> {
  const history = d.history;
  const replays = history.filter((a) => a.replayed);
  await tx.run(
    `INSERT INTO dlq_entries (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [d.id, d.kind, d.batchId, d.itemId, d.customId, d.model, d.webhook, d.ownerKeyId, d.errorCode, d.errorMessage, d.statusCode, d.attempts,
      JSON.stringify(history), d.payload, d.createdMs, replays.at(-1)?.at ?? null, replays.length],
  );
}

function toDeadLetter(r: Record<string, unknown>): DeadLetter {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(r.id),
    kind: r.kind as DeadLetterKind,
    batchId: str(r.batch_id),
    itemId: str(r.item_id),
    customId: str(r.custom_id),
    model: str(r.model),
    webhook: str(r.webhook),
    ownerKeyId: str(r.owner_key_id),
    errorCode: String(r.error_code),
    errorMessage: String(r.error_message),
    statusCode: r.status_code === null ? null : Number(r.status_code),
    attempts: Number(r.attempts),
    history: JSON.parse(String(r.history)) as Attempt[],
    payload: String(r.payload),
    createdMs: Number(r.created_ms),
    replayedMs: r.replayed_ms === null ? null : Number(r.replayed_ms),
    replayCount: Number(r.replay_count),
  };
}

function whereOf(filter: DeadLetterFilter): { clause: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    parts.push(`${column} = ?`);
    params.push(value);
  };
  add('kind', filter.kind);
  add('batch_id', filter.batchId);
  add('model', filter.model);
  add('error_code', filter.errorCode);
  return { clause: parts.join(' AND '), params };
}

export class SqlDeadLetterStore implements DeadLetterStore {
  constructor(private readonly sql: SqlClient) {}

  insert(d: NewDeadLetter): Promise<void> {
    return insertDeadLetter(this.sql, d);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const [row] = await this.sql.query(`SELECT ${COLUMNS} FROM dlq_entries WHERE id = ?`, [id]);
    return row ? toDeadLetter(row) : undefined;
  }

  /** Newest first; `after` is the last id of the previous page. */
  async list(filter: DeadLetterFilter, after: string | undefined, limit: number): Promise<DeadLetter[]> {
    const { clause, params } = whereOf(filter);
    const parts = clause ? [clause] : [];
    if (after) {
      parts.push('id < ?');
      params.push(after);
    }
    params.push(limit);
    const rows = await this.sql.query(`SELECT ${COLUMNS} FROM dlq_entries ${parts.length ? `WHERE ${parts.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, params);
    return rows.map(toDeadLetter);
  }

  async getMany(ids: readonly string[]): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.sql.query(`SELECT ${COLUMNS} FROM dlq_entries WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      out.push(...rows.map(toDeadLetter));
    }
    return out;
  }

  async deleteIds(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      n += await this.sql.run(`DELETE FROM dlq_entries WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    }
    return n;
  }

  /** Purges by filter; an empty filter purges everything (the caller asks for `all` explicitly). */
  async deleteMatching(filter: DeadLetterFilter): Promise<number> {
    const { clause, params } = whereOf(filter);
    return this.sql.run(`DELETE FROM dlq_entries ${clause ? `WHERE ${clause}` : ''}`, params);
  }
}
