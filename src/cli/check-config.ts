// `switchyard check-config`: the validation `serve` runs (loadServeConfig: the file, the flags
// and the environment), without starting anything. Problems `serve` would refuse to start with
// exit 1; warnings `serve` would log (budgets naming no team or key in the store) exit 0.

import { deprecationNotes } from '../config/deprecations.ts';
import { ConfigError, formatProblem, type ConfigProblem } from '../config/load.ts';
import type { SwitchyardConfig } from '../config/schema.ts';
import { openStoreReadOnly } from '../store/open.ts';
import { SqlTenancyStore } from '../store/tenancy/sql-tenancy-store.ts';
import { budgetScopeProblems, EMPTY_SCOPES } from './budget-scopes.ts';
import { formatConfigError, loadServeConfig } from './serve-config.ts';

export interface CheckConfigFlags {
  dataDir?: string;
}

/** A store that has never been migrated has no teams or keys yet. */
const isMissingTable = (err: unknown) => /no such table/.test((err as Error).message) || (err as { code?: unknown }).code === '42P01';

type ScopeCheck =
  /** `where`: the store looked in, said along with any warning. */
  | { warnings: ConfigProblem[]; where: string }
  | { unchecked: string };

/** Budget scopes against the store `serve` would open, read-only. */
async function checkStoredScopes(config: SwitchyardConfig, env: NodeJS.ProcessEnv): Promise<ScopeCheck> {
  const budgets = config.finops.budgets;
  if (budgets.every((b) => b.scope === 'global')) return { warnings: [], where: '' };
  const { sql, location } = openStoreReadOnly({ dataDir: config.data_dir, databaseUrl: env.DATABASE_URL });
  if (!sql) return { warnings: await budgetScopeProblems(budgets, EMPTY_SCOPES), where: `the store at ${location} does not exist yet, so it has no teams or keys` };
  try {
    return { warnings: await budgetScopeProblems(budgets, new SqlTenancyStore(sql)), where: `teams and keys were looked up in the store at ${location}` };
  } catch (err) {
    if (isMissingTable(err)) return { warnings: await budgetScopeProblems(budgets, EMPTY_SCOPES), where: `the store at ${location} has no teams or keys yet` };
    return { unchecked: `budget scope ids not checked: cannot read the store at ${location} (${(err as Error).message}); set DATABASE_URL or --data-dir to the store serve uses` };
  } finally {
    await sql.close().catch(() => {});
  }
}

/** Prints the outcome; returns the exit code. */
export async function checkConfig(file: string | undefined, flags: CheckConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let loaded;
  try {
    loaded = await loadServeConfig({ config: file, dataDir: flags.dataDir }, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(formatConfigError(err));
    return 1;
  }
  const { config, source } = loaded;
  const deployments = config.models.reduce((n, m) => n + m.deployments.length, 0);
  process.stdout.write(`${source}: OK (${config.models.length} model(s), ${deployments} deployment(s))\n`);
  for (const note of deprecationNotes(config)) process.stderr.write(`${source}: warning: ${note}\n`);
  const scopes = await checkStoredScopes(config, env);
  if ('unchecked' in scopes) process.stderr.write(`${source}: note: ${scopes.unchecked}\n`);
  else if (scopes.warnings.length > 0) {
    for (const w of scopes.warnings) process.stderr.write(`${source}: warning: ${formatProblem(w)}\n`);
    process.stderr.write(`${source}: note: ${scopes.where}\n`);
  }
  return 0;
}
