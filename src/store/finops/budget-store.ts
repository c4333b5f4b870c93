// Budget definitions over the portable SqlClient. Read by every replica's BudgetGuard on a short
// refresh, written by the admin API (source 'api') and by start-up config sync (source 'config').

import type { SqlClient, SqlExecutor } from '../sql.ts';
import type { Budget, BudgetRepository } from '../../finops/ports.ts';
import type { BudgetPeriod, BudgetScope } from '../../finops/config.ts';

interface BudgetRow {
  id: string;
  name: string | null;
  scope: string;
  scope_id: string | null;
  period: string;
  limit_usd: number;
  thresholds: string | null;
  source: string;
  created_at: number;
  [k: string]: unknown;
}

function fromRow(r: BudgetRow): Budget {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope as BudgetScope,
    scopeId: r.scope_id,
    period: r.period as BudgetPeriod,
    limitUsd: Number(r.limit_usd),
    thresholds: r.thresholds === null ? null : (JSON.parse(r.thresholds) as number[]),
    source: r.source === 'config' ? 'config' : 'api',
    createdAt: Number(r.created_at),
  };
}

const SELECT = 'SELECT id, name, scope, scope_id, period, limit_usd, thresholds, source, created_at FROM budgets';

async function insert(db: SqlExecutor, b: Budget, conflict: string): Promise<number> {
  return db.run(
    'INSERT INTO budgets (id, name, scope, scope_id, period, limit_usd, thresholds, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' + conflict,
    [b.id, b.name, b.scope, b.scopeId, b.period, b.limitUsd, b.thresholds === null ? null : JSON.stringify(b.thresholds), b.source, b.createdAt],
  );
}

export class SqlBudgetRepository implements BudgetRepository {
  constructor(private readonly sql: SqlClient) {}

  async list(): Promise<Budget[]> {
    return (await this.sql.query<BudgetRow>(`${SELECT} ORDER BY created_at, id`)).map(fromRow);
  }

  async get(id: string): Promise<Budget | undefined> {
    const [row] = await this.sql.query<BudgetRow>(`${SELECT} WHERE id = ?`, [id]);
    return row ? fromRow(row) : undefined;
  }

  async create(budget: Budget): Promise<boolean> {
    return (await insert(this.sql, budget, 'ON CONFLICT (id) DO NOTHING')) === 1;
  }

  async delete(id: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM budget_alerts WHERE budget_id = ?', [id]);
      return (await tx.run('DELETE FROM budgets WHERE id = ?', [id])) > 0;
    });
  }

  async syncConfigBudgets(budgets: readonly Budget[]): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const existing = await tx.query<{ id: string; source: string }>("SELECT id, source FROM budgets WHERE source = 'config'");
      const wanted = new Set(budgets.map((b) => b.id));
      for (const row of existing) if (!wanted.has(row.id)) await tx.run('DELETE FROM budgets WHERE id = ?', [row.id]);
      for (const b of budgets) {
        // A config budget takes over an id the API created earlier: config is the source of truth.
        await insert(
          tx,
          { ...b, source: 'config' },
          'ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope, scope_id = excluded.scope_id, ' +
            'period = excluded.period, limit_usd = excluded.limit_usd, thresholds = excluded.thresholds, source = excluded.source',
        );
      }
    });
  }
}
