// `switchyard batch`: line normalisation, the progress line, the client against a small stub
// (multipart shape, error reporting, Ctrl-C), and end to end against the real gateway.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { normaliseLine, prepareUpload, registerBatchCommand, shellWord, type BatchIo } from '../../src/cli/batch-command.ts';
import { etaSeconds, formatDuration, formatProgress, ProgressReporter, RateMeter } from '../../src/cli/progress.ts';
import { REPO_ROOT, simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-batch-cli-'));
function file(name: string, lines: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}
const readJsonl = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

interface CliRun {
  out: string;
  err: string;
  code: number;
}

/** Runs `switchyard batch ...` in-process; `interruptAfterMs` simulates Ctrl-C. */
async function runBatchCli(args: string[], options: { env?: NodeJS.ProcessEnv; tty?: boolean; interruptAfterMs?: number } = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  let code = 0;
  let onInterrupt: (() => void) | undefined;
  const io: BatchIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: options.env ?? {},
    setExitCode: (c) => (code = c),
    now: Date.now,
    stdoutIsTTY: options.tty ?? false,
    stderrIsTTY: false,
    columns: 120,
    onInterrupt: (handler) => {
      onInterrupt = handler;
      return () => (onInterrupt = undefined);
    },
  };
  const timer = options.interruptAfterMs === undefined ? undefined : setTimeout(() => onInterrupt?.(), options.interruptAfterMs);
  const program = new Command().exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
  registerBatchCommand(program, io);
  try {
    await program.parseAsync(['batch', ...args], { from: 'user' });
  } finally {
    clearTimeout(timer);
  }
  return { out, err, code };
}

describe('batch input lines', () => {
  const chat = { messages: [{ role: 'user', content: 'hi' }] };

  it('wraps bare bodies as line-<N>, inferring the endpoint from the body', () => {
    const wrapped = normaliseLine(JSON.stringify(chat), 7, {});
    assert.equal(wrapped.kind, 'request');
    assert.deepEqual(JSON.parse(wrapped.kind === 'request' ? wrapped.text : ''), { custom_id: 'line-7', method: 'POST', url: '/v1/chat/completions', body: chat });
    const urlOf = (body: object, endpoint?: string) => {
      const l = normaliseLine(JSON.stringify(body), 1, { endpoint });
      return l.kind === 'request' ? l.url : l.kind;
    };
    assert.equal(urlOf({ prompt: 'x' }), '/v1/completions');
    assert.equal(urlOf({ input: 'x' }), '/v1/embeddings');
    assert.equal(urlOf({ prompt: 'x' }, '/v1/chat/completions'), '/v1/chat/completions', '--endpoint wins over inference');
  });

  it('fills a missing model with --model and keeps a model that is there', () => {
    const bare = normaliseLine(JSON.stringify(chat), 1, { model: 'm1' });
    assert.equal(bare.kind === 'request' && (JSON.parse(bare.text) as { body: { model: string } }).body.model, 'm1');
    const named = normaliseLine(JSON.stringify({ ...chat, model: 'mine' }), 1, { model: 'm1' });
    assert.equal(named.kind === 'request' && (JSON.parse(named.text) as { body: { model: string } }).body.model, 'mine');
    const full = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: chat });
    const filled = normaliseLine(full, 1, { model: 'm1' });
    assert.ok(filled.kind === 'request' && filled.changed);
    assert.equal(filled.kind === 'request' && (JSON.parse(filled.text) as { body: { model: string } }).body.model, 'm1');
    const untouched = normaliseLine(full, 1, {});
    assert.deepEqual(untouched, { kind: 'request', text: full, changed: false, url: '/v1/chat/completions' }, 'a full line passes byte for byte');
  });

  it('reports lines that are not JSON objects or not requests', () => {
    assert.match(String((normaliseLine('{"messages": [', 1, {}) as { message: string }).message), /not valid JSON/);
    assert.deepEqual(normaliseLine('[1]', 1, {}), { kind: 'error', message: 'expected a JSON object' });
    assert.match(String((normaliseLine('{"hello": 1}', 1, {}) as { message: string }).message), /neither a batch line/);
    assert.deepEqual(normaliseLine('   ', 1, {}), { kind: 'blank' });
  });

  it('uploads a file of full lines as is and a file needing changes as a normalised copy, line numbers kept', async () => {
    const full = file('full.jsonl', [{ custom_id: 'a', method: 'POST', url: '/v1/embeddings', body: { model: 'm', input: 'x' } }]);
    const same = await prepareUpload(full, {});
    assert.equal(same.path, full);
    assert.equal(same.endpoint, '/v1/embeddings', 'the endpoint comes from the first line');
    assert.equal(same.requests, 1);

    const bare = file('bare.jsonl', [chat, '', { ...chat, model: 'x' }]);
    const copy = await prepareUpload(bare, { model: 'm' });
    assert.notEqual(copy.path, bare);
    const lines = readFileSync(copy.path, 'utf8').split('\n');
    assert.equal(lines[1], '', 'blank lines stay, so line 3 is still line 3');
    assert.deepEqual(JSON.parse(lines[2]), { custom_id: 'line-3', method: 'POST', url: '/v1/chat/completions', body: { ...chat, model: 'x' } });
    assert.equal(copy.requests, 2);
    await copy.cleanup();
    assert.ok(!existsSync(copy.path), 'the copy is removed');
  });

  it('streams a 100,000-line file', async () => {
    const path = join(dir, 'big.jsonl');
    writeFileSync(path, Array.from({ length: 100_000 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `q${i}` }] })).join('\n'));
    const prepared = await prepareUpload(path, { model: 'm' });
    assert.equal(prepared.requests, 100_000);
    const last = readFileSync(prepared.path, 'utf8').trimEnd().split('\n').at(-1)!;
    assert.equal((JSON.parse(last) as { custom_id: string }).custom_id, 'line-100000');
    await prepared.cleanup();
  });

  it('refuses a file with bad lines before uploading, listing them with line numbers', async () => {
    const bad = file('bad.jsonl', [chat, 'not json', ...Array.from({ length: 25 }, () => ({ nothing: 1 }))]);
    const res = await runBatchCli(['submit', bad, '--url', 'http://127.0.0.1:1']);
    assert.equal(res.code, 1);
    assert.match(res.err, /bad\.jsonl has 26 bad lines; nothing was uploaded:\n {2}line 2: not valid JSON/);
    assert.match(res.err, /line 3: neither a batch line/);
    assert.match(res.err, /\.\.\. and 6 more/);
    assert.doesNotMatch(res.err, /cannot reach/, 'no request was attempted');
    const empty = file('empty.jsonl', ['']);
    assert.match((await runBatchCli(['submit', empty])).err, /has no request lines/);
    assert.match((await runBatchCli(['submit', join(dir, 'missing.jsonl')])).err, /cannot read .*missing\.jsonl.*ENOENT/);
  });

  it('quotes paths in the commands it prints', () => {
    assert.equal(shellWord('/data/run-1/batch.v2'), '/data/run-1/batch.v2');
    assert.equal(shellWord("my batch's out"), `'my batch'\\''s out'`);
  });

  it('validates flags', async () => {
    await assert.rejects(runBatchCli(['submit', 'x.jsonl', '--endpoint', '/v1/images']), /expected one of \/v1\/chat\/completions/);
    await assert.rejects(runBatchCli(['list', '--limit', '0']), /positive integer/);
  });
});

describe('progress line', () => {
  it('formats durations, rates and ETA', () => {
    assert.equal(formatDuration(0.4), '0s');
    assert.equal(formatDuration(59), '59s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
    assert.equal(etaSeconds({ total: 100, completed: 40, failed: 10 }, 5), 10);
    assert.equal(etaSeconds({ total: 100, completed: 40, failed: 10 }, undefined), undefined);
    assert.equal(etaSeconds({ total: 100, completed: 90, failed: 10 }, 0), 0);
    const line = formatProgress({ status: 'in_progress', counts: { total: 50, completed: 20, failed: 5 }, rate: 12.5, etaSeconds: 2 }, { bar: true, label: 'batch_1' });
    assert.equal(line, 'batch_1  [############------------]  50%  25/50 (20 done, 5 failed)  13/s  ETA 2s  in_progress');
    assert.equal(formatProgress({ status: 'in_progress', counts: { total: 50, completed: 1, failed: 0 }, rate: 2.25 }), '1/50 (1 done, 0 failed)  2.3/s  ETA ?  in_progress');
    assert.equal(formatProgress({ status: 'validating', counts: { total: 0, completed: 0, failed: 0 } }, { label: 'b' }), 'b validating');
  });

  it('measures the rate over a sliding window', () => {
    const meter = new RateMeter(10_000);
    meter.add(0, 0);
    assert.equal(meter.rate(), undefined);
    meter.add(1_000, 100);
    assert.equal(meter.rate(), 100);
    for (let t = 2_000; t <= 30_000; t += 1_000) meter.add(t, 100 + (t - 1_000) / 100); // then 10/s
    assert.equal(meter.rate(), 10, 'the early burst has left the window');
  });

  it('redraws one line on a terminal and prints at most every interval otherwise', () => {
    let tty = '';
    const onTty = new ProgressReporter((t) => (tty += t), { tty: true, columns: 200 });
    onTty.update('in_progress', { total: 10, completed: 0, failed: 0 }, 0);
    onTty.update('in_progress', { total: 10, completed: 5, failed: 1 }, 1_000);
    onTty.update('completed', { total: 10, completed: 9, failed: 1 }, 2_000);
    onTty.finish();
    assert.equal(tty.split('\r').length, 4, 'three redraws');
    assert.ok(tty.endsWith('\n') && !tty.slice(0, -1).includes('\n'));
    assert.match(tty, /\r\[#{14}-{10}\]\s+60%\s+6\/10 \(5 done, 1 failed\)\s+6\.0\/s\s+ETA 1s\s+in_progress/);

    let narrow = '';
    const onNarrow = new ProgressReporter((t) => (narrow += t), { tty: true, columns: 50 });
    onNarrow.update('in_progress', { total: 10, completed: 5, failed: 1 }, 0);
    assert.equal(narrow, '\r6/10 (5 done, 1 failed)  -/s  ETA ?  in_progress', 'the bar goes first');

    let log = '';
    const inLog = new ProgressReporter((t) => (log += t), { tty: false, intervalMs: 5_000, label: 'batch_1' });
    for (let t = 0; t <= 12_000; t += 500) inLog.update('in_progress', { total: 100, completed: t / 500, failed: 0 }, t);
    inLog.finish();
    assert.equal(log.split('\n').filter(Boolean).length, 3, log);
    assert.match(log, /^batch_1 {2}0\/100 \(0 done, 0 failed\)/, 'log lines name the batch');
    assert.ok(!log.includes('\r'));
  });
});

// A stub of the gateway's public API, to check the wire shapes and the failure paths.
interface Stub {
  url: string;
  uploads: { purpose: string; filename: string; content: string; auth?: string }[];
  created: unknown[];
  polls: number;
  close(): Promise<void>;
}

async function startStub(behaviour: { uploadError?: { status: number; message: string }; statuses?: string[]; failPolls?: number }): Promise<Stub> {
  const stub: Omit<Stub, 'url' | 'close'> = { uploads: [], created: [], polls: 0 };
  const batch = (status: string) => ({
    id: 'batch_1',
    object: 'batch',
    endpoint: '/v1/chat/completions',
    status,
    created_at: 1000,
    completed_at: status === 'completed' ? 1004 : null,
    output_file_id: status === 'completed' ? 'file-out' : null,
    error_file_id: null,
    errors: null,
    request_counts: { total: 2, completed: status === 'completed' ? 2 : 1, failed: 0 },
  });
  const server: Server = createServer((req: IncomingMessage, res) => {
    const send = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'POST' && req.url === '/v1/files') {
      const upload: Stub['uploads'][number] = { purpose: '', filename: '', content: '', auth: req.headers.authorization };
      const bb = busboy({ headers: req.headers });
      bb.on('field', (name, value) => name === 'purpose' && (upload.purpose = value));
      bb.on('file', (_name, stream, info) => {
        upload.filename = info.filename ?? '';
        stream.on('data', (d: Buffer) => (upload.content += d.toString()));
      });
      bb.on('close', () => {
        stub.uploads.push(upload);
        if (behaviour.uploadError) return send(behaviour.uploadError.status, { error: { message: behaviour.uploadError.message, type: 'invalid_request_error', param: 'file', code: 'invalid_batch_file' } });
        send(200, { id: 'file-in', object: 'file', bytes: upload.content.length, filename: upload.filename, purpose: 'batch', status: 'processed' });
      });
      req.pipe(bb);
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/batches') {
        stub.created.push(JSON.parse(body));
        return send(200, batch('validating'));
      }
      if (req.url === '/v1/batches/batch_1') {
        stub.polls++;
        if (stub.polls <= (behaviour.failPolls ?? 0)) return send(502, { error: { message: 'bad gateway' } });
        const statuses = behaviour.statuses ?? ['completed'];
        return send(200, batch(statuses[Math.min(stub.polls - 1 - (behaviour.failPolls ?? 0), statuses.length - 1)]));
      }
      if (req.url === '/v1/files/file-out/content') return res.writeHead(200).end('{"custom_id":"a"}\n{"custom_id":"b"}\n');
      send(404, { error: { message: `no route ${req.url}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(stub as Stub, { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
}

describe('batch client against a stub gateway', () => {
  it('uploads multipart with purpose=batch and the original filename, then creates the batch', async () => {
    const stub = await startStub({ failPolls: 2 });
    try {
      const input = file('stubbed.jsonl', [{ messages: [{ role: 'user', content: 'a' }] }, { messages: [{ role: 'user', content: 'b' }] }]);
      const res = await runBatchCli(['submit', input, '--model', 'm', '--wait', '--url', stub.url], { env: { SWITCHYARD_API_KEY: 'sk-vk', SWITCHYARD_MASTER_KEY: 'sk-master' } });
      assert.equal(res.code, 0, res.err);
      assert.equal(stub.uploads.length, 1);
      assert.equal(stub.uploads[0].purpose, 'batch');
      assert.equal(stub.uploads[0].filename, 'stubbed.jsonl');
      assert.equal(stub.uploads[0].auth, 'Bearer sk-vk', 'a virtual key wins over the master key');
      assert.deepEqual(
        stub.uploads[0].content.trimEnd().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id),
        ['line-1', 'line-2'],
      );
      assert.deepEqual(stub.created, [{ input_file_id: 'file-in', endpoint: '/v1/chat/completions', completion_window: '24h' }]);
      assert.equal(stub.polls, 3, 'two failed polls (502) were retried');
      assert.match(res.out, /Submitted batch batch_1: 2 requests/);
      assert.match(res.out, /Batch batch_1 completed in 4s: 2 of 2 requests succeeded, 0 failed\./);
      assert.match(res.out, /Wrote 2 results to .*stubbed\.output\.jsonl/);
      assert.deepEqual(readJsonl(join(dir, 'stubbed.output.jsonl')).map((l) => l.custom_id), ['a', 'b']);
      assert.ok(!existsSync(join(dir, 'stubbed.errors.jsonl')));
    } finally {
      await stub.close();
    }
  });

  it("prints the gateway's 400 about bad lines and exits 1", async () => {
    const stub = await startStub({ uploadError: { status: 400, message: 'The file has 2 invalid lines:\nline 2: url must be /v1/chat/completions\nline 5: duplicate custom_id "a"' } });
    try {
      const res = await runBatchCli(['submit', file('refused.jsonl', [{ messages: [] }]), '--url', stub.url]);
      assert.equal(res.code, 1);
      assert.match(res.err, /^switchyard: the gateway refused .*refused\.jsonl: 400: The file has 2 invalid lines:\nline 2: url must be/);
      assert.match(res.err, /line 5: duplicate custom_id "a"\n$/);
    } finally {
      await stub.close();
    }
  });

  it('leaves the batch running on Ctrl-C and says how to follow it up', async () => {
    const stub = await startStub({ statuses: ['in_progress'] });
    try {
      const res = await runBatchCli(['wait', 'batch_1', '--url', stub.url], { interruptAfterMs: 700 });
      assert.equal(res.code, 130);
      assert.match(res.out, /batch_1 {2}1\/2 \(1 done, 0 failed\)/);
      assert.match(res.err, /Stopped following batch batch_1; it keeps running on the gateway\.\n {2}follow it again: {3}switchyard batch wait batch_1/);
      assert.match(res.err, /switchyard batch cancel batch_1/);
    } finally {
      await stub.close();
    }
  });

  it('says how to reach the gateway when it is down', async () => {
    const res = await runBatchCli(['list', '--url', 'http://127.0.0.1:1']);
    assert.equal(res.code, 1);
    assert.match(res.err, /cannot reach the gateway at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: the real gateway with simulator replicas.

const MODEL = 'sim-llama-3.1-8b';
const chatLines = (n: number, extra: object = {}) => Array.from({ length: n }, (_, i) => ({ messages: [{ role: 'user', content: `question ${i}: say something` }], max_tokens: 8, ...extra }));

/** The simulator replicas behind the gateway, to inject faults into. */
async function replicaOrigins(gateway: RunningProcess): Promise<string[]> {
  const res = (await (await fetch(`${gateway.url}/admin/v1/deployments`)).json()) as { data: { url: string }[] };
  return res.data.map((d) => new URL(d.url).origin);
}

async function setFaults(gateway: RunningProcess, faults: Record<string, number> | null): Promise<void> {
  for (const origin of await replicaOrigins(gateway)) {
    const res = await fetch(`${origin}/sim/faults`, faults ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) } : { method: 'DELETE' });
    assert.ok(res.ok, `faults on ${origin}: ${res.status}`);
  }
}

/** `switchyard batch ...` as its own process (real stdout, not a TTY; real SIGINT). */
function spawnCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'batch', ...args], { cwd: REPO_ROOT, env: { ...process.env, SWITCHYARD_MASTER_KEY: '', SWITCHYARD_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('switchyard batch against the real gateway', () => {
  let gateway: RunningProcess;
  before(async () => {
    gateway = await startGateway({ config: { log_level: 'warn', ...simModelConfig({ replicas: 2, timeScale: 0.01 }), batch: { poll_interval_ms: 50 } } });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('submits 50 bare bodies with --wait, draws progress and downloads every result exactly once', async () => {
    const input = file('e2e.jsonl', chatLines(50));
    const res = await runBatchCli(['submit', input, '--model', MODEL, '--wait', '--url', gateway.url], { tty: true });
    assert.equal(res.code, 0, res.err + res.out);
    const id = /Submitted batch (batch_\w+): 50 requests to \/v1\/chat\/completions/.exec(res.out)?.[1];
    assert.ok(id, res.out);
    assert.match(res.out, /\r\[#{24}\] 100% {2}50\/50 \(50 done, 0 failed\) {2}\S+\/s {2}ETA 0s {2}completed *\n/);
    assert.match(res.out, new RegExp(`Batch ${id} completed in \\d+s: 50 of 50 requests succeeded, 0 failed\\.`));
    assert.match(res.out, /Wrote 50 results to .*e2e\.output\.jsonl/);
    const output = readJsonl(join(dir, 'e2e.output.jsonl'));
    const ids = output.map((l) => l.custom_id as string).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => `line-${i + 1}`), 'every custom_id exactly once');
    for (const line of output) assert.equal((line.response as { status_code: number }).status_code, 200);
    assert.ok(!existsSync(join(dir, 'e2e.errors.jsonl')), 'no error file when nothing failed');

    const status = await runBatchCli(['status', id, '--url', gateway.url]);
    assert.match(status.out, new RegExp(`^${id}\\n {2}status {7}completed\\n`));
    assert.match(status.out, /requests {5}50 total, 50 succeeded, 0 failed/);
    const listed = await runBatchCli(['list', '--url', gateway.url]);
    assert.match(listed.out, /^ID\s+STATUS\s+ENDPOINT\s+MODEL\s+TOTAL\s+DONE\s+FAILED\s+CREATED\n/);
    assert.match(listed.out, new RegExp(`${id}\\s+completed\\s+/v1/chat/completions\\s+${MODEL}\\s+50\\s+50\\s+0\\s`));
    const again = await runBatchCli(['results', id, '--out', join(dir, 'again'), '--url', gateway.url]);
    assert.equal(again.code, 0, again.err);
    assert.equal(readJsonl(join(dir, 'again.output.jsonl')).length, 50);
  });

  it("reports the gateway's refusals: bad lines at upload (400), and a model it does not serve at validation", async () => {
    const badMethod = file('bad-method.jsonl', [{ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [] } }, { custom_id: 'b', method: 'GET', url: '/v1/chat/completions', body: { model: MODEL, messages: [] } }]);
    const refused = await runBatchCli(['submit', badMethod, '--url', gateway.url]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /the gateway refused .*bad-method\.jsonl: 400: .*[Ll]ine 2.*method/s);

    const unknownModel = file('unknown-model.jsonl', chatLines(3));
    const failed = await runBatchCli(['submit', unknownModel, '--model', 'no-such-model', '--url', gateway.url]);
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /failed: the gateway rejected its input file:\n {2}Line 1: model "no-such-model" is not served by this gateway \(model_not_found\)/);
  });

  it('leaves the batch running on Ctrl-C (exit 130), and batch wait / cancel / results follow it up', async () => {
    await setFaults(gateway, { addedLatencyMs: 300 });
    try {
      const input = file('slow.jsonl', chatLines(400));
      const cli = spawnCli(['submit', input, '--model', MODEL, '--wait', '--url', gateway.url]);
      await until('a progress line', () => /\d+\/400 \(/.test(cli.out()));
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 130, cli.err());
      assert.ok(!cli.out().includes('\r'), 'no redraws when stdout is not a terminal');
      const id = /Submitted batch (batch_\w+)/.exec(cli.out())![1];
      assert.match(cli.err(), new RegExp(`Stopped following batch ${id}; it keeps running on the gateway\\.\\n {2}follow it again: {3}switchyard batch wait ${id} --out .*slow\\n`));

      const running = JSON.parse((await runBatchCli(['status', id, '--json', '--url', gateway.url])).out) as { status: string };
      assert.equal(running.status, 'in_progress', 'the batch kept running');
      const notYet = await runBatchCli(['results', id, '--url', gateway.url]);
      assert.match(notYet.err, new RegExp(`batch ${id} is still in_progress .*switchyard batch wait ${id}`));

      const cancelled = await runBatchCli(['cancel', id, '--url', gateway.url]);
      assert.match(cancelled.out, new RegExp(`Batch ${id} is (cancelling|cancelled)\\.`));
      const waited = await runBatchCli(['wait', id, '--out', join(dir, 'slow'), '--url', gateway.url]);
      assert.equal(waited.code, 1, 'a cancelled batch is not a success');
      const { completed, failed } = /(?<completed>\d+) of 400 requests succeeded, (?<failed>\d+) failed, \d+ not run\./.exec(waited.out)!.groups!;
      assert.match(waited.out, new RegExp(`Batch ${id} cancelled`));
      if (Number(completed) > 0) assert.equal(readJsonl(join(dir, 'slow.output.jsonl')).length, Number(completed));
      assert.equal(Number(failed), 0);
    } finally {
      await setFaults(gateway, null);
    }
  });
});
