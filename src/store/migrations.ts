// One ordered list of schema migrations shared by every store backend. Append only: a released
// migration never changes; a new need is a new version.

export interface Migration {
  version: number;
  name: string;
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
];
