// Tells other gateway replicas to drop cached identities when a key or team changes, so a
// revocation takes effect everywhere at once rather than when their cache entries expire.
// Redis pub/sub when REDIS_URL is set; a single gateway needs no bus (its own cache is evicted
// directly). Pub/sub delivery is at most once: a replica that was disconnected when a message
// went out clears its whole cache on reconnect, and the cache TTL bounds anything else.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export type Invalidation = { type: 'key'; id: string } | { type: 'team'; id: string };

export interface InvalidationBus<M extends object = Invalidation> {
  /** Starts listening; `onResync` runs when messages may have been missed (after a reconnect). */
  start(onMessage: (msg: M) => void, onResync: () => void): Promise<void>;
  publish(msg: M): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_CHANNEL = 'switchyard:tenancy:invalidate';

export interface RedisBusOptions {
  url: string;
  channel?: string;
  /** Refuse to start when Redis does not answer within this bound. */
  connectTimeoutMs?: number;
  onError?: (err: Error) => void;
}

export class RedisInvalidationBus<M extends object = Invalidation> implements InvalidationBus<M> {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  /** Lets a replica skip its own messages (it has already evicted locally). */
  private readonly origin = randomUUID();

  constructor(private readonly options: RedisBusOptions) {
    this.channel = options.channel ?? DEFAULT_CHANNEL;
    const common = { maxRetriesPerRequest: 1, commandTimeout: 2_000, connectTimeout: options.connectTimeoutMs ?? 5_000 };
    this.pub = new Redis(options.url, common);
    this.sub = new Redis(options.url, { ...common, commandTimeout: undefined });
    const onError = options.onError ?? (() => {});
    this.pub.on('error', onError);
    this.sub.on('error', onError);
  }

  async start(onMessage: (msg: M) => void, onResync: () => void): Promise<void> {
    this.sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      try {
        const msg = JSON.parse(text) as M & { origin?: string };
        if (msg.origin !== this.origin) onMessage(msg);
      } catch {
        onResync(); // an unreadable message may have been an eviction: drop everything to be safe
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis at ${redact(this.options.url)} did not answer within ${this.options.connectTimeoutMs ?? 5_000} ms (needed to broadcast key revocations)`)), this.options.connectTimeoutMs ?? 5_000);
    });
    try {
      await Promise.race([this.sub.subscribe(this.channel), timeout]);
    } finally {
      clearTimeout(timer);
    }
    // ioredis resubscribes by itself after a reconnect; whatever was published meanwhile is lost.
    this.sub.on('ready', onResync);
  }

  async publish(msg: M): Promise<void> {
    await this.pub.publish(this.channel, JSON.stringify({ ...msg, origin: this.origin }));
  }

  async close(): Promise<void> {
    await Promise.all([this.pub.quit().catch(() => this.pub.disconnect()), this.sub.quit().catch(() => this.sub.disconnect())]);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}
