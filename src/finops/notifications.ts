// What alerts and digests say, and the two webhook payload shapes:
//   slack: {text, blocks} — accepted by Slack incoming webhooks and compatible receivers
//          (Mattermost, Rocket.Chat, Discord's /slack endpoint); `text` is the fallback line.
//   json:  the typed event itself ({type: "budget_alert" | "spend_digest", ...}), for automation.

import type { BudgetPeriodKeys } from './budgets.ts';
import { describeBudget } from './budgets.ts';
import { formatUsd } from './money.ts';
import type { SpendRow } from './ports.ts';

export type NotificationKind = 'budget_alert' | 'spend_digest';

export interface Notification {
  kind: NotificationKind;
  /** One line, used as Slack's fallback text and header. */
  title: string;
  /** Detail lines (Slack mrkdwn). */
  lines: string[];
  /** The generic JSON payload. */
  event: Record<string, unknown> & { type: NotificationKind };
}

export interface BudgetAlertInput {
  period: BudgetPeriodKeys;
  threshold: number;
  spentUsd: number;
  /** True when the alert comes from a refused request (the budget is effectively used up). */
  refused: boolean;
  firedAt: number;
}

export function budgetAlert(a: BudgetAlertInput): Notification {
  const b = a.period.budget;
  const percentUsed = b.limitUsd > 0 ? (a.spentUsd / b.limitUsd) * 100 : 0;
  const resets = new Date(a.period.periodEnd).toISOString();
  const title = `Switchyard budget alert: ${describeBudget(b)} reached ${a.threshold}% (${formatUsd(a.spentUsd)} of ${formatUsd(b.limitUsd)})`;
  const lines = [
    `*Spent this period:* ${formatUsd(a.spentUsd)} of ${formatUsd(b.limitUsd)} (${percentUsed.toFixed(1)}%)`,
    `*Period:* ${new Date(a.period.periodStart).toISOString()} to ${resets}`,
  ];
  if (a.refused) lines.push('*Requests are being refused* (429 budget_exceeded) until the budget resets or is raised.');
  return {
    kind: 'budget_alert',
    title,
    lines,
    event: {
      type: 'budget_alert',
      budget: { id: b.id, name: b.name, scope: b.scope, scope_id: b.scopeId, period: b.period, limit_usd: b.limitUsd },
      threshold_percent: a.threshold,
      spent_usd: round6(a.spentUsd),
      percent_used: Math.round(percentUsed * 10) / 10,
      requests_refused: a.refused,
      period_start: new Date(a.period.periodStart).toISOString(),
      period_end: resets,
      fired_at: new Date(a.firedAt).toISOString(),
    },
  };
}

export interface DigestInput {
  day: string;
  from: number;
  to: number;
  total: SpendRow;
  byTeam: SpendRow[];
  byModel: SpendRow[];
  byKey: SpendRow[];
}

const TOP = 10;

function rowJson(r: SpendRow): Record<string, unknown> {
  return {
    requests: r.requests,
    prompt_tokens: r.promptTokens,
    cached_tokens: r.cachedTokens,
    cache_creation_tokens: r.cacheCreationTokens,
    completion_tokens: r.completionTokens,
    cost_usd: round6(r.costUsd),
  };
}

function topLines(label: string, rows: SpendRow[]): string[] {
  if (rows.length === 0) return [];
  const items = rows.slice(0, 5).map((r) => `${r.group ?? '(none)'} ${formatUsd(r.costUsd)}`);
  return [`*Top ${label}:* ${items.join(', ')}`];
}

export function spendDigest(d: DigestInput): Notification {
  const title = `Switchyard spend digest for ${d.day}: ${formatUsd(d.total.costUsd)} over ${d.total.requests} requests`;
  const tokens = d.total.promptTokens + d.total.completionTokens;
  const lines = [
    `*Tokens:* ${tokens.toLocaleString('en-US')} (${d.total.promptTokens.toLocaleString('en-US')} prompt, of which ${d.total.cachedTokens.toLocaleString('en-US')} cached; ${d.total.completionTokens.toLocaleString('en-US')} completion)`,
    ...topLines('teams', d.byTeam),
    ...topLines('models', d.byModel),
    ...topLines('keys', d.byKey),
  ];
  const grouped = (key: string, rows: SpendRow[]) => rows.slice(0, TOP).map((r) => ({ [key]: r.group, ...rowJson(r) }));
  return {
    kind: 'spend_digest',
    title,
    lines,
    event: {
      type: 'spend_digest',
      day: d.day,
      from: new Date(d.from).toISOString(),
      to: new Date(d.to).toISOString(),
      total: rowJson(d.total),
      by_team: grouped('team', d.byTeam),
      by_model: grouped('model', d.byModel),
      by_key: grouped('key', d.byKey),
    },
  };
}

export function slackPayload(n: Notification): { text: string; blocks: unknown[] } {
  return {
    text: n.title,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${n.title}*` } },
      ...(n.lines.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: n.lines.join('\n') } }] : []),
    ],
  };
}

export function jsonPayload(n: Notification): Record<string, unknown> {
  return n.event;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
