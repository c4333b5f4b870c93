// Teams and virtual keys as tenancy sees them, and the store interface tenancy owns (implemented
// once over the portable SQL client in src/store/tenancy/). Times are epoch milliseconds.

/** Limits and model allowlist shared by keys and teams; null means "no limit" / "every model". */
export interface LimitFields {
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  models: string[] | null;
}

export type Metadata = Record<string, unknown>;

export interface TeamRecord extends LimitFields {
  id: string;
  name: string;
  metadata: Metadata;
  createdAt: number;
  updatedAt: number;
}

export interface KeyRecord extends LimitFields {
  id: string;
  name: string | null;
  teamId: string | null;
  /** SHA-256 hex of the secret; the secret itself is never stored. */
  keyHash: string;
  /** The first characters of the secret, for telling keys apart in listings. */
  keyPrefix: string;
  metadata: Metadata;
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

export type NewTeam = Pick<TeamRecord, 'name'> & Partial<LimitFields> & { metadata?: Metadata };
export type TeamPatch = Partial<Pick<TeamRecord, 'name' | 'metadata'> & LimitFields>;

export type NewKey = Pick<KeyRecord, 'keyHash' | 'keyPrefix'> &
  Partial<LimitFields> & { name?: string | null; teamId?: string | null; metadata?: Metadata; expiresAt?: number | null };
export type KeyPatch = Partial<Pick<KeyRecord, 'name' | 'teamId' | 'metadata' | 'expiresAt'> & LimitFields>;

/** A team name that is already taken (the admin API answers 409). */
export class DuplicateTeamNameError extends Error {
  constructor(readonly teamName: string) {
    super(`a team named "${teamName}" already exists`);
    this.name = 'DuplicateTeamNameError';
  }
}

/** A key names a team that does not exist (the admin API answers 400 on team_id). */
export class UnknownTeamError extends Error {
  constructor(readonly teamId: string) {
    super(`no team with id "${teamId}"`);
    this.name = 'UnknownTeamError';
  }
}

export interface TenancyStore {
  createTeam(team: NewTeam): Promise<TeamRecord>;
  getTeam(id: string): Promise<TeamRecord | undefined>;
  getTeamByName(name: string): Promise<TeamRecord | undefined>;
  listTeams(): Promise<TeamRecord[]>;
  updateTeam(id: string, patch: TeamPatch): Promise<TeamRecord | undefined>;
  /**
   * Deletes a team that has no unrevoked keys ('deleted'); revoked keys keep working as history
   * with team_id cleared. 'has_keys' when active keys still belong to it.
   */
  deleteTeam(id: string): Promise<'deleted' | 'not_found' | 'has_keys'>;

  createKey(key: NewKey): Promise<KeyRecord>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  findKeyByHash(keyHash: string): Promise<KeyRecord | undefined>;
  listKeys(filter?: { teamId?: string }): Promise<KeyRecord[]>;
  updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined>;
  /** Sets revoked_at (the first revocation time is kept); undefined for an unknown id. */
  revokeKey(id: string, at?: number): Promise<KeyRecord | undefined>;
  /** Records when keys were last used (written in batches, off the request path). */
  touchKeys(ids: readonly string[], at: number): Promise<void>;
}
