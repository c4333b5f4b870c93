// The usage ledger over the portable SqlClient. Writes come only from the UsageRecorder's batches
// (never one INSERT per request: a per-request write path is what saturates other gateways' DB).

import type { SqlClient, SqlExecutor, SqlValue } from '../sql.ts';
import type { SqlWrite } from '../sqlite-background-writer.ts';
import type { GroupBy, SpendRow, SpendScope, UsageLedger, UsageRecord } from '../../finops/ports.ts';

const COLUMNS = [
  'id', 'ts_ms', 'request_id', 'key_id', 'team_id', 'model', 'deployment', 'endpoint',
  'prompt_tokens', 'cached_tokens', 'cache_creation_tokens', 'completion_tokens',
  'status', 'error_code', 'latency_ms', 'ttft_ms', 'cost_usd', 'reserved_usd',
] as const;

/**
 * Rows per INSERT statement, largest first: a batch is cut greedily into these sizes, so only five
 * statement texts exist and each is prepared once (any batch size would otherwise mean a new
 * statement to compile). 18 columns x 400 stays far below SQLite's and PostgreSQL's parameter caps.
 */
const STATEMENT_ROWS = [400, 100, 25, 5, 1] as const;

const ROW_PLACEHOLDER = `(${COLUMNS.map(() => '?').join(', ')})`;
const INSERTS = new Map(
  STATEMENT_ROWS.map((rows) => [rows, `INSERT INTO usage_records (${COLUMNS.join(', ')}) VALUES ${Array(rows).fill(ROW_PLACEHOLDER).join(', ')} ON CONFLICT (id) DO NOTHING`]),
);

function insertStatements(records: readonly UsageRecord[]): SqlWrite[] {
  const writes: SqlWrite[] = [];
  let i = 0;
  for (const rows of STATEMENT_ROWS) {
    for (; records.length - i >= rows; i += rows) writes.push({ sql: INSERTS.get(rows)!, params: records.slice(i, i + rows).flatMap(values) });
  }
  return writes;
}

/** Runs writes in one transaction elsewhere than the event loop (SQLite's writer thread). */
export type BackgroundTransaction = (writes: readonly SqlWrite[]) => Promise<void>;

function values(r: UsageRecord): SqlValue[] {
  return [
    r.id, Math.round(r.time), r.requestId, r.keyId, r.teamId, r.model, r.deployment, r.endpoint,
    r.promptTokens, r.cachedTokens, r.cacheCreationTokens, r.completionTokens,
    r.status, r.errorCode, Math.round(r.latencyMs), r.ttftMs === null ? null : Math.round(r.ttftMs), r.costUsd, r.reservedUsd,
  ];
}

const TOTALS = `COUNT(*) AS requests,
  COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
  COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
  COALESCE(SUM(cache_creation_tokens), 0) AS cache_creation_tokens,
  COALESCE(SUM(completion_tokens), 0) AS completion_tokens,
  COALESCE(SUM(cost_usd), 0) AS cost_usd`;

// Integer division by a literal buckets epoch ms into UTC days on both backends.
const GROUP_EXPR: Record<GroupBy, string> = {
  team: 'team_id',
  key: 'key_id',
  model: 'model',
  deployment: 'deployment',
  day: 'ts_ms / 86400000',
};

interface TotalsRow {
  grp: string | number | null;
  requests: number | string;
  prompt_tokens: number | string;
  cached_tokens: number | string;
  cache_creation_tokens: number | string;
  completion_tokens: number | string;
  cost_usd: number | string;
  [k: string]: unknown;
}

function toSpendRow(r: TotalsRow, groupBy: GroupBy): SpendRow {
  let group: string | null = r.grp === null ? null : String(r.grp);
  if (groupBy === 'day' && r.grp !== null) group = new Date(Number(r.grp) * 86_400_000).toISOString().slice(0, 10);
  return {
    group,
    requests: Number(r.requests),
    promptTokens: Number(r.prompt_tokens),
    cachedTokens: Number(r.cached_tokens),
    cacheCreationTokens: Number(r.cache_creation_tokens),
    completionTokens: Number(r.completion_tokens),
    costUsd: Number(r.cost_usd),
  };
}

/**
 * Writes usage records inside the caller's transaction, so a record can commit atomically with
 * the state it accounts for (a batch item's result). Ids are idempotent: a re-written record is skipped.
 */
export async function insertUsageRecords(tx: SqlExecutor, records: readonly UsageRecord[]): Promise<void> {
  for (const w of insertStatements(records)) await tx.run(w.sql, w.params);
}

export class SqlUsageLedger implements UsageLedger {
  constructor(
    private readonly sql: SqlClient,
    /** When given (SQLite on a file), batches are written there; reads stay on `sql`. */
    private readonly background?: BackgroundTransaction,
  ) {}

  async insertBatch(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.background) return this.background(insertStatements(records));
    await this.sql.transaction((tx) => insertUsageRecords(tx, records));
  }

  async spendReport(fromMs: number, toMs: number, groupBy: GroupBy): Promise<SpendRow[]> {
    const expr = GROUP_EXPR[groupBy];
    const order = groupBy === 'day' ? 'grp ASC' : 'cost_usd DESC, requests DESC, grp ASC';
    const rows = await this.sql.query<TotalsRow>(
      `SELECT ${expr} AS grp, ${TOTALS} FROM usage_records WHERE ts_ms >= ? AND ts_ms < ? GROUP BY ${expr} ORDER BY ${order}`,
      [Math.floor(fromMs), Math.ceil(toMs)],
    );
    return rows.map((r) => toSpendRow(r, groupBy));
  }

  async deploymentUsage(fromMs: number, toMs: number, model?: string): Promise<SpendRow[]> {
    const filter = model === undefined ? '' : ' AND model = ?';
    const params: SqlValue[] = [Math.floor(fromMs), Math.ceil(toMs)];
    if (model !== undefined) params.push(model);
    const rows = await this.sql.query<TotalsRow>(
      `SELECT deployment AS grp, ${TOTALS} FROM usage_records WHERE ts_ms >= ? AND ts_ms < ?${filter} GROUP BY deployment ORDER BY deployment`,
      params,
    );
    return rows.map((r) => toSpendRow(r, 'deployment'));
  }

  async spendSince(scope: SpendScope, fromMs: number): Promise<number> {
    let where = 'ts_ms >= ?';
    const params: SqlValue[] = [Math.floor(fromMs)];
    if (scope.keyId !== undefined) {
      where += ' AND key_id = ?';
      params.push(scope.keyId);
    }
    if (scope.teamId !== undefined) {
      where += ' AND team_id = ?';
      params.push(scope.teamId);
    }
    const [row] = await this.sql.query<{ cost: number | string }>(`SELECT COALESCE(SUM(cost_usd), 0) AS cost FROM usage_records WHERE ${where}`, params);
    return Number(row?.cost ?? 0);
  }
}
