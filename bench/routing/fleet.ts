// The eight simulator replicas of the routing benchmark: one process each (bench/routing/
// sim-worker.ts), started once and reset between runs so every run starts with cold caches.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProfileOverrides } from '../../src/sim/index.ts';
import type { WorkerMessage, WorkerStats } from './sim-worker.ts';

const WORKER = fileURLToPath(new URL('./sim-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FleetOptions {
  replicas: number;
  timeScale: number;
  profile: string;
  model: string;
  overrides: ProfileOverrides;
  /** Extra node flags for replica 0 (e.g. --cpu-prof when investigating the host). */
  profileArgs?: string[];
}

interface Replica {
  child: ChildProcess;
  url: string;
  /** Resolvers waiting for this replica's next message of a type. */
  waiting: Map<string, ((m: unknown) => void)[]>;
}

function nextMessage<T>(r: Replica, type: string, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator replica did not answer "${type}" in ${timeoutMs} ms`)), timeoutMs);
    const list = r.waiting.get(type) ?? [];
    list.push((m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    r.waiting.set(type, list);
  });
}

function send(r: Replica, m: WorkerMessage): void {
  r.child.send(m);
}

export class SimFleet {
  private constructor(
    private readonly replicas: Replica[],
    readonly options: FleetOptions,
  ) {}

  /** Base URLs (no /v1) of the replicas. */
  get urls(): string[] {
    return this.replicas.map((r) => r.url);
  }

  get pids(): number[] {
    return this.replicas.map((r) => r.child.pid ?? -1);
  }

  static async start(options: FleetOptions): Promise<SimFleet> {
    const workerOptions = JSON.stringify({ timeScale: options.timeScale, profile: options.profile, model: options.model, seed: 0, overrides: options.overrides });
    const replicas: Replica[] = [];
    const ready: Promise<{ url: string }>[] = [];
    for (let i = 0; i < options.replicas; i++) {
      const child = spawn(process.execPath, [...(i === 0 ? (options.profileArgs ?? []) : []), '--import', 'tsx', WORKER, workerOptions], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const r: Replica = { child, url: '', waiting: new Map() };
      child.on('message', (m: { type: string }) => {
        const list = r.waiting.get(m.type);
        const resolve = list?.shift();
        resolve?.(m);
      });
      child.on('exit', (code, signal) => {
        if (!stopping.has(child)) process.stderr.write(`simulator replica ${i} exited (${code ?? signal})\n`);
      });
      replicas.push(r);
      ready.push(nextMessage<{ url: string }>(r, 'ready', 60_000));
    }
    const urls = await Promise.all(ready);
    urls.forEach((m, i) => (replicas[i].url = m.url));
    return new SimFleet(replicas, options);
  }

  /** Replaces every replica's simulator with a fresh one (empty KV cache, zero counters), same ports. */
  async reset(timeScale?: number): Promise<void> {
    const ready = this.replicas.map((r) => nextMessage<{ url: string }>(r, 'ready'));
    for (const r of this.replicas) send(r, { type: 'reset', timeScale });
    const urls = await Promise.all(ready);
    urls.forEach((m, i) => (this.replicas[i].url = m.url));
  }

  /** CPU time and event-loop delay of each replica process since the previous call. */
  async stats(): Promise<WorkerStats[]> {
    const answers = this.replicas.map((r) => nextMessage<WorkerStats>(r, 'stats'));
    for (const r of this.replicas) send(r, { type: 'stats' });
    return Promise.all(answers);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.replicas.map(
        (r) =>
          new Promise<void>((resolve) => {
            stopping.add(r.child);
            if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
            const killer = setTimeout(() => r.child.kill('SIGKILL'), 5_000);
            r.child.once('exit', () => {
              clearTimeout(killer);
              resolve();
            });
            send(r, { type: 'stop' });
          }),
      ),
    );
  }
}

const stopping = new WeakSet<ChildProcess>();
