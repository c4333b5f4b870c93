// Spawns the real gateway and simulator processes on 127.0.0.1 for integration tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
}

/** Starts `switchyard serve` on a free port and waits for its "listening on" banner. */
export async function startGateway(options: GatewayOptions = {}): Promise<RunningProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-data-'));
  const args = ['--import', 'tsx', CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])];
  if (options.config !== undefined) args.push('--config', writeConfig(options.config));
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // The config file decides the log level unless a test sets LOG_LEVEL itself.
  if (!options.env?.LOG_LEVEL) delete env.LOG_LEVEL;
  if (!options.env?.SWITCHYARD_MASTER_KEY) delete env.SWITCHYARD_MASTER_KEY;
  const [command, argv] = options.fileLimit
    ? ['/bin/sh', ['-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, exited } = track(child);
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
        child.disconnect();
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
