// How many requests are waiting at a replica now, as the queue scorer and the long-queue filter
// see it. The engine's scraped `waiting` count is up to one scrape interval old, while the gateway
// may dispatch hundreds of requests in that time. So every request routed to a replica since its
// last scrape is added to the scraped value (in-flight credit): a burst spreads out instead of all
// landing on the replica that looked emptiest at the last scrape. The credit resets when a newer
// scrape arrives, since the engine's own count then includes those requests. Without a fresh
// scrape, the gateway's own in-flight count stands in.

import type { ReplicaView } from '../types.ts';
import { freshSignals, type ScoringContext } from './types.ts';

export class QueueEstimate {
  /** Requests routed to each replica since the scrape taken at `at`. */
  private readonly credit = new Map<string, { at: number; count: number }>();

  /** Estimated queue at a replica now: scraped waiting + routed since that scrape, or in-flight. */
  depth(r: ReplicaView, ctx: ScoringContext): number {
    const s = freshSignals(r, ctx);
    if (s === undefined || s.waiting === undefined) return r.inFlight;
    const c = this.credit.get(r.id);
    return s.waiting + (c !== undefined && c.at === s.at ? c.count : 0);
  }

  /** Counts a request routed to `replica` against its latest scrape. */
  onRouted(replica: ReplicaView): void {
    const at = replica.scraped?.at;
    if (at === undefined) return;
    const c = this.credit.get(replica.id);
    if (c === undefined) this.credit.set(replica.id, { at, count: 1 });
    else if (c.at !== at) {
      c.at = at;
      c.count = 1;
    } else c.count++;
  }
}
