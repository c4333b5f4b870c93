// Who is making a request, as established by the authenticate stage.

export interface Principal {
  /** The virtual key's id, or null for the master key / an unauthenticated loopback gateway. */
  keyId: string | null;
  teamId: string | null;
  /** True for the master key (admin rights, no per-key limits). */
  isMaster: boolean;
  /** Key and team metadata, for logs and usage records. */
  keyName?: string;
}

/** The principal of a gateway with no master key configured: loopback-only, unmetered by key. */
export const ANONYMOUS: Principal = Object.freeze({ keyId: null, teamId: null, isMaster: true });

/** The principal of a request that presented the master key: admin rights, no per-key limits. */
export const MASTER: Principal = Object.freeze({ keyId: null, teamId: null, isMaster: true, keyName: 'master' });
