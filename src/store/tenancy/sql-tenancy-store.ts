// The tenancy store, written once over the portable SQL client: the same code runs on SQLite
// and PostgreSQL. Limits and allowlists are plain columns; models and metadata are JSON in TEXT.

import type { SqlClient, SqlValue } from '../sql.ts';
import { newId } from '../../tenancy/secrets.ts';
import {
  DuplicateTeamNameError,
  UnknownTeamError,
  type KeyPatch,
  type KeyRecord,
  type NewKey,
  type NewTeam,
  type TeamPatch,
  type TeamRecord,
  type TenancyStore,
} from '../../tenancy/types.ts';

type TeamRow = {
  id: string;
  name: string;
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  models: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
};

type KeyRow = Omit<TeamRow, 'name'> & {
  name: string | null;
  team_id: string | null;
  key_hash: string;
  key_prefix: string;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
};

const num = (v: number | null): number | null => (v === null ? null : Number(v));

/** The columns teams and keys share. */
function common(r: Omit<TeamRow, 'id' | 'name'>) {
  return {
    rpm: num(r.rpm),
    tpm: num(r.tpm),
    maxConcurrent: num(r.max_concurrent),
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toTeam(r: TeamRow): TeamRecord {
  return { id: r.id, name: r.name, ...common(r) };
}

function toKey(r: KeyRow): KeyRecord {
  return {
    id: r.id,
    name: r.name,
    teamId: r.team_id,
    keyHash: r.key_hash,
    keyPrefix: r.key_prefix,
    ...common(r),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    lastUsedAt: num(r.last_used_at),
  };
}

/** How each patchable field is written: its column and its encoding. */
const COLUMNS: Record<string, { column: string; encode?: (v: unknown) => SqlValue }> = {
  name: { column: 'name' },
  teamId: { column: 'team_id' },
  rpm: { column: 'rpm' },
  tpm: { column: 'tpm' },
  maxConcurrent: { column: 'max_concurrent' },
  models: { column: 'models', encode: (v) => (v === null ? null : JSON.stringify(v)) },
  metadata: { column: 'metadata', encode: (v) => JSON.stringify(v ?? {}) },
  expiresAt: { column: 'expires_at' },
};

function setClause(patch: Record<string, unknown>, now: number): { sql: string; params: SqlValue[] } {
  const parts = ['updated_at = ?'];
  const params: SqlValue[] = [now];
  for (const [field, value] of Object.entries(patch)) {
    const col = COLUMNS[field];
    if (!col || value === undefined) continue;
    parts.push(`${col.column} = ?`);
    params.push(col.encode ? col.encode(value) : (value as SqlValue));
  }
  return { sql: parts.join(', '), params };
}

/** Unique and foreign-key violations, told apart the same way on both backends. */
function constraint(err: unknown): 'unique' | 'foreign_key' | undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') return 'unique';
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') return 'foreign_key';
  return undefined;
}

export class SqlTenancyStore implements TenancyStore {
  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => number = Date.now,
  ) {}

  async createTeam(team: NewTeam): Promise<TeamRecord> {
    const now = this.now();
    try {
      const rows = await this.sql.query<TeamRow>(
        'INSERT INTO teams (id, name, rpm, tpm, max_concurrent, models, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
        [newId('team'), team.name, team.rpm ?? null, team.tpm ?? null, team.maxConcurrent ?? null, team.models ? JSON.stringify(team.models) : null, JSON.stringify(team.metadata ?? {}), now, now],
      );
      return toTeam(rows[0]);
    } catch (err) {
      if (constraint(err) === 'unique') throw new DuplicateTeamNameError(team.name);
      throw err;
    }
  }

  async getTeam(id: string): Promise<TeamRecord | undefined> {
    const [row] = await this.sql.query<TeamRow>('SELECT * FROM teams WHERE id = ?', [id]);
    return row && toTeam(row);
  }

  async getTeamByName(name: string): Promise<TeamRecord | undefined> {
    const [row] = await this.sql.query<TeamRow>('SELECT * FROM teams WHERE name = ?', [name]);
    return row && toTeam(row);
  }

  async listTeams(): Promise<TeamRecord[]> {
    return (await this.sql.query<TeamRow>('SELECT * FROM teams ORDER BY created_at, id')).map(toTeam);
  }

  async updateTeam(id: string, patch: TeamPatch): Promise<TeamRecord | undefined> {
    const set = setClause(patch, this.now());
    try {
      const [row] = await this.sql.query<TeamRow>(`UPDATE teams SET ${set.sql} WHERE id = ? RETURNING *`, [...set.params, id]);
      return row && toTeam(row);
    } catch (err) {
      if (constraint(err) === 'unique' && patch.name !== undefined) throw new DuplicateTeamNameError(patch.name);
      throw err;
    }
  }

  async deleteTeam(id: string): Promise<'deleted' | 'not_found' | 'has_keys'> {
    // One statement, so a key revoked or added meanwhile cannot slip between a check and the delete.
    const deleted = await this.sql.run(
      'DELETE FROM teams WHERE id = ? AND NOT EXISTS (SELECT 1 FROM api_keys WHERE team_id = ? AND revoked_at IS NULL)',
      [id, id],
    );
    if (deleted === 1) return 'deleted';
    return (await this.getTeam(id)) ? 'has_keys' : 'not_found';
  }

  async createKey(key: NewKey): Promise<KeyRecord> {
    const now = this.now();
    try {
      const rows = await this.sql.query<KeyRow>(
        `INSERT INTO api_keys (id, name, team_id, key_hash, key_prefix, rpm, tpm, max_concurrent, models, metadata, expires_at, revoked_at, created_at, updated_at, last_used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL) RETURNING *`,
        [
          newId('key'),
          key.name ?? null,
          key.teamId ?? null,
          key.keyHash,
          key.keyPrefix,
          key.rpm ?? null,
          key.tpm ?? null,
          key.maxConcurrent ?? null,
          key.models ? JSON.stringify(key.models) : null,
          JSON.stringify(key.metadata ?? {}),
          key.expiresAt ?? null,
          now,
          now,
        ],
      );
      return toKey(rows[0]);
    } catch (err) {
      if (constraint(err) === 'foreign_key' && key.teamId) throw new UnknownTeamError(key.teamId);
      throw err;
    }
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const [row] = await this.sql.query<KeyRow>('SELECT * FROM api_keys WHERE id = ?', [id]);
    return row && toKey(row);
  }

  async findKeyByHash(keyHash: string): Promise<KeyRecord | undefined> {
    const [row] = await this.sql.query<KeyRow>('SELECT * FROM api_keys WHERE key_hash = ?', [keyHash]);
    return row && toKey(row);
  }

  async listKeys(filter: { teamId?: string } = {}): Promise<KeyRecord[]> {
    const rows = filter.teamId
      ? await this.sql.query<KeyRow>('SELECT * FROM api_keys WHERE team_id = ? ORDER BY created_at, id', [filter.teamId])
      : await this.sql.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map(toKey);
  }

  async updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined> {
    const set = setClause(patch, this.now());
    try {
      const [row] = await this.sql.query<KeyRow>(`UPDATE api_keys SET ${set.sql} WHERE id = ? RETURNING *`, [...set.params, id]);
      return row && toKey(row);
    } catch (err) {
      if (constraint(err) === 'foreign_key' && patch.teamId) throw new UnknownTeamError(patch.teamId);
      throw err;
    }
  }

  async revokeKey(id: string, at: number = this.now()): Promise<KeyRecord | undefined> {
    const [row] = await this.sql.query<KeyRow>(
      'UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?), updated_at = ? WHERE id = ? RETURNING *',
      [at, at, id],
    );
    return row && toKey(row);
  }

  async touchKeys(ids: readonly string[], at: number): Promise<void> {
    for (const id of ids) {
      await this.sql.run('UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [at, id, at]);
    }
  }
}
