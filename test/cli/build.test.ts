// The built CLI, as `npm ci` leaves it (`prepare` runs `npm run build`): bin/switchyard.js and
// `npm start` run dist/ under plain node, the simulator children too, and `npm start` passes
// SIGTERM through to the gateway. Builds first, so it checks the sources as they are now.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidsWithArg, portsClose, REPO_ROOT, startGateway, waitForPids } from '../support/processes.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin/switchyard.js');
const uniqueModel = () => `sim-build-${randomBytes(4).toString('hex')}`;
const oneModel = (model: string) => ({ models: [{ name: model, deployments: [{ provider: 'simulator', replicas: 1, time_scale: 0 }] }] });

async function chat(url: string, model: string): Promise<number> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
  });
  await res.text();
  return res.status;
}

const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

describe('the built CLI', { timeout: 300_000 }, () => {
  before(async () => {
    await run('npm', ['run', 'build'], { cwd: REPO_ROOT });
  });

  it('switchyard --version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const { stdout, stderr } = await run(process.execPath, [BIN, '--version'], { cwd: REPO_ROOT });
    assert.equal(stdout, `${version}\n`);
    assert.equal(stderr, '');
  });

  it('bin/switchyard serve answers a chat completion, and its simulator children run dist JavaScript', async () => {
    const model = uniqueModel();
    const gateway = await startGateway({ entry: [process.execPath, BIN, 'serve'], config: oneModel(model) });
    try {
      assert.equal(await chat(gateway.url, model), 200);
      const [sim] = await waitForPids(() => pidsWithArg(model), 1, 10_000);
      const argv = argvOf(sim);
      assert.deepEqual(argv.slice(0, 3), [process.execPath, join(REPO_ROOT, 'dist/cli/main.js'), 'sim'], `simulator argv: ${argv.join(' ')}`);
      assert.ok(!argv.some((a) => a.includes('tsx')), 'no TypeScript loader');
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
  });

  it('Ctrl-C to `npm start` (SIGINT to its process group, so twice: from the terminal and from npm) drains in-flight streams', async () => {
    const model = uniqueModel();
    const gateway = await startGateway({ entry: ['npm', 'start', '--'], detached: true, config: { models: [{ name: model, deployments: [{ provider: 'simulator', replicas: 1, time_scale: 1 }] }] } });
    try {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 150, ignore_eos: true, stream: true }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      process.kill(-gateway.child.pid!, 'SIGINT');
      let body = '';
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        body += decoder.decode(value);
      }
      assert.match(body, /data: \[DONE\]\n\n$/, 'the in-flight stream completed');
      assert.equal(await gateway.stop(), 0, 'npm exits 0: the gateway stopped cleanly');
      await waitForPids(() => pidsWithArg(model), 0, 10_000);
    } finally {
      await gateway.stop('SIGKILL');
      for (const pid of pidsWithArg(model)) process.kill(pid, 'SIGKILL');
    }
  });

  it('SIGTERM to the PID of `npm start` stops the gateway and its replicas, leaving no orphan', async () => {
    const model = uniqueModel();
    // Its own data dir names the gateway process, so a failure here can still end it.
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
    const gateway = await startGateway({ entry: ['npm', 'start', '--'], config: oneModel(model), args: ['--data-dir', dataDir] });
    try {
      assert.equal(await chat(gateway.url, model), 200);
      const sims = await waitForPids(() => pidsWithArg(model), 1, 10_000);
      assert.equal(await gateway.stop('SIGTERM'), 0, 'npm exits 0: the gateway stopped cleanly');
      assert.ok(await portsClose([gateway.url], 10_000), 'the gateway no longer listens');
      await waitForPids(() => pidsWithArg(model), 0, 10_000);
      assert.ok(sims.every((pid) => !pidsWithArg(model).includes(pid)));
    } finally {
      await gateway.stop('SIGKILL');
      for (const pid of [...pidsWithArg(dataDir), ...pidsWithArg(model)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
  });
});
