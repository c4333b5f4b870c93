// `switchyard spend` against a real admin API on 127.0.0.1: aligned table, CSV, errors.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { fetchSpend, formatSpendCsv, formatSpendTable, registerSpendCommand } from '../../src/cli/spend-command.ts';
import { MASTER_KEY, startFinopsServer, type FinopsServer } from '../finops/admin-server.ts';

let srv: FinopsServer;
before(async () => {
  srv = await startFinopsServer({ models: [{ name: 'gpt-4o', deployments: [{ provider: 'openai', id: 'oai' }] }] });
  const end = (team: string | null, key: string, prompt: number, completion: number) =>
    srv.finops.finish({ requestId: `r-${Math.random()}`, principal: { keyId: key, teamId: team }, model: 'gpt-4o', deploymentId: 'oai', endpoint: '/v1/chat/completions', usage: { prompt_tokens: prompt, completion_tokens: completion }, status: 200, latencyMs: 10 });
  end('research, "deep"', 'k1', 100_000, 10_000); // $0.35
  end('research, "deep"', 'k1', 100_000, 10_000);
  end('web', 'k2', 1_000_000, 0); // $2.50
  end(null, 'master', 1000, 100);
  await srv.finops.recorder.flush();
});
after(async () => {
  await srv.close();
});

async function runCli(args: string[], env: NodeJS.ProcessEnv = { SWITCHYARD_MASTER_KEY: MASTER_KEY }): Promise<{ out: string; err: string; code: number | undefined }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  let out = '';
  let err = '';
  let code: number | undefined;
  registerSpendCommand(program, { out: (t) => (out += t), err: (t) => (err += t), env, setExitCode: (c) => (code = c) });
  await program.parseAsync(['node', 'switchyard', 'spend', ...args]);
  return { out, err, code };
}

describe('switchyard spend', () => {
  it('prints an aligned table, largest spender first, with a total', async () => {
    const { out, code } = await runCli(['--group-by', 'team', '--since', '7d', '--url', srv.url]);
    assert.equal(code, undefined);
    const lines = out.split('\n');
    assert.match(lines[0], /^Spend by team, \S+ to \S+$/);
    assert.match(lines[2], /^GROUP\s+REQUESTS\s+PROMPT_TOKENS\s+CACHED_TOKENS\s+COMPLETION_TOKENS\s+COST_USD$/);
    assert.match(lines[4], /^web\s+1\s+1000000\s+0\s+0\s+2\.5000$/);
    assert.match(lines[5], /^research, "deep"\s+2\s+200000\s+0\s+20000\s+0\.7000$/);
    assert.match(lines[6], /^-\s+1\s+1000\s+0\s+100\s+0\.0035$/);
    assert.match(lines[8], /^TOTAL\s+4\s+1201000\s+0\s+20100\s+3\.2035$/);
    // Every numeric column ends at the same offset.
    const ends = [lines[2], lines[4], lines[5], lines[8]].map((l) => l.length);
    assert.equal(new Set(ends).size, 1, out);
  });

  it('prints CSV with quoting', async () => {
    const { out } = await runCli(['--group-by', 'team', '--csv', '--url', srv.url]);
    assert.deepEqual(out.trimEnd().split('\n'), [
      'team,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,cost_usd',
      'web,1,1000000,0,0,1000000,2.5',
      '"research, ""deep""",2,200000,0,20000,220000,0.7',
      ',1,1000,0,100,1100,0.0035',
    ]);
  });

  it('reports a wrong key and a bad group clearly', async () => {
    await assert.rejects(fetchSpend({ groupBy: 'key', since: '7d', url: srv.url }, 'sk-nope'), /401: Invalid API key/);
    await assert.rejects(fetchSpend({ groupBy: 'key', since: '7d', url: srv.url }, undefined), /set SWITCHYARD_MASTER_KEY/);
    await assert.rejects(runCli(['--group-by', 'colour', '--url', srv.url]), /expected one of team, key, model, day, deployment/);
    // Checked before any request, with the parser the gateway uses.
    await assert.rejects(runCli(['--since', 'yesterday-ish', '--url', srv.url]), /'yesterday-ish' is invalid\. expected an ISO date/);
  });

  it('formats an empty report', () => {
    const report = { from: 'a', to: 'b', group_by: 'model', data: [], total: { requests: 0, prompt_tokens: 0, cached_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_usd: 0 } };
    assert.match(formatSpendTable(report), /\(no requests in this window\)/);
    assert.equal(formatSpendCsv(report), 'model,requests,prompt_tokens,cached_tokens,completion_tokens,total_tokens,cost_usd\n');
  });
});
