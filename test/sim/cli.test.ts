// `switchyard sim` as a process: the ready line, the IPC message, flags, and clean shutdown.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chat, post } from './helpers.ts';

const RUNNER = fileURLToPath(new URL('./fixtures/sim-cli.ts', import.meta.url));

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('switchyard sim (CLI)', () => {
  it('prints one ready line, sends sim-ready over IPC, serves, and exits 0 on SIGTERM', async () => {
    const { child, output, exited } = run(['sim', '--port', '0', '--model', 'cli-model', '--time-scale', '0', '--error-rate', '0', '--embedding-dim', '16', '--seed', '3']);
    try {
      const ready = await new Promise<{ type: string; url: string; port: number }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { type: string; url: string; port: number }));
        void exited.then((code) => reject(new Error(`exited ${code}: ${output()}`)));
      });
      assert.equal(ready.type, 'sim-ready');
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(ready.url, `http://127.0.0.1:${ready.port}`);
      assert.equal(output(), `switchyard sim: h100-llama-3.1-8b serving cli-model on ${ready.url}\n`);
      const r = await post(`${ready.url}/v1/chat/completions`, { ...chat('hi', { max_tokens: 2 }), model: 'cli-model' });
      assert.equal(r.status, 200);
      const e = await post(`${ready.url}/v1/embeddings`, { model: 'cli-model', input: 'x' });
      assert.equal(e.json.data[0].embedding.length, 16);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('applies profile and fault flags', async () => {
    const { child, exited, output } = run(['sim', '--port', '0', '--profile', 'tiny', '--time-scale', '0', '--error-rate', '1', '--error-status', '503']);
    try {
      const ready = await new Promise<{ url: string }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { url: string }));
        void exited.then((code) => reject(new Error(`exited ${code}: ${output()}`)));
      });
      assert.match(output(), /^switchyard sim: tiny serving sim-llama-3\.1-8b on /);
      assert.equal((await post(`${ready.url}/v1/chat/completions`, chat('hi'))).status, 503);
      const models = await (await fetch(`${ready.url}/v1/models`)).json();
      assert.equal(models.data[0].max_model_len, 1024);
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits when the IPC channel of the process that started it closes (its parent is gone)', async () => {
    const { child, exited, output } = run(['sim', '--port', '0', '--time-scale', '0']);
    try {
      await new Promise((resolve, reject) => {
        child.once('message', resolve);
        void exited.then((code) => reject(new Error(`exited ${code}: ${output()}`)));
      });
      child.disconnect();
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('--list-profiles prints every profile; bad flags fail with a message', async () => {
    const list = run(['sim', '--list-profiles']);
    assert.equal(await list.exited, 0);
    for (const name of ['h100-llama-3.1-8b (default)', 'a10g-llama-3.1-8b', 'tiny']) assert.ok(list.output().includes(name), name);
    const bad = run(['sim', '--time-scale', 'fast']);
    assert.notEqual(await bad.exited, 0);
    assert.match(bad.output(), /time-scale/);
    const unknown = run(['sim', '--port', '0', '--profile', 'b200-nope']);
    assert.equal(await unknown.exited, 1);
    assert.match(unknown.output(), /unknown simulator profile "b200-nope"/);
  });
});
