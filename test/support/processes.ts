// Spawns the real gateway and simulator processes on 127.0.0.1 for integration tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO_ROOT, 'src/cli/main.ts');
const START_TIMEOUT_MS = 60_000;

export interface RunningProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after a bound; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function track(child: ChildProcess): { output: () => string; exited: Promise<number | null> } {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { output: () => text, exited };
}

function stopper(child: ChildProcess, exited: Promise<number | null>) {
  return async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(killer);
    return code;
  };
}

export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const file = join(dir, 'switchyard.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

export interface GatewayOptions {
  config?: unknown;
  env?: Record<string, string>;
  args?: string[];
  /** Data directory (SQLite store); a fresh temporary one by default. */
  dataDir?: string;
  /** Run the gateway with this open-file limit (`ulimit -n`), as a constrained host would. */
  fileLimit?: number;
  /** The command line up to the serve options; default the TypeScript CLI under tsx, `serve`. */
  entry?: string[];
  /** In a process group of its own (its pid is the group's), as a shell runs a foreground job. */
  detached?: boolean;
}

/** Spawns `switchyard serve` on a free port without waiting for it (see startGateway). */
export function spawnGateway(options: GatewayOptions = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-data-'));
  const [entryCommand, ...entryArgs] = options.entry ?? [process.execPath, '--import', 'tsx', CLI, 'serve'];
  const args = [...entryArgs, '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])];
  if (options.config !== undefined) args.push('--config', writeConfig(options.config));
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // The config file decides the log level unless a test sets LOG_LEVEL itself.
  if (!options.env?.LOG_LEVEL) delete env.LOG_LEVEL;
  if (!options.env?.SWITCHYARD_MASTER_KEY) delete env.SWITCHYARD_MASTER_KEY;
  const [command, argv] = options.fileLimit
    ? ['/bin/sh', ['-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, entryCommand, ...args]]
    : [entryCommand, args];
  const child = spawn(command, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached });
  return { child, ...track(child) };
}

/** Starts `switchyard serve` on a free port and waits for its "listening on" banner. */
export async function startGateway(options: GatewayOptions = {}): Promise<RunningProcess> {
  const { child, output, exited } = spawnGateway(options);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${output()}`)), START_TIMEOUT_MS);
    const onData = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${output()}`));
    });
  });
  return { url, child, output, stop: stopper(child, exited) };
}

/** Starts `switchyard sim` as its own process and waits for its IPC ready message. */
export async function startSimulatorProcess(flags: string[] = []): Promise<RunningProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'sim', '--port', '0', ...flags], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { output, exited } = track(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator did not start in time:\n${output()}`)), START_TIMEOUT_MS);
    child.on('message', (m: { type?: string; url?: string }) => {
      if (m?.type === 'sim-ready' && m.url) {
        clearTimeout(timer);
        // The simulator exits when this channel closes (its parent is gone); keep it open, but
        // without holding the test's event loop.
        child.channel?.unref();
        resolve(m.url);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code} before ready:\n${output()}`));
    });
  });
  return { url, child, output, stop: stopper(child, exited) };
}

/** A config whose one model is served by simulator replicas the gateway launches itself. */
export function simModelConfig(options: { name?: string; replicas?: number; timeScale?: number; extra?: Record<string, unknown> } = {}) {
  return {
    models: [
      {
        name: options.name ?? 'sim-llama-3.1-8b',
        deployments: [{ provider: 'simulator', replicas: options.replicas ?? 2, time_scale: options.timeScale ?? 0.05 }],
        ...options.extra,
      },
    ],
  };
}

/** The gateway's JSON log lines carrying this message, parsed, in order. */
export function logLines(output: string, msg: string): Record<string, unknown>[] {
  // A line still being written is not complete JSON yet: it counts once it is.
  return output
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}') && line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Polls `output()` until `predicate` holds for it; fails with the output after `timeoutMs`. */
export async function waitForOutput(output: () => string, predicate: (text: string) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(output())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True once nothing accepts TCP connections at the URL's port. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Waits until every URL's port refuses connections; false if one still accepts after `timeoutMs`. */
export async function portsClose(urls: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = (await Promise.all(urls.map(refused))).some((closed) => !closed);
    if (!open) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pids of the live processes with `arg` among their arguments (Linux /proc), e.g. a unique model
 *  name, which finds the simulator children a gateway launched for it wherever they were reparented. */
export function pidsWithArg(arg: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked
    }
    if (argv.includes(arg)) pids.push(Number(entry));
  }
  return pids;
}

/** Waits until `pids()` returns `count` pids; returns them, or throws after `timeoutMs`. */
export async function waitForPids(pids: () => number[], count: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pids();
    if (found.length === count) return found;
    if (Date.now() > deadline) throw new Error(`expected ${count} processes, found ${found.length} (${found.join(', ')}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** By URL, so a CLI run from any directory finds the TypeScript loader. */
const TSX = import.meta.resolve('tsx');
/** Variables the CLI reads; a run sees only the ones a test passes. */
const CLI_ENV = ['PORT', 'HOST', 'LOG_LEVEL', 'SWITCHYARD_MASTER_KEY', 'SWITCHYARD_URL', 'SWITCHYARD_CONFIG', 'SWITCHYARD_DATA_DIR', 'DATABASE_URL', 'REDIS_URL'];

/** Runs `switchyard ARGS` to its end, in an empty directory of its own unless `cwd` is given. */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLI_ENV) delete env[name];
  Object.assign(env, options.env);
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A run that wrongly starts serving must not hang the suite.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
}
