// `switchyard dlq`: argument validation and request shapes, then list/show/replay/purge end to
// end against the real gateway with a batch whose requests fail for good.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import type { CliIo } from '../../src/cli/keys-command.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { purgeRequests, registerDlqCommand, replayBody } from '../../src/cli/dlq-command.ts';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';
import { registerBatchCommand, type BatchIo } from '../../src/cli/batch-command.ts';

export async function runDlqCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), env, setExitCode: (c) => (code = c), now: Date.now };
  const program = new Command().exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  registerDlqCommand(program, io);
  await program.parseAsync(['dlq', ...args], { from: 'user' });
  return { out, err, code };
}

/** `switchyard batch ...` in-process, to make the batches whose requests fail. */
async function runBatchCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const io: BatchIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    setExitCode: (c) => (code = c),
    now: Date.now,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    onInterrupt: () => () => {},
  };
  const program = new Command().exitOverride();
  registerBatchCommand(program, io);
  await program.parseAsync(['batch', ...args], { from: 'user' });
  return { out, err, code };
}

describe('dlq arguments', () => {
  it('builds replay bodies from ids or a filter', () => {
    assert.deepEqual(replayBody(['dlq_1', 'dlq_2'], {}), { ids: ['dlq_1', 'dlq_2'] });
    assert.deepEqual(replayBody([], { batch: 'batch_1', error: 'upstream_error', into: 'new_batch' }), {
      filter: { batch_id: 'batch_1', error_code: 'upstream_error' },
      into: 'new_batch',
    });
    assert.deepEqual(replayBody([], { model: 'm', kind: 'webhook' }), { filter: { model: 'm', kind: 'webhook' } });
    assert.throws(() => replayBody([], {}), /say what to replay/);
    assert.throws(() => replayBody(['dlq_1'], { model: 'm' }), /ids or a filter, not both/);
  });

  it('builds purge requests from ids, a filter or --all', () => {
    assert.deepEqual(purgeRequests(['dlq_1', 'dlq/2'], {}), ['/admin/v1/dlq/dlq_1', '/admin/v1/dlq/dlq%2F2']);
    assert.deepEqual(purgeRequests([], { batch: 'batch_1', kind: 'batch_item' }), ['/admin/v1/dlq?batch_id=batch_1&kind=batch_item']);
    assert.deepEqual(purgeRequests([], { all: true }), ['/admin/v1/dlq?all=true']);
    assert.throws(() => purgeRequests([], {}), /say what to purge/);
    assert.throws(() => purgeRequests([], { all: true, model: 'm' }), /only one of them/);
    assert.throws(() => purgeRequests(['dlq_1'], { all: true }), /only one of them/);
  });

  it('refuses with a usage error before calling the gateway', async () => {
    const down = 'http://127.0.0.1:1';
    await assert.rejects(runDlqCli(['replay', '--url', down]), /say what to replay/);
    await assert.rejects(runDlqCli(['purge', '--url', down]), /say what to purge/);
    await assert.rejects(runDlqCli(['list', '--kind', 'email']), /expected one of batch_item, webhook/);
    await assert.rejects(runDlqCli(['replay', 'dlq_1', '--into', 'elsewhere']), /expected one of original, new_batch/);
    await assert.rejects(runDlqCli(['list', '--limit', '-3']), /positive integer/);
    const unreachable = await runDlqCli(['list', '--url', down]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.err, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: a real gateway whose simulator replica fails every request for a while.

const MODEL = 'sim-llama-3.1-8b';
const MASTER_KEY = 'sk-admin-dlq-test';
const env = { SWITCHYARD_MASTER_KEY: MASTER_KEY };

interface Entry {
  id: string;
  kind: string;
  batch_id: string;
  custom_id: string;
  error: { code: string; status_code: number };
  attempts: number;
  history: { status_code: number; code: string }[];
  request: { messages: unknown[]; model: string };
  replay_count: number;
}

describe('switchyard dlq against the real gateway', () => {
  let gateway: RunningProcess;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dlq-cli-'));
  const input = (name: string, bodies: object[]) => {
    const path = join(dir, name);
    writeFileSync(path, bodies.map((b) => JSON.stringify(b)).join('\n') + '\n');
    return path;
  };
  const chat = (i: number, maxTokens = 8) => ({ messages: [{ role: 'user', content: `question ${i}` }], max_tokens: maxTokens });
  const replica = async () => {
    const res = (await (await fetch(`${gateway.url}/admin/v1/deployments`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as { data: { url: string }[] };
    return new URL(res.data[0].url).origin;
  };
  const dlq = (args: string[]) => runDlqCli([...args, '--url', gateway.url], env);
  const batch = (args: string[]) => runBatchCli([...args, '--url', gateway.url], env);
  const entries = async (args: string[] = []) => (JSON.parse((await dlq(['list', '--json', ...args])).out) as { data: Entry[] }).data;

  before(async () => {
    gateway = await startGateway({
      env,
      config: {
        log_level: 'warn',
        // Failures must reach the batch worker as they are: no gateway retries, no ejection.
        ...simModelConfig({ replicas: 1, timeScale: 0.01, extra: { max_retries: 0, circuit_breaker: { consecutive_failures: 10_000 } } }),
        batch: { max_attempts: 2, backoff_base_ms: 20, backoff_max_ms: 50, poll_interval_ms: 50 },
      },
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('lists, shows, replays (into the original batch and a new one) and purges entries', async () => {
    // Batch A: every request fails with 500 twice (max_attempts 2), then waits in the DLQ.
    await fetch(`${await replica()}/sim/faults`, { method: 'POST', body: JSON.stringify({ errorRate: 1, errorStatus: 500 }) });
    const a = await batch(['submit', input('a.jsonl', [0, 1, 2, 3, 4].map((i) => chat(i))), '--model', MODEL, '--wait']);
    await fetch(`${await replica()}/sim/faults`, { method: 'DELETE' });
    assert.equal(a.code, 1);
    const batchA = /Submitted batch (batch_\w+)/.exec(a.out)![1];
    assert.match(a.out, /0 of 5 requests succeeded, 5 failed\.\nFailed requests are kept in the dead-letter queue: switchyard dlq list --batch batch_/);
    assert.equal(readFileSync(join(dir, 'a.errors.jsonl'), 'utf8').trimEnd().split('\n').length, 5);

    // Batch B: two requests the model rejects (400) fail at once, never retried.
    const b = await batch(['submit', input('b.jsonl', [chat(0), chat(1, 100_000), chat(2), chat(3, 100_000)]), '--model', MODEL, '--wait']);
    assert.equal(b.code, 1);
    const batchB = /Submitted batch (batch_\w+)/.exec(b.out)![1];

    const listed = await dlq(['list']);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, /^ID\s+KIND\s+BATCH\s+CUSTOM_ID\s+MODEL\s+ERROR\s+ATTEMPTS\s+CREATED\n/);
    assert.equal(listed.out.trimEnd().split('\n').length, 1 + 7);
    assert.match(listed.out, new RegExp(`dlq_\\w+\\s+batch_item\\s+${batchB}\\s+line-4\\s+${MODEL}\\s+upstream_rejected_request\\s+1\\s+\\d{4}-`));

    const ofA = await entries(['--batch', batchA]);
    assert.deepEqual(ofA.map((e) => e.custom_id).sort(), ['line-1', 'line-2', 'line-3', 'line-4', 'line-5']);
    const rejected = await entries(['--error', 'upstream_rejected_request', '--kind', 'batch_item']);
    assert.deepEqual(rejected.map((e) => e.custom_id).sort(), ['line-2', 'line-4']);
    assert.equal((await entries(['--kind', 'webhook'])).length, 0);
    const paged = await dlq(['list', '--limit', '2']);
    assert.match(paged.out, /More: switchyard dlq list --after dlq_\w+/);

    const shown = await dlq(['show', ofA[0].id]);
    const entry = JSON.parse(shown.out) as Entry;
    // The replica's 500 reaches the client as the gateway's 502.
    assert.equal(entry.error.status_code, 502);
    assert.equal(entry.attempts, 2);
    assert.deepEqual(entry.history.map((h) => h.status_code), [502, 502]);
    assert.equal(entry.request.model, MODEL);
    assert.ok(shown.out.includes('\n  "history": [\n'), 'pretty-printed');

    // The fault is gone: batch A's requests rejoin batch A and succeed.
    const replayed = await dlq(['replay', '--batch', batchA]);
    assert.equal(replayed.code, 0, replayed.err);
    assert.equal(replayed.out, `Replayed 5 entries: 5 batch requests into ${batchA}.\nFollow it with: switchyard batch wait ${batchA}\n`);
    const waited = await batch(['wait', batchA, '--out', join(dir, 'a-replayed')]);
    assert.equal(waited.code, 0, waited.out + waited.err);
    assert.match(waited.out, /5 of 5 requests succeeded, 0 failed\./);
    assert.equal(readFileSync(join(dir, 'a-replayed.output.jsonl'), 'utf8').trimEnd().split('\n').length, 5);
    assert.equal((await entries(['--batch', batchA])).length, 0);

    // One of B's rejects goes into a new batch, and fails there again (it is still too long).
    const again = await dlq(['replay', rejected[0].id, '--into', 'new_batch']);
    const newBatch = /into (batch_\w+)\./.exec(again.out)?.[1];
    assert.ok(newBatch && newBatch !== batchB, again.out);
    assert.equal((await batch(['wait', newBatch, '--out', join(dir, 'replayed-again')])).code, 1);
    assert.equal((await entries(['--batch', newBatch])).length, 1);
    const unknown = await dlq(['replay', 'dlq_doesnotexist']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /dlq_\w+: no such dead-letter entry/);

    // Purge: one by id, then by filter, then the rest with --all.
    const remaining = await entries();
    assert.equal(remaining.length, 2);
    assert.equal((await dlq(['purge', remaining[0].id])).out, 'Purged 1 entry.\n');
    assert.equal((await dlq(['purge', '--batch', remaining[1].batch_id, '--model', MODEL])).out, 'Purged 1 entry.\n');
    assert.equal((await dlq(['purge', '--all'])).out, 'Purged 0 entries.\n');
    assert.equal((await dlq(['list'])).out, 'The dead-letter queue has no such entries.\n');
  });

  it('asks for the master key', async () => {
    const res = await runDlqCli(['list', '--url', gateway.url], {});
    assert.equal(res.code, 1);
    assert.match(res.err, /401: .*\(set SWITCHYARD_MASTER_KEY to the gateway's master key\)/);
  });
});
