// One process's link to Redis (REDIS_URL): a command connection (counters, publishing) and a
// subscriber connection (broadcast channels), each reconnecting by itself with ioredis's
// exponential backoff (50 ms doubling, at most ~5 s apart, never giving up).
//
// Neither ever makes a caller wait on a dead Redis: a command issued while disconnected fails at
// once (no offline queue), a command in flight when the connection drops fails at once and is never
// re-sent later (the caller has already treated it as failed), and a connection that stops answering
// while commands are pending is torn down after commandTimeoutMs, which starts the reconnect cycle.
// Callers decide what a failure means (limits fail open, budgets fail closed, by default).

import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** Longest wait for one command, and for a socket with commands pending to say anything. */
  commandTimeoutMs?: number;
  /** Longest wait for one connection attempt (a host that does not answer at all). */
  connectTimeoutMs?: number;
  /** Called whenever `health` changes (a connection lost or regained, a subscription made). */
  onChange?: (health: RedisHealth) => void;
}

export interface RedisHealth {
  /** The command connection is up: counter operations and publishing go through. */
  commands: boolean;
  /** Subscribed to every registered channel: broadcasts from other replicas arrive. */
  subscriptions: boolean;
  /** Why the connection that is down went down (the last connection error); undefined while both are up. */
  error?: string;
  /** Epoch ms when this health began. */
  since: number;
}

/** A channel's listener. `resync` runs once subscribed again after a disconnection: messages sent meanwhile are lost. */
export interface ChannelHandlers {
  message(text: string): void;
  resync(): void;
}

/** A Redis operation that failed; the message names REDIS_URL and the (password-free) address. */
export class RedisUnavailableError extends Error {
  /** True when the connection was already known to be down, so the outage has been reported (logged once, /readyz). */
  readonly outageReported: boolean;
  constructor(message: string, outageReported: boolean) {
    super(message);
    this.name = 'RedisUnavailableError';
    this.outageReported = outageReported;
  }
}

/** A failure the connection has already reported (an outage logged once), not worth a line per request. */
export function isReportedOutage(err: unknown): boolean {
  return err instanceof RedisUnavailableError && err.outageReported;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;

export class RedisConnection {
  /** REDIS_URL with any password replaced by ***, for messages and logs. */
  readonly displayUrl: string;
  /** Counter scripts and PUBLISH. */
  readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly connectTimeoutMs: number;
  private readonly channels = new Map<string, ChannelHandlers>();
  private subscribed = false;
  private commandsError?: string;
  private subscriberError?: string;
  private health: RedisHealth;
  /** Times the command connection became ready after the first: counters may have been lost each time. */
  private reconnects = 0;
  private everReady = false;
  private closed = false;
  private readonly settledWaiters: (() => void)[] = [];
  private attempted = { commands: false, subscriber: false };

  constructor(private readonly options: RedisConnectionOptions) {
    this.displayUrl = redactRedisUrl(options.url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const common: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: this.connectTimeoutMs,
      socketTimeout: commandTimeout,
    };
    this.commands = new Redis(options.url, { ...common, commandTimeout, enableAutoPipelining: true });
    // Channels are (re)subscribed here on every ready, so that a resync follows each subscription.
    this.subscriber = new Redis(options.url, { ...common, autoResubscribe: false });
    this.health = { commands: false, subscriptions: false, error: 'not connected yet', since: Date.now() };

    this.commands.on('ready', () => {
      if (this.everReady) this.reconnects += 1;
      this.everReady = true;
      this.commandsError = undefined;
      this.attempted.commands = true;
      this.update();
    });
    this.commands.on('error', (err: Error) => {
      this.commandsError = describeError(err);
      this.attempted.commands = true;
      this.update();
    });
    this.commands.on('close', () => {
      // A server that went away closes the socket without an error; reconnect attempts refine it.
      this.commandsError ??= 'connection lost';
      this.attempted.commands = true;
      this.update();
    });
    this.subscriber.on('ready', () => void this.resubscribe());
    this.subscriber.on('error', (err: Error) => {
      this.subscriberError = describeError(err);
      this.attempted.subscriber = true;
      this.update();
    });
    this.subscriber.on('close', () => {
      this.subscriberError ??= 'connection lost';
      this.subscribed = false;
      this.attempted.subscriber = true;
      this.update();
    });
    this.subscriber.on('message', (channel: string, text: string) => this.channels.get(channel)?.message(text));
  }

  /** Current state of both connections. */
  get current(): RedisHealth {
    return this.health;
  }

  /**
   * Bumped each time the command connection comes back after being lost: whatever the counters
   * held may be gone (a Redis that restarted empty), so state derived from them must be rebuilt.
   */
  get generation(): number {
    return this.reconnects;
  }

  /** Resolves once both connections have either come up or failed at least once, or after timeoutMs. */
  async firstAttempt(timeoutMs: number): Promise<void> {
    if (this.isSettled()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.settledWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Listens on a channel from now on, across reconnects. Resolves once subscribed, or as soon as
   * the subscriber is found unreachable (it subscribes when it connects): it never waits on a dead Redis.
   */
  async subscribe(channel: string, handlers: ChannelHandlers): Promise<void> {
    this.channels.set(channel, handlers);
    await this.firstAttempt(this.connectTimeoutMs);
    if (this.subscriber.status === 'ready') await this.resubscribe([channel]);
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel)) return;
    if (this.subscriber.status === 'ready') void this.subscriber.unsubscribe(channel).catch(() => {});
  }

  /**
   * Runs a command on the command connection. Only the very first connection attempt is waited
   * for (at most connectTimeoutMs, once per process), so a store used right after it is made does
   * not fail for want of a handshake; after that nothing waits.
   */
  async command<T>(run: (redis: Redis) => Promise<T>, what: string): Promise<T> {
    if (!this.attempted.commands) await this.firstAttempt(this.connectTimeoutMs);
    try {
      return await run(this.commands);
    } catch (err) {
      throw this.failure(err, what);
    }
  }

  async publish(channel: string, text: string): Promise<void> {
    await this.command((redis) => redis.publish(channel, text), 'publish');
  }

  /** The error to throw for a failed operation: what failed, where, and why. */
  private failure(err: unknown, what: string): RedisUnavailableError {
    // The client's own status, not `health`: its events reach `health` a tick later. A connection
    // that is down has its outage reported by the holder of onChange, so requests need not log it.
    const down = this.commands.status !== 'ready';
    const cause = down ? (this.commandsError ?? (this.everReady ? 'connection lost' : 'not connected')) : describeError(err);
    return new RedisUnavailableError(`Redis at REDIS_URL (${this.displayUrl}) ${down ? 'is unreachable' : `failed a ${what}`}: ${cause}`, down);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    await Promise.all([this.commands, this.subscriber].map((r) => r.quit().then(() => undefined, () => r.disconnect())));
  }

  /** Subscribes to the channels (all by default), then resyncs each: what was sent before is lost to it. */
  private async resubscribe(channels = [...this.channels.keys()]): Promise<void> {
    try {
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
    } catch (err) {
      // The connection dropped again; its next ready subscribes again.
      this.subscriberError = describeError(err);
      this.attempted.subscriber = true;
      this.update();
      return;
    }
    this.subscribed = true;
    this.subscriberError = undefined;
    this.attempted.subscriber = true;
    this.update();
    for (const channel of channels) this.channels.get(channel)?.resync();
  }

  private isSettled(): boolean {
    return this.attempted.commands && this.attempted.subscriber;
  }

  private update(): void {
    if (this.closed) return;
    const commands = this.commands.status === 'ready';
    const subscriptions = this.subscribed && this.subscriber.status === 'ready';
    const error = commands && subscriptions ? undefined : (this.commandsError ?? this.subscriberError ?? 'not connected');
    const changed = commands !== this.health.commands || subscriptions !== this.health.subscriptions;
    // The reason is kept current (a refused connection may become a timeout); only an up or down
    // change is announced, so a Redis that stays down is reported once, not at every retry.
    this.health = { commands, subscriptions, error, since: changed ? Date.now() : this.health.since };
    if (changed) this.options.onChange?.(this.health);
    if (this.isSettled()) for (const wake of this.settledWaiters.splice(0)) wake();
  }
}

/** `connect ECONNREFUSED 127.0.0.1:6390`; ioredis's own wording for a refused-while-offline command is not a reason. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message.includes('enableOfflineQueue')) return 'not connected';
  return err.message;
}

/** The URL with any password replaced by ***; never throws. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'an unparseable URL';
  }
}
