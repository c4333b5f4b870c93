// Supervision of the simulator replicas `switchyard serve` launches: they never outlive the
// gateway, however it ends, and one that dies while the gateway runs comes back on its port.
// Each test names its model uniquely, so its replicas are found by that argument in /proc.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { logLines, pidsWithArg, spawnGateway, startGateway, waitForOutput, waitForPids } from '../support/processes.ts';

const uniqueModel = () => `sim-supervision-${randomBytes(4).toString('hex')}`;
const oneModel = (model: string, replicas: number) => ({ models: [{ name: model, deployments: [{ provider: 'simulator', replicas, time_scale: 0 }] }] });

async function chat(url: string, model: string): Promise<number> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
  });
  await res.text();
  return res.status;
}

/** A TCP listener that drops every connection (so closing it never waits on one). */
function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Kills whatever a failed test left behind, so one failure does not leave processes running. */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('simulator replicas never outlive the gateway', () => {
  for (const signal of ['SIGKILL', 'SIGHUP'] as const) {
    it(`exit when the gateway is ended by ${signal}`, async () => {
      const model = uniqueModel();
      const gateway = await startGateway({ config: oneModel(model, 2) });
      try {
        await waitForPids(() => pidsWithArg(model), 2, 10_000);
        assert.equal(await chat(gateway.url, model), 200);
        await gateway.stop(signal);
        await waitForPids(() => pidsWithArg(model), 0, 10_000);
      } finally {
        await gateway.stop('SIGKILL');
        killAll(pidsWithArg(model));
      }
    });
  }

  it('exit when start-up fails after they were launched (an address the host does not have)', async () => {
    const model = uniqueModel();
    // 192.0.2.0/24 is reserved for documentation: no host has it, so binding fails (EADDRNOTAVAIL)
    // after the replicas were launched. A master key lets the gateway bind beyond loopback.
    const gateway = spawnGateway({ config: oneModel(model, 2), args: ['--host', '192.0.2.1'], env: { SWITCHYARD_MASTER_KEY: 'sk-supervision-test-key' } });
    try {
      assert.notEqual(await gateway.exited, 0, `start-up fails:\n${gateway.output()}`);
      await waitForPids(() => pidsWithArg(model), 0, 10_000);
    } finally {
      gateway.child.kill('SIGKILL');
      killAll(pidsWithArg(model));
    }
  });

  it('end with a gateway that started degraded (Redis unreachable is not a start-up failure)', async () => {
    const model = uniqueModel();
    const closed = await listenOn(0);
    const port = (closed.address() as { port: number }).port;
    await close(closed);
    const gateway = await startGateway({ config: oneModel(model, 2), env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      await waitForPids(() => pidsWithArg(model), 2, 30_000);
      assert.match(gateway.output(), /DEGRADED/);
      await gateway.stop('SIGKILL');
      await waitForPids(() => pidsWithArg(model), 0, 10_000);
    } finally {
      await gateway.stop('SIGKILL');
      killAll(pidsWithArg(model));
    }
  });

  it('exit when start-up fails after they were launched (port already in use)', async () => {
    const model = uniqueModel();
    const taken = await listenOn(0);
    const gateway = spawnGateway({ config: oneModel(model, 2), args: ['--port', String((taken.address() as { port: number }).port)] });
    try {
      assert.notEqual(await gateway.exited, 0, `start-up fails:\n${gateway.output()}`);
      assert.match(gateway.output(), /is already in use/);
      await waitForPids(() => pidsWithArg(model), 0, 10_000);
    } finally {
      await close(taken);
      gateway.child.kill('SIGKILL');
      killAll(pidsWithArg(model));
    }
  });
});

describe('a replica that dies while the gateway runs', () => {
  it('is restarted on its port, logged, and the model answers again', async () => {
    const model = uniqueModel();
    const gateway = await startGateway({ config: oneModel(model, 1) });
    try {
      const [pid] = await waitForPids(() => pidsWithArg(model), 1, 10_000);
      process.kill(pid, 'SIGKILL');
      await waitForOutput(gateway.output, (text) => logLines(text, 'simulator replica restarted').length === 1, 20_000, 'the restart log line');
      const [started] = logLines(gateway.output(), 'simulator replica started');
      const [exited] = logLines(gateway.output(), 'simulator replica exited; restarting it');
      const [restarted] = logLines(gateway.output(), 'simulator replica restarted');
      assert.equal(started.pid, pid);
      assert.deepEqual([exited.model, exited.signal, exited.attempt], [model, 'SIGKILL', 1]);
      assert.equal(restarted.url, started.url, 'same port, so the deployment URL still points at it');
      assert.notEqual(restarted.pid, pid);
      // The one deployment was marked down while it was gone; the health checker brings it back.
      const deadline = Date.now() + 20_000;
      let status = await chat(gateway.url, model);
      while (status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        status = await chat(gateway.url, model);
      }
      assert.equal(status, 200);
    } finally {
      assert.equal(await gateway.stop(), 0);
      killAll(pidsWithArg(model));
    }
  });

  it('waits longer after each death that follows a restart closely', async () => {
    const model = uniqueModel();
    const gateway = await startGateway({ config: oneModel(model, 1) });
    try {
      for (let death = 1; death <= 3; death++) {
        const [pid] = await waitForPids(() => pidsWithArg(model), 1, 20_000);
        await waitForOutput(gateway.output, (text) => logLines(text, death === 1 ? 'simulator replica started' : 'simulator replica restarted').length === (death === 1 ? 1 : death - 1), 20_000, `replica up before death ${death}`);
        process.kill(pid, 'SIGKILL');
        await waitForOutput(gateway.output, (text) => logLines(text, 'simulator replica exited; restarting it').length === death, 20_000, `death ${death} logged`);
      }
      const exits = logLines(gateway.output(), 'simulator replica exited; restarting it');
      assert.deepEqual(exits.map((l) => l.attempt), [1, 2, 3]);
      // Equal jitter: attempt n waits between half and all of 500 ms x 2^(n-1).
      exits.forEach((l, i) => assert.ok(Number(l.restartInMs) >= 250 * 2 ** i && Number(l.restartInMs) <= 500 * 2 ** i, `attempt ${i + 1} waited ${String(l.restartInMs)} ms`));
      await waitForOutput(gateway.output, (text) => logLines(text, 'simulator replica restarted').length === 3, 20_000, 'the third restart');
    } finally {
      assert.equal(await gateway.stop(), 0);
      killAll(pidsWithArg(model));
    }
  });

  it('keeps trying while its port is taken, then comes back on it', async () => {
    const model = uniqueModel();
    const gateway = await startGateway({ config: oneModel(model, 1) });
    let squatter: Server | undefined;
    try {
      await waitForOutput(gateway.output, (text) => logLines(text, 'simulator replica started').length === 1, 20_000, 'the start log line');
      const port = Number(new URL(String(logLines(gateway.output(), 'simulator replica started')[0].url)).port);
      // Take the port the moment the replica is gone (the restart waits at least 250 ms); should
      // the restart still win on a loaded machine, kill the new replica and try again.
      for (let tries = 0; !squatter && tries < 5; tries++) {
        const [pid] = await waitForPids(() => pidsWithArg(model), 1, 20_000);
        process.kill(pid, 'SIGKILL');
        while (pidsWithArg(model).includes(pid)) await new Promise((r) => setTimeout(r, 2));
        squatter = await listenOn(port).catch(() => undefined);
      }
      assert.ok(squatter, `could not take port ${port} before the restart`);
      const failed = () => logLines(gateway.output(), 'simulator replica failed to restart; trying again');
      await waitForOutput(gateway.output, () => failed().length >= 2, 30_000, 'two failed restarts');
      assert.match(failed()[0].err as string, /exited before it was ready/);
      assert.ok(Number(failed()[1].restartInMs) > Number(failed()[0].restartInMs) / 2, 'the delay does not shrink');
      const restartsBefore = logLines(gateway.output(), 'simulator replica restarted').length;
      await close(squatter);
      squatter = undefined;
      await waitForOutput(gateway.output, (text) => logLines(text, 'simulator replica restarted').length === restartsBefore + 1, 30_000, 'the restart once the port is free');
      assert.equal(Number(new URL(String(logLines(gateway.output(), 'simulator replica restarted').at(-1)!.url)).port), port);
      assert.equal(await chat(gateway.url, model), 200);
    } finally {
      if (squatter) await close(squatter);
      assert.equal(await gateway.stop(), 0);
      killAll(pidsWithArg(model));
    }
  });
});
