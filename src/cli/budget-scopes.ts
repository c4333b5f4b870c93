// Config budgets name what they bind by id (finops.budgets[].scope_id), and teams and keys live in
// the store, not in the file: a budget whose id names neither binds no request, silently. `serve`
// logs each one and starts anyway (a team deleted through the admin API must not make the next
// restart fail); `check-config` reports the same ones, as warnings, from the store it can read.

import type { ConfigProblem } from '../config/load.ts';
import type { ConfigBudget } from '../finops/config.ts';
import type { TenancyStore } from '../tenancy/types.ts';

export type ScopeLookup = Pick<TenancyStore, 'getTeam' | 'getTeamByName' | 'getKey'>;

/** What a store with no teams and no keys answers (a data dir nothing was stored in yet). */
export const EMPTY_SCOPES: ScopeLookup = { getTeam: async () => undefined, getTeamByName: async () => undefined, getKey: async () => undefined };

export async function budgetScopeProblems(budgets: readonly ConfigBudget[], store: ScopeLookup): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const [i, b] of budgets.entries()) {
    if (b.scope === 'global' || b.scope_id === undefined) continue;
    const path = `finops.budgets[${i}].scope_id`;
    if (b.scope === 'team') {
      if (await store.getTeam(b.scope_id)) continue;
      const named = await store.getTeamByName(b.scope_id);
      problems.push({
        path,
        message: named
          ? `"${b.scope_id}" is a team's name; scope_id takes its id: ${named.id}`
          : `no team has the id "${b.scope_id}", so this budget binds no request (switchyard teams list shows the ids)`,
      });
    } else if (!(await store.getKey(b.scope_id))) {
      problems.push({ path, message: `no key has the id "${b.scope_id}", so this budget binds no request (switchyard keys list shows the ids)` });
    }
  }
  return problems;
}
