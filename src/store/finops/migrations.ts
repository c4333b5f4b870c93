// FinOps tables (versions 200-299): usage ledger, budgets, alert firings, webhook deliveries,
// digest claims. Portable SQL only (see ../sql.ts). Append only.

import type { Migration } from '../migrations.ts';

export const FINOPS_MIGRATIONS: Migration[] = [
  {
    version: 200,
    name: 'finops usage ledger',
    sql: `CREATE TABLE usage_records (
      id TEXT PRIMARY KEY,
      ts_ms BIGINT NOT NULL,
      request_id TEXT NOT NULL,
      key_id TEXT,
      team_id TEXT,
      model TEXT NOT NULL,
      deployment TEXT,
      endpoint TEXT NOT NULL,
      prompt_tokens BIGINT NOT NULL,
      cached_tokens BIGINT NOT NULL,
      cache_creation_tokens BIGINT NOT NULL,
      completion_tokens BIGINT NOT NULL,
      status BIGINT NOT NULL,
      error_code TEXT,
      latency_ms BIGINT NOT NULL,
      ttft_ms BIGINT,
      cost_usd DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX usage_records_ts ON usage_records (ts_ms);
    CREATE INDEX usage_records_key_ts ON usage_records (key_id, ts_ms);
    CREATE INDEX usage_records_team_ts ON usage_records (team_id, ts_ms);
    CREATE INDEX usage_records_deployment_ts ON usage_records (deployment, ts_ms)`,
  },
  {
    version: 201,
    name: 'finops budgets and alerts',
    sql: `CREATE TABLE budgets (
      id TEXT PRIMARY KEY,
      name TEXT,
      scope TEXT NOT NULL,
      scope_id TEXT,
      period TEXT NOT NULL,
      limit_usd DOUBLE PRECISION NOT NULL,
      thresholds TEXT,
      source TEXT NOT NULL,
      created_at BIGINT NOT NULL
    );
    CREATE TABLE budget_alerts (
      budget_id TEXT NOT NULL,
      period_start BIGINT NOT NULL,
      threshold BIGINT NOT NULL,
      spent_usd DOUBLE PRECISION NOT NULL,
      limit_usd DOUBLE PRECISION NOT NULL,
      fired_at BIGINT NOT NULL,
      PRIMARY KEY (budget_id, period_start, threshold)
    );
    CREATE TABLE webhook_deliveries (
      id TEXT PRIMARY KEY,
      delivery_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      webhook TEXT NOT NULL,
      attempt BIGINT NOT NULL,
      status_code BIGINT,
      error TEXT,
      outcome TEXT NOT NULL,
      at_ms BIGINT NOT NULL,
      duration_ms BIGINT NOT NULL
    );
    CREATE INDEX webhook_deliveries_delivery ON webhook_deliveries (delivery_id);
    CREATE TABLE spend_digests (
      day TEXT PRIMARY KEY,
      claimed_at BIGINT NOT NULL
    )`,
  },
  {
    version: 202,
    name: 'finops ledger records what each request reserved',
    // NULL: no budget applied (or a record written before this column existed).
    sql: `ALTER TABLE usage_records ADD COLUMN reserved_usd DOUBLE PRECISION`,
  },
];
