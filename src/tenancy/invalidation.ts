// Tells other gateway replicas to drop cached identities when a key or team changes, so a
// revocation takes effect everywhere at once rather than when their cache entries expire.
// Redis pub/sub when REDIS_URL is set; a single gateway needs no bus (its own cache is evicted
// directly). Pub/sub delivery is at most once: a replica that was disconnected when a message
// went out clears its whole cache once subscribed again, and the cache TTL bounds anything else.

import { randomUUID } from 'node:crypto';
import { RedisConnection } from '../store/redis-connection.ts';

export type Invalidation = { type: 'key'; id: string } | { type: 'team'; id: string };

export interface InvalidationBus<M extends object = Invalidation> {
  /** Starts listening; `onResync` runs when messages may have been missed (after a reconnect). */
  start(onMessage: (msg: M) => void, onResync: () => void): Promise<void>;
  publish(msg: M): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_CHANNEL = 'switchyard:tenancy:invalidate';

export type RedisBusOptions = { channel?: string } & (
  | { /** A connection this bus opens, and closes with itself. */ url: string }
  | { /** A connection shared with the counters and other buses; the caller closes it. */ connection: RedisConnection }
);

/**
 * Never refuses to start and never waits long for Redis: while it is unreachable, messages from other
 * replicas do not arrive (the cache TTL bounds the lag) and `publish` fails at once; once
 * subscribed again, `onResync` drops whatever may have been missed.
 */
export class RedisInvalidationBus<M extends object = Invalidation> implements InvalidationBus<M> {
  private readonly connection: RedisConnection;
  private readonly ownsConnection: boolean;
  private readonly channel: string;
  /** Lets a replica skip its own messages (it has already evicted locally). */
  private readonly origin = randomUUID();

  constructor(options: RedisBusOptions) {
    this.channel = options.channel ?? DEFAULT_CHANNEL;
    this.ownsConnection = !('connection' in options);
    this.connection = 'connection' in options ? options.connection : new RedisConnection({ url: options.url });
  }

  async start(onMessage: (msg: M) => void, onResync: () => void): Promise<void> {
    await this.connection.subscribe(this.channel, {
      message: (text) => {
        try {
          const msg = JSON.parse(text) as M & { origin?: string };
          if (msg.origin !== this.origin) onMessage(msg);
        } catch {
          onResync(); // an unreadable message may have been an eviction: drop everything to be safe
        }
      },
      resync: onResync,
    });
  }

  async publish(msg: M): Promise<void> {
    await this.connection.publish(this.channel, JSON.stringify({ ...msg, origin: this.origin }));
  }

  async close(): Promise<void> {
    this.connection.unsubscribe(this.channel);
    if (this.ownsConnection) await this.connection.close();
  }
}
