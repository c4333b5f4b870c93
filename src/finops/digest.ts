// The daily spend digest: at a configured UTC time, a summary of the previous UTC day (total,
// top teams, models and keys) goes to the alert webhooks. The day is claimed in the store first,
// so with several replicas exactly one sends it. A gateway that was down at digest time sends the
// missed digest of the previous day when it starts (if nobody has).

import { DAY_MS, isoDay, utcDayStart } from './periods.ts';
import { spendDigest, type Notification } from './notifications.ts';
import type { AlertLog, SpendRow, UsageLedger } from './ports.ts';

export interface DigestOptions {
  ledger: UsageLedger;
  log: Pick<AlertLog, 'claimDigest'>;
  notify: (n: Notification) => void;
  /** `HH:MM`, UTC. */
  timeUtc: string;
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
}

export function timeOfDayMs(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h * 60 + m) * 60_000;
}

/** The first digest time strictly after `now`. */
export function nextDigestAt(now: number, hhmm: string): number {
  const today = utcDayStart(now) + timeOfDayMs(hhmm);
  return today > now ? today : today + DAY_MS;
}

export class DigestScheduler {
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly options: DigestOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Catches up a missed digest, then sends one every day at the configured time. */
  start(): void {
    const now = this.now();
    if (now >= utcDayStart(now) + timeOfDayMs(this.options.timeUtc)) void this.sendQuietly(now);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Builds and sends the digest of the UTC day before `at`, if this caller wins the claim for it.
   * Returns the notification sent, or null when another replica (or an earlier run) sent it.
   */
  async runOnce(at: number = this.now()): Promise<Notification | null> {
    const to = utcDayStart(at);
    const from = to - DAY_MS;
    const day = isoDay(from);
    if (!(await this.options.log.claimDigest(day, at))) return null;
    const { ledger } = this.options;
    const [byTeam, byModel, byKey] = await Promise.all([ledger.spendReport(from, to, 'team'), ledger.spendReport(from, to, 'model'), ledger.spendReport(from, to, 'key')]);
    const n = spendDigest({ day, from, to, total: sum(byModel), byTeam, byModel, byKey });
    this.options.notify(n);
    return n;
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = this.now();
    const delay = Math.max(1_000, nextDigestAt(now, this.options.timeUtc) - now);
    this.timer = setTimeout(() => {
      void this.sendQuietly(this.now()).finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  private async sendQuietly(at: number): Promise<void> {
    try {
      await this.runOnce(at);
    } catch (err) {
      this.options.logger?.warn({ err }, 'digest: could not build or send the daily spend digest');
    }
  }
}

function sum(rows: SpendRow[]): SpendRow {
  const total: SpendRow = { group: null, requests: 0, promptTokens: 0, cachedTokens: 0, cacheCreationTokens: 0, completionTokens: 0, costUsd: 0 };
  for (const r of rows) {
    total.requests += r.requests;
    total.promptTokens += r.promptTokens;
    total.cachedTokens += r.cachedTokens;
    total.cacheCreationTokens += r.cacheCreationTokens;
    total.completionTokens += r.completionTokens;
    total.costUsd += r.costUsd;
  }
  return total;
}
