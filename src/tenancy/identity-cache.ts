// Hot-path cache of key hash -> identity (key record, its team, the request principal), so an
// authenticated request does not touch the database while its entry is fresh. Entries live a
// short TTL as a backstop; revocations and updates evict them at once (locally, and on other
// replicas through the invalidation bus).

import type { Principal } from './principal.ts';
import type { KeyRecord, TeamRecord } from './types.ts';

export interface Identity {
  key: KeyRecord;
  team: TeamRecord | null;
  /** One frozen principal per cache fill, shared by every request that hits this entry. */
  principal: Principal;
}

interface Entry {
  identity: Identity;
  loadedAt: number;
}

export class IdentityCache {
  private readonly byHash = new Map<string, Entry>();
  private readonly hashById = new Map<string, string>();
  /**
   * Bumped by every eviction. A fill that started before an eviction must not be stored: it may
   * have read the row before the revocation committed.
   */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get currentGeneration(): number {
    return this.generation;
  }

  get(hash: string): Identity | undefined {
    const entry = this.byHash.get(hash);
    if (!entry) return undefined;
    if (this.now() - entry.loadedAt >= this.ttlMs) {
      this.remove(hash);
      return undefined;
    }
    return entry.identity;
  }

  /** Stores a fill unless an eviction happened since `generation` was read. */
  set(hash: string, identity: Identity, generation: number): void {
    if (generation !== this.generation) return;
    this.remove(hash);
    // Oldest first in a Map's insertion order: a bounded cache never grows with key churn.
    if (this.byHash.size >= this.maxEntries) this.remove(this.byHash.keys().next().value!);
    this.byHash.set(hash, { identity, loadedAt: this.now() });
    this.hashById.set(identity.key.id, hash);
  }

  evictKey(keyId: string): void {
    this.generation += 1;
    const hash = this.hashById.get(keyId);
    if (hash !== undefined) this.remove(hash);
  }

  evictTeam(teamId: string): void {
    this.generation += 1;
    for (const [hash, entry] of this.byHash) if (entry.identity.team?.id === teamId || entry.identity.key.teamId === teamId) this.remove(hash);
  }

  clear(): void {
    this.generation += 1;
    this.byHash.clear();
    this.hashById.clear();
  }

  get size(): number {
    return this.byHash.size;
  }

  private remove(hash: string): void {
    const entry = this.byHash.get(hash);
    if (!entry) return;
    this.byHash.delete(hash);
    if (this.hashById.get(entry.identity.key.id) === hash) this.hashById.delete(entry.identity.key.id);
  }
}
