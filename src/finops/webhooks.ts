// Delivers notifications to webhooks in the background. send() is synchronous and only queues, so
// alerting never slows a request. Each delivery is POSTed with undici; network errors, timeouts,
// 408, 429 and 5xx are retried with exponential backoff and jitter up to maxAttempts; other 4xx
// are permanent. Every attempt is written to the delivery log. A delivery that cannot be made is
// handed to onGiveUp (the hook for the dead-letter queue).

import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { WebhookConfig } from './config.ts';
import { jsonPayload, slackPayload, type Notification } from './notifications.ts';
import type { AlertLog } from './ports.ts';
import { backoffMs } from '../util/backoff.ts';

export interface WebhookTarget {
  name: string;
  url: string;
  format: 'slack' | 'json';
  headers: Record<string, string>;
}

export interface UndeliveredWebhook {
  deliveryId: string;
  kind: Notification['kind'];
  webhook: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  attempts: number;
  lastError: string | null;
  reason: 'attempts_exhausted' | 'permanent_error' | 'queue_full' | 'shutdown';
}

export interface WebhookDispatcherOptions {
  targets: readonly WebhookTarget[];
  log: Pick<AlertLog, 'recordDelivery'>;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  /** Deliveries waiting beyond this are given up at once (queue_full). */
  maxQueue?: number;
  onGiveUp?: (delivery: UndeliveredWebhook) => void;
  /** undici dispatcher (tests, proxies); the global one otherwise. */
  dispatcher?: Dispatcher;
  random?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

interface Delivery {
  id: string;
  kind: Notification['kind'];
  target: WebhookTarget;
  body: string;
  attempts: number;
  lastError: string | null;
}

export function webhookTargets(configs: readonly WebhookConfig[]): WebhookTarget[] {
  return configs.map((w, i) => ({ name: w.name ?? `webhook-${i + 1}`, url: w.url, format: w.format, headers: w.headers }));
}

export class WebhookDispatcher {
  private readonly queue: Delivery[] = [];
  private readonly waiting = new Map<Delivery, NodeJS.Timeout>();
  private active = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WebhookDispatcherOptions) {}

  get targetCount(): number {
    return this.options.targets.length;
  }

  /** Queues the notification for every configured webhook; returns the delivery ids. */
  send(n: Notification): string[] {
    const ids: string[] = [];
    for (const target of this.options.targets) {
      const body = JSON.stringify(target.format === 'slack' ? slackPayload(n) : jsonPayload(n));
      ids.push(this.enqueue({ id: randomUUID(), kind: n.kind, target, body, attempts: 0, lastError: null }));
    }
    this.pump();
    return ids;
  }

  /**
   * Delivers a given-up notification again, as it was (a dead-letter replay), to the webhook of that
   * name. Returns the new delivery id, or undefined when no webhook of that name is configured now.
   */
  resend(webhook: string, kind: Notification['kind'], body: string): string | undefined {
    const target = this.options.targets.find((t) => t.name === webhook);
    if (!target) return undefined;
    const id = this.enqueue({ id: randomUUID(), kind, target, body, attempts: 0, lastError: null });
    this.pump();
    return id;
  }

  private enqueue(d: Delivery): string {
    if (this.closed) this.giveUp(d, 'shutdown');
    else if (this.queue.length >= (this.options.maxQueue ?? 1_000)) this.giveUp(d, 'queue_full');
    else this.queue.push(d);
    return d.id;
  }

  /** Resolves when nothing is queued, in flight or waiting to retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; lets attempts in flight and queued ones run for up to graceMs, then gives up the rest. */
  async close(graceMs = 5_000): Promise<void> {
    this.closed = true;
    for (const [d, timer] of this.waiting) {
      clearTimeout(timer);
      this.giveUp(d, 'shutdown');
    }
    this.waiting.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const d of this.queue.splice(0)) this.giveUp(d, 'shutdown');
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.active === 0 && this.waiting.size === 0;
  }

  private settleIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    while (this.active < (this.options.concurrency ?? 4) && this.queue.length > 0) {
      const d = this.queue.shift()!;
      this.active += 1;
      void this.attempt(d).finally(() => {
        this.active -= 1;
        this.pump();
        this.settleIdle();
      });
    }
    this.settleIdle();
  }

  private async attempt(d: Delivery): Promise<void> {
    d.attempts += 1;
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const timeoutMs = this.options.timeoutMs ?? 10_000;
      const res = await request(d.target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-webhooks', ...d.target.headers },
        body: d.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        dispatcher: this.options.dispatcher,
      });
      statusCode = res.statusCode;
      await res.body.dump().catch(() => {});
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (err) {
      error = (err as Error).message || String(err);
    }
    d.lastError = error;
    const delivered = error === null;
    const permanent = statusCode !== null && statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
    const exhausted = d.attempts >= (this.options.maxAttempts ?? 6);
    const retry = !delivered && !permanent && !exhausted && !this.closed;
    const outcome = delivered ? 'delivered' : retry ? 'retrying' : 'gave_up';
    await this.options.log
      .recordDelivery({ id: randomUUID(), deliveryId: d.id, kind: d.kind, webhook: d.target.name, attempt: d.attempts, statusCode, error, outcome, at: started, durationMs: Date.now() - started })
      .catch((err: unknown) => this.options.logger?.warn({ err }, 'webhooks: could not record a delivery attempt'));
    if (delivered) return;
    if (retry) this.scheduleRetry(d);
    else this.giveUp(d, permanent ? 'permanent_error' : this.closed ? 'shutdown' : 'attempts_exhausted');
  }

  private scheduleRetry(d: Delivery): void {
    const delay = backoffMs(d.attempts, { baseMs: this.options.backoffBaseMs ?? 1_000, maxMs: this.options.backoffMaxMs ?? 300_000 }, this.options.random);
    const timer = setTimeout(() => {
      this.waiting.delete(d);
      this.queue.unshift(d);
      this.pump();
    }, delay);
    this.waiting.set(d, timer);
  }

  private giveUp(d: Delivery, reason: UndeliveredWebhook['reason']): void {
    this.options.logger?.warn({ webhook: d.target.name, kind: d.kind, attempts: d.attempts, reason, error: d.lastError }, 'webhooks: giving up a delivery');
    try {
      this.options.onGiveUp?.({
        deliveryId: d.id,
        kind: d.kind,
        webhook: d.target.name,
        url: d.target.url,
        headers: d.target.headers,
        body: d.body,
        attempts: d.attempts,
        lastError: d.lastError,
        reason,
      });
    } catch (err) {
      this.options.logger?.warn({ err }, 'webhooks: onGiveUp threw');
    }
  }
}
