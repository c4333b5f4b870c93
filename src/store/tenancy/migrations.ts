// Tenancy schema (versions 100-199): teams and virtual API keys. Portable SQL (see ../sql.ts):
// epoch-ms BIGINT times, JSON in TEXT, ids generated in code. Only a key's SHA-256 hash is stored,
// never the secret.

import type { Migration } from '../migrations.ts';

export const TENANCY_MIGRATIONS: Migration[] = [
  {
    version: 100,
    name: 'tenancy: teams and api keys',
    sql: `CREATE TABLE teams (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      rpm BIGINT,
      tpm BIGINT,
      max_concurrent BIGINT,
      models TEXT,
      metadata TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    );
    CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      name TEXT,
      team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
      key_hash TEXT NOT NULL UNIQUE,
      key_prefix TEXT NOT NULL,
      rpm BIGINT,
      tpm BIGINT,
      max_concurrent BIGINT,
      models TEXT,
      metadata TEXT NOT NULL,
      expires_at BIGINT,
      revoked_at BIGINT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      last_used_at BIGINT
    );
    CREATE INDEX api_keys_team_id ON api_keys (team_id)`,
  },
];
