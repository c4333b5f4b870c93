// Every CLI error is one line on stderr that says what to fix, with a non-zero exit code and no
// stack trace: each command's flags and the environment variables it reads, given a bad value,
// through the real `switchyard` process.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, writeConfig } from '../support/processes.ts';

/** Several CLI processes at once: each spends most of its second loading TypeScript. */
const PARALLEL = 4;

interface Case {
  args: string[];
  env?: Record<string, string>;
  /** What the one line must say. */
  says: RegExp;
}

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
const portOf = (server: Server) => (server.address() as { port: number }).port;

describe('CLI errors: one line, what to fix, exit code 1, no stack trace', () => {
  let taken: Server;
  let closedPort: number;
  let notADir: string;
  let badProfile: string;
  let emptyJsonl: string;

  before(async () => {
    taken = await listen();
    const closed = await listen();
    closedPort = portOf(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-errors-'));
    notADir = join(dir, 'a-file');
    writeFileSync(notADir, 'x');
    emptyJsonl = join(dir, 'input.jsonl');
    writeFileSync(emptyJsonl, '{"messages":[{"role":"user","content":"hi"}]}\n');
    badProfile = writeConfig({ models: [{ name: 'm', deployments: [{ provider: 'simulator', profile: 'nosuch' }] }] });
  });
  after(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  const cases = (): Case[] => {
    const down = `http://127.0.0.1:${closedPort}`;
    return [
      // serve
      { args: ['serve', '--port', 'abc'], says: /--port .*'abc' is invalid\. expected a port number 0-65535/ },
      { args: ['serve', '--port', '70000'], says: /--port .*'70000' is invalid/ },
      { args: ['serve', '--log-level', 'loud'], says: /--log-level .*'loud' is invalid\. Allowed choices are trace, debug, info/ },
      { args: ['serve', '--config', '/nonexistent/switchyard.yaml'], says: /\/nonexistent\/switchyard\.yaml: cannot read file: ENOENT/ },
      { args: ['serve', '--config', badProfile], says: /profile: unknown simulator profile "nosuch"; known profiles: h100-llama-3\.1-8b/ },
      { args: ['serve', '--data-dir', join(notADir, 'data')], says: /cannot open the SQLite store at .*; set --data-dir or SWITCHYARD_DATA_DIR to a writable directory/ },
      { args: ['serve', '--port', String(portOf(taken))], says: /127\.0\.0\.1:\d+ is already in use: stop what listens there, or choose another port with --port/ },
      { args: ['serve', '--bogus'], says: /unknown option '--bogus'/ },
      { args: ['nosuch'], says: /unknown command 'nosuch'/ },
      { args: ['serve'], env: { PORT: 'eighty' }, says: /PORT: expected a port number 0-65535, got "eighty"/ },
      { args: ['serve'], env: { LOG_LEVEL: 'loud' }, says: /LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"/ },
      { args: ['serve'], env: { SWITCHYARD_MASTER_KEY: 'short' }, says: /SWITCHYARD_MASTER_KEY: the master key must be at least 8 characters/ },
      { args: ['serve'], env: { DATABASE_URL: 'not-a-url' }, says: /DATABASE_URL: expected a PostgreSQL URL such as postgres:\/\// },
      { args: ['serve'], env: { DATABASE_URL: `postgres://u:p@127.0.0.1:${closedPort}/x` }, says: /cannot reach the PostgreSQL store at .*ECONNREFUSED.*check DATABASE_URL/ },
      { args: ['serve'], env: { SWITCHYARD_CONFIG: '/nonexistent.yaml' }, says: /\/nonexistent\.yaml: cannot read file/ },
      // check-config
      { args: ['check-config', '/nonexistent.yaml'], says: /\/nonexistent\.yaml: cannot read file: ENOENT/ },
      { args: ['check-config', tmpdir()], says: /cannot read file: EISDIR/ },
      { args: ['check-config', badProfile], says: /unknown simulator profile "nosuch"/ },
      { args: ['check-config', badProfile, '--bogus'], says: /unknown option '--bogus'/ },
      // sim
      { args: ['sim', '--port', '-1'], says: /--port .*'-1' is invalid\. expected an integer >= 0/ },
      { args: ['sim', '--port', String(portOf(taken))], says: /127\.0\.0\.1:\d+ is already in use/ },
      { args: ['sim', '--host', '999.1.1.1', '--port', '0'], says: /cannot listen on 999\.1\.1\.1: not an address of this machine; set --host/ },
      { args: ['sim', '--profile', 'nosuch', '--port', '0'], says: /unknown simulator profile "nosuch"; known profiles/ },
      { args: ['sim', '--time-scale', 'fast'], says: /--time-scale .*'fast' is invalid\. expected a number >= 0/ },
      { args: ['sim', '--seed', '-1'], says: /--seed .*invalid/ },
      { args: ['sim', '--embedding-dim', '0'], says: /--embedding-dim .*invalid\. expected an integer >= 1/ },
      { args: ['sim', '--max-model-len', 'x'], says: /--max-model-len .*invalid/ },
      { args: ['sim', '--num-gpu-blocks', '0'], says: /--num-gpu-blocks .*invalid/ },
      { args: ['sim', '--max-num-seqs', '1.5'], says: /--max-num-seqs .*invalid/ },
      { args: ['sim', '--max-num-batched-tokens', '-3'], says: /--max-num-batched-tokens .*invalid/ },
      { args: ['sim', '--error-rate', '2'], says: /--error-rate .*invalid\. expected a number between 0 and 1/ },
      { args: ['sim', '--error-status', '200'], says: /--error-status .*invalid\. expected an integer >= 400/ },
      { args: ['sim', '--added-latency-ms', '-5'], says: /--added-latency-ms .*invalid/ },
      { args: ['sim', '--drop-mid-stream-rate', '1.5'], says: /--drop-mid-stream-rate .*invalid/ },
      { args: ['sim', '--hang-rate', 'x'], says: /--hang-rate .*invalid/ },
      { args: ['sim', '--reset-rate', '-1'], says: /--reset-rate .*invalid/ },
      { args: ['sim', '--profile', 'tiny', '--max-model-len', '100000', '--port', '0'], says: /maxModelLen 100000 exceeds the KV cache/ },
      // keys and teams
      { args: ['keys', 'create', '--expires', '2020-01-01'], says: /--expires .*'2020-01-01' is invalid\. expected a duration such as 30d, 12h or 2w, or a future ISO 8601 date/ },
      { args: ['keys', 'create', '--expires', 'tomorrow'], says: /--expires .*'tomorrow' is invalid/ },
      { args: ['keys', 'create', '--rpm', 'x'], says: /--rpm .*invalid\. expected a positive integer/ },
      { args: ['keys', 'create', '--tpm', '0'], says: /--tpm .*invalid/ },
      { args: ['keys', 'create', '--max-concurrent', '-1'], says: /--max-concurrent .*invalid/ },
      { args: ['keys', 'create', '--models', ','], says: /--models .*invalid\. expected comma-separated model names/ },
      { args: ['keys', 'create', '--budget', '0'], says: /--budget .*invalid\. expected an amount in USD greater than 0/ },
      { args: ['keys', 'create', '--url', 'notaurl'], says: /--url .*'notaurl' is invalid\. expected the gateway's http:\/\/ or https:\/\/ URL/ },
      { args: ['keys', 'create', '--url', down], says: /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/ },
      { args: ['keys', 'list'], env: { SWITCHYARD_URL: 'gateway.internal' }, says: /SWITCHYARD_URL is "gateway\.internal": expected the gateway's http:\/\/ or https:\/\/ URL/ },
      { args: ['keys', 'list', '--team', 'search', '--url', 'ftp://x'], says: /--url .*'ftp:\/\/x' is invalid/ },
      { args: ['keys', 'revoke'], says: /missing required argument 'id'/ },
      { args: ['keys', 'revoke', 'key_1', '--url', down], says: /cannot reach the gateway/ },
      { args: ['teams', 'create'], says: /missing required argument 'name'/ },
      { args: ['teams', 'create', 'search', '--rpm', '1.5'], says: /--rpm .*invalid\. expected a positive integer/ },
      { args: ['teams', 'list', '--url', 'x'], says: /--url .*'x' is invalid/ },
      // spend
      { args: ['spend', '--group-by', 'colour'], says: /--group-by .*'colour' is invalid\. expected one of team, key, model, day, deployment/ },
      { args: ['spend', '--since', 'yesterday'], says: /--since .*'yesterday' is invalid\. expected an ISO date/ },
      { args: ['spend', '--until', 'later'], says: /--until .*'later' is invalid/ },
      { args: ['spend', '--url', 'x'], says: /--url .*'x' is invalid/ },
      { args: ['spend'], env: { SWITCHYARD_URL: 'x' }, says: /SWITCHYARD_URL is "x"/ },
      { args: ['spend', '--url', down], says: /ECONNREFUSED/ },
      // batch
      { args: ['batch', 'submit', '/nonexistent.jsonl'], says: /cannot read \/nonexistent\.jsonl/ },
      { args: ['batch', 'submit', emptyJsonl, '--endpoint', '/v1/x'], says: /--endpoint .*invalid\. expected one of \/v1\/chat\/completions/ },
      { args: ['batch', 'submit', emptyJsonl, '--url', 'x'], says: /--url .*invalid/ },
      { args: ['batch', 'wait', 'batch_1', '--url', down], says: /cannot reach the gateway.*; the batch keeps running on the gateway, follow it again with: switchyard batch wait batch_1/ },
      { args: ['batch', 'status'], says: /missing required argument 'id'/ },
      { args: ['batch', 'list', '--limit', '0'], says: /--limit .*invalid\. expected a positive integer/ },
      { args: ['batch', 'cancel', 'batch_1', '--url', down], says: /cannot reach the gateway/ },
      { args: ['batch', 'results', 'batch_1', '--url', 'x'], says: /--url .*invalid/ },
      // dlq
      { args: ['dlq', 'list', '--kind', 'x'], says: /--kind .*invalid\. expected one of batch_item, webhook/ },
      { args: ['dlq', 'list', '--limit', 'x'], says: /--limit .*invalid/ },
      { args: ['dlq', 'show'], says: /missing required argument 'id'/ },
      { args: ['dlq', 'replay', '--into', 'x'], says: /--into .*invalid\. expected one of original, new_batch/ },
      { args: ['dlq', 'replay', '--url', down], says: /say what to replay: entry ids, or a filter/ },
      { args: ['dlq', 'purge', '--url', down], says: /say what to purge/ },
      { args: ['dlq', 'purge', '--all', '--url', down], says: /cannot reach the gateway/ },
    ];
  };

  it('for every command, flag and variable given a bad value', { timeout: 600_000 }, async () => {
    const all = cases();
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < all.length) {
          const c = all[next++];
          const label = `${Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v} `).join('')}switchyard ${c.args.join(' ')}`;
          const { code, stderr } = await runCli(c.args, { env: c.env });
          const lines = stderr.split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
          if (code === 0 || code === null) failures.push(`${label}: exit code ${code}`);
          if (lines.length !== 1) failures.push(`${label}: ${lines.length} lines on stderr:\n${stderr}`);
          else if (/^\s+at |node:internal|file:\/\//m.test(stderr)) failures.push(`${label}: a stack trace:\n${stderr}`);
          else if (!c.says.test(lines[0])) failures.push(`${label}: says "${lines[0]}", expected ${c.says}`);
        }
      }),
    );
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} cases:\n${failures.join('\n')}`);
  });
});
