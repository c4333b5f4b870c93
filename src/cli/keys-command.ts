// `switchyard keys ...` and `switchyard teams ...`: manage virtual keys and teams through a running
// gateway's admin API, so the same commands work for SQLite and PostgreSQL deployments and never
// need database credentials. The master key comes from SWITCHYARD_MASTER_KEY (never from argv,
// which other users of the machine can read).

import { InvalidArgumentError, type Command } from 'commander';
import { adminClient, GatewayError, processIo, runAction, withGatewayUrl, type CliIo, type Json } from './gateway-client.ts';
import { printList, type Column } from './table.ts';

export type { CliIo } from './gateway-client.ts';

/** The limit fields keys and teams share, shown the same way in both lists. */
const LIMIT_COLUMNS: Column[] = [
  ['RPM', (r) => r.rpm],
  ['TPM', (r) => r.tpm],
  ['CONC', (r) => r.max_concurrent],
  ['MODELS', (r) => r.models ?? 'all'],
];

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

interface Connection {
  url?: string;
  json?: boolean;
}

interface LimitFlags {
  rpm?: number;
  tpm?: number;
  maxConcurrent?: number;
  models?: string[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function usd(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected an amount in USD greater than 0, e.g. 250');
  return n;
}

function modelList(value: string): string[] {
  const models = value.split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length === 0) throw new InvalidArgumentError('expected comma-separated model names, e.g. llama-8b,gpt-4o');
  return models;
}

/** `30d`, `12h`, `2w`, ... from now, or an ISO 8601 date; returned as unix seconds for the API. */
export function parseExpiry(value: string, now: number): number {
  const m = /^(\d+)([smhdw])$/.exec(value.trim());
  const ms = m ? now + Number(m[1]) * UNIT_MS[m[2]] : Date.parse(value);
  if (!Number.isFinite(ms) || ms <= now) throw new InvalidArgumentError('expected a duration such as 30d, 12h or 2w, or a future ISO 8601 date');
  return Math.floor(ms / 1000);
}

/** The admin API under /admin/v1, opened by the master key from the environment. */
function client(flags: Connection, io: CliIo) {
  const api = adminClient(flags.url, io);
  return { call: (method: string, path: string, body?: unknown) => api.json(method, `/admin/v1${path}`, body) };
}

function limitBody(flags: LimitFlags): Json {
  const body: Json = {};
  if (flags.rpm !== undefined) body.rpm = flags.rpm;
  if (flags.tpm !== undefined) body.tpm = flags.tpm;
  if (flags.maxConcurrent !== undefined) body.max_concurrent = flags.maxConcurrent;
  if (flags.models !== undefined) body.models = flags.models;
  return body;
}

/** A team given by id (`team_...`) or by name. */
async function resolveTeam(api: ReturnType<typeof client>, team: string): Promise<string> {
  if (team.startsWith('team_')) return team;
  const found = (await api.call('GET', `/teams?name=${encodeURIComponent(team)}`)).data as Json[];
  if (found.length === 0) throw new GatewayError(`no team named '${team}' (create it with: switchyard teams create ${team})`);
  return String(found[0].id);
}

const date = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().slice(0, 10) : undefined);

function withLimits(cmd: Command): Command {
  return cmd
    .option('--rpm <n>', 'requests per minute', positiveInt)
    .option('--tpm <n>', 'tokens per minute (input + output)', positiveInt)
    .option('--max-concurrent <n>', 'requests in flight at once', positiveInt)
    .option('--models <list>', 'allowed models, comma-separated (default: every model)', modelList);
}

function withConnection(cmd: Command): Command {
  return withGatewayUrl(cmd).option('--json', 'print JSON instead of text');
}

export function registerKeysCommand(program: Command, io: CliIo = processIo): void {
  const keys = program.command('keys').description('create, list and revoke virtual API keys (through the gateway admin API; needs SWITCHYARD_MASTER_KEY)');

  withConnection(withLimits(keys.command('create').description('create a key; its secret is printed once')))
    .option('--team <team>', 'team id or name')
    .option('--name <name>', 'a label for the key')
    .option('--budget <usd>', 'monthly budget in USD (hard limit)', usd)
    .option('--expires <when>', 'expiry: a duration such as 30d, 12h, 2w, or an ISO 8601 date', (value) => parseExpiry(value, io.now()))
    .action(
      runAction(io, async (flags: Connection & LimitFlags & { team?: string; name?: string; budget?: number; expires?: number }) => {
        const api = client(flags, io);
        const body: Json = { ...limitBody(flags) };
        if (flags.name) body.name = flags.name;
        if (flags.expires !== undefined) body.expires_at = flags.expires;
        if (flags.team) body.team_id = await resolveTeam(api, flags.team);
        const key = await api.call('POST', '/keys', body);
        let budget: Json | undefined;
        let budgetProblem: string | undefined;
        if (flags.budget !== undefined) {
          try {
            budget = await api.call('POST', '/budgets', { scope: 'key', scope_id: key.id, period: 'monthly', limit_usd: flags.budget });
          } catch (err) {
            budgetProblem =
              err instanceof GatewayError && err.status === 404
                ? `warning: this gateway has no budgets endpoint (POST /admin/v1/budgets answered 404), so key ${String(key.id)} was created WITHOUT a budget.`
                : `warning: key ${String(key.id)} was created, but its budget was not: ${(err as Error).message}`;
            io.setExitCode(1);
          }
        }
        if (flags.json) io.out(JSON.stringify(budget ? { ...key, budget } : key, null, 2) + '\n');
        else {
          io.out(`Created key ${String(key.id)}${key.name ? ` (${String(key.name)})` : ''}${key.team_id ? ` in team ${String(key.team_id)}` : ''}.\n`);
          io.out(`\n  ${String(key.key)}\n\nStore it now: it is shown only once (the gateway keeps only a hash).\n`);
          if (budget) io.out(`Monthly budget: $${flags.budget} (budget ${String(budget.id)}).\n`);
        }
        if (budgetProblem) io.err(budgetProblem + '\n');
      }),
    );

  withConnection(keys.command('list').description('list keys (prefixes only; secrets are never shown again)'))
    .option('--team <team>', 'only keys of this team (id or name)')
    .action(
      runAction(io, async (flags: Connection & { team?: string }) => {
        const api = client(flags, io);
        const query = flags.team ? `?team_id=${encodeURIComponent(await resolveTeam(api, flags.team))}` : '';
        const data = (await api.call('GET', `/keys${query}`)).data as Json[];
        printList(io.out, flags.json, data, data, 'No keys.\n', [
          ['ID', (k) => k.id],
          ['NAME', (k) => k.name],
          ['PREFIX', (k) => `${String(k.key_prefix)}...`],
          ['TEAM', (k) => k.team_id],
          ['STATUS', (k) => k.status],
          ...LIMIT_COLUMNS,
          ['EXPIRES', (k) => date(k.expires_at)],
          ['LAST USED', (k) => date(k.last_used_at)],
        ]);
      }),
    );

  withConnection(keys.command('revoke').description('revoke a key; it is refused at once on every gateway replica').argument('<id>', 'key id (key_...)')).action(
    runAction(io, async (id: string, flags: Connection) => {
      const key = await client(flags, io).call('POST', `/keys/${encodeURIComponent(id)}/revoke`);
      if (flags.json) io.out(JSON.stringify(key, null, 2) + '\n');
      else io.out(`Revoked key ${String(key.id)}.\n`);
    }),
  );

  const teams = program.command('teams').description('create and list teams (through the gateway admin API; needs SWITCHYARD_MASTER_KEY)');

  withConnection(withLimits(teams.command('create').description('create a team; its limits are shared by all its keys').argument('<name>', 'team name'))).action(
    runAction(io, async (name: string, flags: Connection & LimitFlags) => {
      const team = await client(flags, io).call('POST', '/teams', { name, ...limitBody(flags) });
      if (flags.json) io.out(JSON.stringify(team, null, 2) + '\n');
      else io.out(`Created team ${String(team.name)} (${String(team.id)}).\n`);
    }),
  );

  withConnection(teams.command('list').description('list teams')).action(
    runAction(io, async (flags: Connection) => {
      const data = (await client(flags, io).call('GET', '/teams')).data as Json[];
      printList(io.out, flags.json, data, data, 'No teams.\n', [
        ['ID', (t) => t.id],
        ['NAME', (t) => t.name],
        ...LIMIT_COLUMNS,
      ]);
    }),
  );
}
