// Alert firings, digest claims and webhook delivery attempts over the portable SqlClient.
// Once-only sending rests on the primary keys: INSERT ... ON CONFLICT DO NOTHING succeeds for
// exactly one caller, whichever replica it runs on.

import type { SqlClient, SqlValue } from '../sql.ts';
import type { AlertFiring, AlertLog, DeliveryAttempt } from '../../finops/ports.ts';

interface FiringRow {
  budget_id: string;
  period_start: number;
  threshold: number;
  spent_usd: number;
  limit_usd: number;
  fired_at: number;
  [k: string]: unknown;
}

interface DeliveryRow {
  id: string;
  delivery_id: string;
  kind: string;
  webhook: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  outcome: string;
  at_ms: number;
  duration_ms: number;
  [k: string]: unknown;
}

export class SqlAlertLog implements AlertLog {
  constructor(private readonly sql: SqlClient) {}

  async claimFiring(f: AlertFiring): Promise<boolean> {
    const inserted = await this.sql.run(
      'INSERT INTO budget_alerts (budget_id, period_start, threshold, spent_usd, limit_usd, fired_at) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (budget_id, period_start, threshold) DO NOTHING',
      [f.budgetId, f.periodStart, f.threshold, f.spentUsd, f.limitUsd, f.firedAt],
    );
    return inserted === 1;
  }

  async listFirings(budgetId: string, periodStart?: number): Promise<AlertFiring[]> {
    const params: SqlValue[] = [budgetId];
    let where = 'budget_id = ?';
    if (periodStart !== undefined) {
      where += ' AND period_start = ?';
      params.push(periodStart);
    }
    const rows = await this.sql.query<FiringRow>(
      `SELECT budget_id, period_start, threshold, spent_usd, limit_usd, fired_at FROM budget_alerts WHERE ${where} ORDER BY period_start, threshold`,
      params,
    );
    return rows.map((r) => ({
      budgetId: r.budget_id,
      periodStart: Number(r.period_start),
      threshold: Number(r.threshold),
      spentUsd: Number(r.spent_usd),
      limitUsd: Number(r.limit_usd),
      firedAt: Number(r.fired_at),
    }));
  }

  async claimDigest(day: string, at: number): Promise<boolean> {
    return (await this.sql.run('INSERT INTO spend_digests (day, claimed_at) VALUES (?, ?) ON CONFLICT (day) DO NOTHING', [day, at])) === 1;
  }

  async recordDelivery(a: DeliveryAttempt): Promise<void> {
    await this.sql.run(
      'INSERT INTO webhook_deliveries (id, delivery_id, kind, webhook, attempt, status_code, error, outcome, at_ms, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [a.id, a.deliveryId, a.kind, a.webhook, a.attempt, a.statusCode, a.error, a.outcome, a.at, Math.round(a.durationMs)],
    );
  }

  async listDeliveries(deliveryId?: string): Promise<DeliveryAttempt[]> {
    const rows = await this.sql.query<DeliveryRow>(
      'SELECT id, delivery_id, kind, webhook, attempt, status_code, error, outcome, at_ms, duration_ms FROM webhook_deliveries' +
        (deliveryId === undefined ? '' : ' WHERE delivery_id = ?') +
        ' ORDER BY at_ms, attempt',
      deliveryId === undefined ? [] : [deliveryId],
    );
    return rows.map((r) => ({
      id: r.id,
      deliveryId: r.delivery_id,
      kind: r.kind,
      webhook: r.webhook,
      attempt: Number(r.attempt),
      statusCode: r.status_code === null ? null : Number(r.status_code),
      error: r.error,
      outcome: r.outcome as DeliveryAttempt['outcome'],
      at: Number(r.at_ms),
      durationMs: Number(r.duration_ms),
    }));
  }
}
