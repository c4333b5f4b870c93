// `switchyard check-config` runs exactly the validation `serve` runs: for each bad config (or bad
// environment) it reports what `serve` refuses to start with, word for word. Budgets whose
// scope_id names no team or key in the store are warnings in both: check-config says so from the
// store it can read, serve logs it and starts.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.ts';
import { SqlTenancyStore } from '../../src/store/tenancy/sql-tenancy-store.ts';
import { freshPostgresSchema } from '../support/databases.ts';
import { logLines, runCli, startGateway, waitForOutput, writeConfig } from '../support/processes.ts';

const sim = (extra: Record<string, unknown> = {}) => ({ provider: 'simulator', replicas: 1, time_scale: 0, ...extra });
const hosted = { name: 'gpt', deployments: [{ provider: 'openai', api_key: '${SWITCHYARD_TEST_UNSET_KEY}' }] };

interface ParityCase {
  name: string;
  config: unknown;
  env?: Record<string, string>;
  /** Each must appear in the report, once. */
  reports: RegExp[];
}

const PARITY: ParityCase[] = [
  { name: 'an unknown simulator profile', config: { models: [{ name: 'm', deployments: [sim({ profile: 'nosuch' })] }] }, reports: [/models\[0\]\.deployments\[0\]\.profile: unknown simulator profile "nosuch"; known profiles: h100-llama-3\.1-8b/] },
  { name: 'an unset ${VAR}', config: { models: [hosted] }, reports: [/models\[0\]\.deployments\[0\]\.api_key: environment variable SWITCHYARD_TEST_UNSET_KEY is not set/] },
  { name: 'a bad LOG_LEVEL', config: { models: [{ name: 'm', deployments: [sim()] }] }, env: { LOG_LEVEL: 'loud' }, reports: [/LOG_LEVEL: expected one of trace/] },
  { name: 'a bad PORT', config: { models: [{ name: 'm', deployments: [sim()] }] }, env: { PORT: 'eighty' }, reports: [/PORT: expected a port number 0-65535, got "eighty"/] },
  { name: 'a short SWITCHYARD_MASTER_KEY', config: { models: [{ name: 'm', deployments: [sim()] }] }, env: { SWITCHYARD_MASTER_KEY: 'short' }, reports: [/SWITCHYARD_MASTER_KEY: the master key must be at least 8 characters/] },
  { name: 'a DATABASE_URL that is not one', config: { models: [{ name: 'm', deployments: [sim()] }] }, env: { DATABASE_URL: 'db.internal' }, reports: [/DATABASE_URL: expected a PostgreSQL URL/] },
  {
    name: 'several problems at once',
    config: {
      server: { port: 'eighty' },
      models: [
        { name: 'm', deployments: [sim({ profile: 'b200' })], fallbacks: ['nope'] },
        { name: 'm', deployments: [{ provider: 'openai-compatible', url: 'not a url' }] },
        hosted,
      ],
    },
    reports: [/server\.port: /, /models\[0\]\.deployments\[0\]\.profile: unknown simulator profile "b200"/, /models\[0\]\.fallbacks\[0\]: no model named "nope"/, /models\[1\]\.name: duplicate model name "m"/, /models\[1\]\.deployments\[0\]\.url: expected a URL/, /models\[2\]\.deployments\[0\]\.api_key: environment variable SWITCHYARD_TEST_UNSET_KEY is not set/],
  },
];

const count = (text: string, re: RegExp) => text.split('\n').filter((line) => re.test(line)).length;

describe('check-config and serve agree', () => {
  for (const c of PARITY) {
    it(`both refuse ${c.name}, with the same report`, { timeout: 120_000 }, async () => {
      const file = writeConfig(c.config);
      const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-parity-'));
      // The same environment for both; a free port unless the case is about PORT.
      const env = { PORT: '0', ...c.env };
      const [checked, served] = await Promise.all([runCli(['check-config', file], { env }), runCli(['serve', '--config', file, '--data-dir', dataDir], { env })]);
      assert.equal(checked.code, 1, `check-config exit code; stdout: ${checked.stdout}`);
      assert.equal(served.code, 1, `serve exit code; output: ${served.stdout}${served.stderr}`);
      for (const re of c.reports) assert.equal(count(checked.stderr, re), 1, `check-config reports ${re} once:\n${checked.stderr}`);
      // One problem is one line; several are a count, then one line each.
      const lines = checked.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length === 1 ? 1 : lines.length - 1, c.reports.length, `only these problems:\n${checked.stderr}`);
      assert.equal(served.stderr, checked.stderr, 'serve refuses with the very report check-config printed');
    });
  }

  it('check-config accepts what serve starts with, and resolves the file as serve does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-resolve-'));
    writeFileSync(join(dir, 'switchyard.yaml'), 'models:\n  - name: m\n    deployments:\n      - provider: simulator\n');
    const local = await runCli(['check-config'], { cwd: dir });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(local.stdout, 'switchyard.yaml: OK (1 model(s), 1 deployment(s))\n');
    const builtIn = await runCli(['check-config']);
    assert.equal(builtIn.stdout, 'built-in default: OK (1 model(s), 1 deployment(s))\n');
    assert.equal(builtIn.stderr, '');
  });
});

describe('budgets whose scope_id names no team or key', () => {
  const budgets = (teamScope: string) => ({
    models: [{ name: 'm', deployments: [sim()] }],
    finops: {
      budgets: [
        { id: 'team-budget', scope: 'team', scope_id: teamScope, period: 'monthly', limit_usd: 100 },
        { id: 'key-budget', scope: 'key', scope_id: 'key_nosuch', period: 'daily', limit_usd: 5 },
        { id: 'everyone', scope: 'global', period: 'monthly', limit_usd: 1000 },
      ],
    },
  });

  it('check-config warns from the SQLite store serve would use, read-only, and exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-scopes-'));
    const file = writeConfig(budgets('team_nosuch'));

    const before = await runCli(['check-config', file, '--data-dir', dataDir]);
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stderr, /finops\.budgets\[0\]\.scope_id: no team has the id "team_nosuch", so this budget binds no request/);
    assert.match(before.stderr, /finops\.budgets\[1\]\.scope_id: no key has the id "key_nosuch"/);
    assert.match(before.stderr, /note: the store at .*switchyard\.db does not exist yet, so it has no teams or keys/);
    assert.equal(before.stderr.split('\n').filter(Boolean).length, 3, before.stderr);
    assert.ok(!existsSync(join(dataDir, 'switchyard.db')), 'check-config created no store');

    const store = await openStore({ dataDir });
    const team = await new SqlTenancyStore(store.sql).createTeam({ name: 'search' });
    await store.close();

    const byName = await runCli(['check-config', writeConfig(budgets('search')), '--data-dir', dataDir]);
    assert.match(byName.stderr, new RegExp(`finops\\.budgets\\[0\\]\\.scope_id: "search" is a team's name; scope_id takes its id: ${team.id}`));
    const byId = await runCli(['check-config', writeConfig(budgets(team.id)), '--data-dir', dataDir]);
    assert.equal(byId.code, 0);
    assert.doesNotMatch(byId.stderr, /budgets\[0\]/, 'a team that exists is no warning');
    assert.match(byId.stderr, /finops\.budgets\[1\]\.scope_id: no key has the id "key_nosuch"/);
    assert.match(byId.stderr, /note: teams and keys were looked up in the store at /);
  });

  it('check-config reads PostgreSQL through DATABASE_URL, as serve does', async (t) => {
    const pg = await freshPostgresSchema(t);
    if (!pg) return;
    try {
      const file = writeConfig(budgets('team_nosuch'));
      const empty = await runCli(['check-config', file], { env: { DATABASE_URL: pg.url } });
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stderr, /no team has the id "team_nosuch"/);
      assert.match(empty.stderr, /has no teams or keys yet/);
      const store = await openStore({ dataDir: '', databaseUrl: pg.url });
      const team = await new SqlTenancyStore(store.sql).createTeam({ name: 'search' });
      await store.close();
      const found = await runCli(['check-config', writeConfig(budgets(team.id))], { env: { DATABASE_URL: pg.url } });
      assert.doesNotMatch(found.stderr, /budgets\[0\]/);
    } finally {
      await pg.drop();
    }
  });

  it('check-config says when it cannot read the store, and still exits 0', async () => {
    const unreachable = await runCli(['check-config', writeConfig(budgets('team_nosuch'))], { env: { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x' } });
    assert.equal(unreachable.code, 0);
    assert.match(unreachable.stderr, /^[^\n]*note: budget scope ids not checked: cannot read the store at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x .*; set DATABASE_URL or --data-dir to the store serve uses\n$/);
  });

  it('serve starts, and says the same in its banner and its log', async () => {
    const gateway = await startGateway({ config: budgets('team_nosuch') });
    try {
      assert.match(gateway.output(), /Warning: finops\.budgets\[0\]\.scope_id: no team has the id "team_nosuch", so this budget binds no request/);
      assert.match(gateway.output(), /Warning: finops\.budgets\[1\]\.scope_id: no key has the id "key_nosuch"/);
      await waitForOutput(gateway.output, (text) => logLines(text, 'config budget binds no request').length === 2, 10_000, 'the log lines');
      assert.deepEqual(logLines(gateway.output(), 'config budget binds no request').map((l) => l.path), ['finops.budgets[0].scope_id', 'finops.budgets[1].scope_id']);
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
  });
});
