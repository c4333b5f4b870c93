// The FinOps stores over one SqlClient (SQLite or PostgreSQL, whichever openStore chose).

import type { SqlClient } from '../sql.ts';
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
  return { ledger: new SqlUsageLedger(sql), budgets: new SqlBudgetRepository(sql), alerts: new SqlAlertLog(sql) };
}

export { SqlUsageLedger, SqlBudgetRepository, SqlAlertLog };
