// The FinOps stores over one SqlClient (SQLite or PostgreSQL, whichever openStore chose).

import type { SqlClient } from '../sql.ts';
import { SqliteClient } from '../sqlite-client.ts';
import type { AlertLog, BudgetRepository, UsageLedger } from '../../finops/ports.ts';
import { SqlUsageLedger } from './ledger-store.ts';
import { SqlBudgetRepository } from './budget-store.ts';
import { SqlAlertLog } from './alert-store.ts';

export interface FinopsStores {
  ledger: UsageLedger;
  budgets: BudgetRepository;
  alerts: AlertLog;
}

export function finopsStores(sql: SqlClient): FinopsStores {
  // SQLite's driver is synchronous: the ledger's batches go to its writer thread, off the event loop.
  const writer = sql instanceof SqliteClient ? sql.backgroundWriter() : undefined;
  const ledger = new SqlUsageLedger(sql, writer ? (writes) => writer.transaction(writes) : undefined);
  return { ledger, budgets: new SqlBudgetRepository(sql), alerts: new SqlAlertLog(sql) };
}

export { SqlUsageLedger, SqlBudgetRepository, SqlAlertLog };
