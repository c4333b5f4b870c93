// `switchyard spend`: the spend report from a running gateway's admin API, as an aligned table
// or CSV. Authenticates with SWITCHYARD_MASTER_KEY.

import { InvalidArgumentError, type Command } from 'commander';
import { request } from 'undici';
import { INSTANT_HELP, parseInstant } from '../finops/time-args.ts';
import { gatewayBaseUrl, withGatewayUrl } from './gateway-client.ts';

export const SPEND_GROUPS = ['team', 'key', 'model', 'day', 'deployment'] as const;

export interface SpendFlags {
  groupBy: string;
  since: string;
  until?: string;
  csv?: boolean;
  url?: string;
}

export interface SpendRowJson {
  group: string | null;
  requests: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
}

export interface SpendReportJson {
  from: string;
  to: string;
  group_by: string;
  data: SpendRowJson[];
  total: Omit<SpendRowJson, 'group'>;
}

const COLUMNS: { title: string; value: (r: SpendRowJson | (Omit<SpendRowJson, 'group'> & { group?: string | null })) => string; numeric: boolean }[] = [
  { title: 'GROUP', value: (r) => r.group ?? '-', numeric: false },
  { title: 'REQUESTS', value: (r) => String(r.requests), numeric: true },
  { title: 'PROMPT_TOKENS', value: (r) => String(r.prompt_tokens), numeric: true },
  { title: 'CACHED_TOKENS', value: (r) => String(r.cached_tokens), numeric: true },
  { title: 'COMPLETION_TOKENS', value: (r) => String(r.completion_tokens), numeric: true },
  { title: 'COST_USD', value: (r) => r.cost_usd.toFixed(4), numeric: true },
];

export async function fetchSpend(flags: SpendFlags, masterKey: string | undefined): Promise<SpendReportJson> {
  const url = new URL('/admin/v1/spend', flags.url ?? 'http://127.0.0.1:8080');
  url.searchParams.set('group_by', flags.groupBy);
  url.searchParams.set('from', flags.since);
  if (flags.until) url.searchParams.set('to', flags.until);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (masterKey) headers.authorization = `Bearer ${masterKey}`;
  const res = await request(url, { method: 'GET', headers, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url.origin} answered ${res.statusCode} with a non-JSON body; is it a Switchyard gateway?`);
  }
  if (res.statusCode !== 200) {
    const message = (body as { error?: { message?: string } }).error?.message ?? text;
    const hint = res.statusCode === 401 && !masterKey ? ' (set SWITCHYARD_MASTER_KEY)' : '';
    throw new Error(`${res.statusCode}: ${message}${hint}`);
  }
  return body as SpendReportJson;
}

export function formatSpendTable(report: SpendReportJson): string {
  const rows = [...report.data.map((r) => COLUMNS.map((c) => c.value(r))), COLUMNS.map((c, i) => (i === 0 ? 'TOTAL' : c.value(report.total)))];
  const head = COLUMNS.map((c) => c.title);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (COLUMNS[i].numeric ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = report.data.length === 0 ? ['(no requests in this window)'] : rows.slice(0, -1).map(line);
  return [`Spend by ${report.group_by}, ${report.from} to ${report.to}`, '', line(head), rule, ...body, rule, line(rows.at(-1)!), ''].join('\n');
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function formatSpendCsv(report: SpendReportJson): string {
  const head = [report.group_by, 'requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'total_tokens', 'cost_usd'];
  const rows = report.data.map((r) => [r.group ?? '', r.requests, r.prompt_tokens, r.cached_tokens, r.completion_tokens, r.total_tokens, r.cost_usd].map((v) => csvCell(String(v))));
  return [head.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
}

/** --since and --until: checked here with the gateway's own parser, sent as typed. */
function instant(value: string): string {
  if (parseInstant(value, Date.now()) === undefined) throw new InvalidArgumentError(`expected ${INSTANT_HELP}`);
  return value;
}

function groupBy(value: string): string {
  if (!(SPEND_GROUPS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${SPEND_GROUPS.join(', ')}`);
  return value;
}

/** Where the command writes (injectable for tests). */
export interface SpendIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  setExitCode: (code: number) => void;
}

const processIo: SpendIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

export function registerSpendCommand(program: Command, io: SpendIo = processIo): void {
  const spend = program
    .command('spend')
    .description('spend report from a running gateway (admin API, needs SWITCHYARD_MASTER_KEY)')
    .option('-g, --group-by <group>', `group rows by ${SPEND_GROUPS.join(', ')}`, groupBy, 'team')
    .option('-s, --since <when>', 'start: a duration ago (7d, 24h), an ISO date or date-time', instant, '7d')
    .option('--until <when>', 'end (default now), same forms as --since', instant)
    .option('--csv', 'print CSV instead of a table');
  withGatewayUrl(spend).action(async (flags: SpendFlags) => {
    try {
      const url = gatewayBaseUrl(flags.url, io.env);
      const report = await fetchSpend({ ...flags, url }, io.env.SWITCHYARD_MASTER_KEY);
      io.out(flags.csv ? formatSpendCsv(report) : formatSpendTable(report));
    } catch (err) {
      io.err(`switchyard spend: ${(err as Error).message}\n`);
      io.setExitCode(1);
    }
  });
}
