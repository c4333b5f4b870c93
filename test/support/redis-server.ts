// A private redis-server on a free loopback port, for tests that take Redis away and bring it back
// (the shared one on 6379 is never stopped). Without the binary a test skips locally and fails in CI.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';

const START_TIMEOUT_MS = 15_000;

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when redis-server can be run; otherwise skips the test (locally) or throws (CI). */
export function requireRedisServer(t: TestContext): boolean {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const problem = probe.error?.message ?? probe.stderr;
  if (process.env.CI) throw new Error(`redis-server is required in CI: ${problem}`);
  t.skip(`redis-server not available: ${problem}`);
  return false;
}

export interface RedisServer {
  url: string;
  child: ChildProcess;
  /** SIGKILL (Redis gone without a goodbye, as in a crash) and wait for the exit. */
  kill(): Promise<void>;
}

/** Starts redis-server on the port, without persistence, and waits until it accepts connections. */
export async function startRedisServer(port: number): Promise<RedisServer> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}:\n${output}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before it was ready:\n${output}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
