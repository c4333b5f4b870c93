// Virtual keys: issuing secrets (stored only as a hash), authenticating them on the hot path from
// a short-lived cache, and making revocations and updates take effect at once on every replica.

import { GatewayError } from '../api/errors.ts';
import type { Principal } from './principal.ts';
import { displayPrefix, generateSecret, hashSecret } from './secrets.ts';
import { IdentityCache, type Identity } from './identity-cache.ts';
import type { Invalidation, InvalidationBus } from './invalidation.ts';
import type { KeyPatch, KeyRecord, NewKey, TeamPatch, TeamRecord, TenancyStore } from './types.ts';

export type { Identity } from './identity-cache.ts';

export interface KeysServiceOptions {
  store: TenancyStore;
  /** Cross-replica evictions (Redis pub/sub); omit for a single gateway. */
  bus?: InvalidationBus;
  /** How long a cached identity is trusted without an eviction; the backstop for a lost message. */
  cacheTtlMs?: number;
  cacheMaxEntries?: number;
  /** How often last_used_at is written (batched, off the request path). */
  touchIntervalMs?: number;
  now?: () => number;
}

export type NewKeyInput = Omit<NewKey, 'keyHash' | 'keyPrefix'>;

/** Default identity cache TTL: how long a replica that missed an eviction may go on accepting a key. */
export const IDENTITY_CACHE_TTL_MS = 5_000;

export class KeysService {
  readonly store: TenancyStore;
  private readonly bus?: InvalidationBus;
  private readonly cache: IdentityCache;
  private readonly now: () => number;
  /** Fills in flight, so a burst of requests with one uncached key reads the database once. */
  private readonly loading = new Map<string, Promise<Identity | undefined>>();
  /** Identities by principal, so the limit stage finds a request's limits without a lookup. */
  private readonly identities = new WeakMap<Principal, Identity>();
  private readonly touched = new Set<string>();
  private readonly touchTimer: NodeJS.Timeout;

  constructor(options: KeysServiceOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.now = options.now ?? Date.now;
    this.cache = new IdentityCache(options.cacheTtlMs ?? IDENTITY_CACHE_TTL_MS, options.cacheMaxEntries ?? 10_000, this.now);
    this.touchTimer = setInterval(() => void this.flushTouches().catch(() => {}), options.touchIntervalMs ?? 30_000);
    this.touchTimer.unref();
  }

  /** Subscribes to evictions from other replicas (no-op without a bus). */
  async start(): Promise<void> {
    await this.bus?.start((msg) => this.evict(msg), () => this.cache.clear());
  }

  /** Creates a key; the secret is returned here once and never stored or shown again. */
  async createKey(input: NewKeyInput): Promise<{ key: KeyRecord; secret: string }> {
    const secret = generateSecret();
    const key = await this.store.createKey({ ...input, keyHash: hashSecret(secret), keyPrefix: displayPrefix(secret) });
    return { key, secret };
  }

  /**
   * The identity behind a presented secret, or a 401 that says whether the key is unknown, revoked
   * or expired (never echoing the secret). Expiry is checked on every call, not only on a fill.
   */
  async authenticateSecret(secret: string): Promise<Identity> {
    const hash = hashSecret(secret);
    const identity = this.cache.get(hash) ?? (await this.fill(hash));
    if (!identity) throw new GatewayError('authentication', 'Invalid API key.', { code: 'invalid_api_key' });
    this.assertUsable(identity.key);
    this.touched.add(identity.key.id);
    return identity;
  }

  /** 401 for a revoked or expired key. */
  private assertUsable(key: KeyRecord): void {
    if (key.revokedAt !== null) {
      throw new GatewayError('authentication', `This API key (${key.id}) has been revoked.`, { code: 'api_key_revoked' });
    }
    if (key.expiresAt !== null && this.now() >= key.expiresAt) {
      throw new GatewayError('authentication', `This API key (${key.id}) expired at ${new Date(key.expiresAt).toISOString()}.`, { code: 'api_key_expired' });
    }
  }

  /** The identity a principal was authenticated as (limits, allowlists); undefined for master/anonymous. */
  async identityOf(principal: Principal): Promise<Identity | undefined> {
    if (principal.keyId === null) return undefined;
    const known = this.identities.get(principal);
    if (known) return known;
    // A principal built elsewhere (e.g. a batch worker acting for a key): read it fresh, and refuse
    // a key revoked or expired since that principal was made.
    const key = await this.store.getKey(principal.keyId);
    if (!key) throw new GatewayError('authentication', `API key ${principal.keyId} no longer exists.`, { code: 'invalid_api_key' });
    this.assertUsable(key);
    return this.identityFor(key, key.teamId ? await this.store.getTeam(key.teamId) : undefined);
  }

  async updateKey(id: string, patch: KeyPatch): Promise<KeyRecord | undefined> {
    const key = await this.store.updateKey(id, patch);
    if (key) await this.broadcast({ type: 'key', id });
    return key;
  }

  async revokeKey(id: string): Promise<KeyRecord | undefined> {
    const key = await this.store.revokeKey(id, this.now());
    if (key) await this.broadcast({ type: 'key', id });
    return key;
  }

  async updateTeam(id: string, patch: TeamPatch): Promise<TeamRecord | undefined> {
    const team = await this.store.updateTeam(id, patch);
    if (team) await this.broadcast({ type: 'team', id });
    return team;
  }

  async deleteTeam(id: string): Promise<'deleted' | 'not_found' | 'has_keys'> {
    const outcome = await this.store.deleteTeam(id);
    if (outcome === 'deleted') await this.broadcast({ type: 'team', id });
    return outcome;
  }

  /** Writes pending last_used_at stamps; called on a timer and on close. */
  async flushTouches(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    await this.store.touchKeys(ids, this.now());
  }

  async close(): Promise<void> {
    clearInterval(this.touchTimer);
    await this.flushTouches().catch(() => {});
    await this.bus?.close();
  }

  /** Cached identities, for tests and diagnostics. */
  get cacheSize(): number {
    return this.cache.size;
  }

  private evict(msg: Invalidation): void {
    if (msg.type === 'key') this.cache.evictKey(msg.id);
    else this.cache.evictTeam(msg.id);
    this.loading.clear();
  }

  /**
   * Evicts locally first (this replica is right at once), then tells the others. A failed publish
   * does not fail the change: the database already holds it and other caches expire within the TTL.
   */
  private async broadcast(msg: Invalidation): Promise<void> {
    this.evict(msg);
    await this.bus?.publish(msg).catch(() => {});
  }

  private fill(hash: string): Promise<Identity | undefined> {
    let pending = this.loading.get(hash);
    if (!pending) {
      const generation = this.cache.currentGeneration;
      pending = this.load(hash).then(
        (identity) => {
          if (this.loading.get(hash) === pending) this.loading.delete(hash);
          if (identity) this.cache.set(hash, identity, generation);
          return identity;
        },
        (err: unknown) => {
          if (this.loading.get(hash) === pending) this.loading.delete(hash);
          throw err;
        },
      );
      this.loading.set(hash, pending);
    }
    return pending;
  }

  private async load(hash: string): Promise<Identity | undefined> {
    const key = await this.store.findKeyByHash(hash);
    if (!key) return undefined;
    const team = key.teamId ? await this.store.getTeam(key.teamId) : undefined;
    return this.identityFor(key, team);
  }

  private identityFor(key: KeyRecord, team: TeamRecord | undefined): Identity {
    const principal: Principal = Object.freeze({ keyId: key.id, teamId: key.teamId, isMaster: false, keyName: key.name ?? undefined });
    const identity: Identity = { key, team: team ?? null, principal };
    this.identities.set(principal, identity);
    return identity;
  }
}

/**
 * Refuses a model the key's or its team's allowlist leaves out (403 naming the model). Both lists
 * apply: a key can narrow its team's models, never widen them.
 */
export function assertModelAllowed(identity: Identity, model: string): void {
  const { key, team } = identity;
  if (key.models && !key.models.includes(model)) {
    throw new GatewayError('permission', `This API key (${key.id}) is not allowed to use model '${model}'. Allowed: ${key.models.join(', ') || 'none'}.`, {
      code: 'model_not_allowed',
      param: 'model',
    });
  }
  if (team?.models && !team.models.includes(model)) {
    throw new GatewayError('permission', `Team '${team.name}' is not allowed to use model '${model}'. Allowed: ${team.models.join(', ') || 'none'}.`, {
      code: 'model_not_allowed',
      param: 'model',
    });
  }
}

/** Whether a principal may use a model (e.g. to filter GET /v1/models). */
export function isModelAllowed(identity: Identity | undefined, model: string): boolean {
  if (!identity) return true;
  return (!identity.key.models || identity.key.models.includes(model)) && (!identity.team?.models || identity.team.models.includes(model));
}
