// One ordered list of schema migrations shared by SQLite and PostgreSQL (portable SQL, see sql.ts).
// Append only: a released migration never changes; a new need is a new version. Capabilities own
// version ranges so they can add migrations independently: core 1-99, tenancy 100-199,
// finops 200-299, batch 300-399.

import { TENANCY_MIGRATIONS } from './tenancy/migrations.ts';
import { FINOPS_MIGRATIONS } from './finops/migrations.ts';
import { BATCH_MIGRATIONS } from './batch/migrations.ts';

export interface Migration {
  version: number;
  name: string;
  /** Statements separated by `;` at line ends. */
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'instance metadata',
    sql: `CREATE TABLE IF NOT EXISTS switchyard_meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`,
  },
  ...TENANCY_MIGRATIONS,
  ...FINOPS_MIGRATIONS,
  ...BATCH_MIGRATIONS,
];
