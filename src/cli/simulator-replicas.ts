// Launches the simulator deployments of the config as child processes on free loopback ports,
// puts in their place the upstream deployments their definition serves replicas as
// (providers/simulator/definition.ts), and supervises them: a replica that dies while the gateway runs is started again, with backoff, on its port.
//
// Invariants:
// - A replica never outlives the gateway. Each child keeps an IPC channel to the gateway and exits
//   when it closes (the gateway exited, was killed, or ran out of memory); `stop` ends it at once.
// - A restarted replica listens on the port it had, so the deployment URL the registry, health
//   checker and scraper hold stays right; while that port is taken, restarting keeps backing off.

import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { DeploymentConfig, ModelConfig } from '../config/schema.ts';
import type { Logger } from '../telemetry/logger.ts';
import { simulatorDefinition } from '../providers/simulator/definition.ts';
import { backoffMs } from '../util/backoff.ts';
import { deploymentId } from '../routing/deployment-id.ts';

/** The CLI beside this module: main.ts under the TypeScript loader, main.js in the build. */
const CLI_ENTRY = fileURLToPath(new URL(`../cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const READY_TIMEOUT_MS = 20_000;
/** Restart delays: 0.5 s doubling (with jitter) up to 30 s; a replica up this long starts over at 0.5 s. */
const RESTART_BACKOFF = { baseMs: 500, maxMs: 30_000 };
const STABLE_AFTER_MS = 60_000;

interface ReplicaSpec {
  modelName: string;
  profile: string;
  timeScale: number;
}

/** Spawns one `switchyard sim` child and resolves with its port once it says it is ready. */
function spawnSimulator(spec: ReplicaSpec, port: number): Promise<{ child: ChildProcess; port: number }> {
  const args = [...process.execArgv, CLI_ENTRY, 'sim', '--port', String(port), '--host', '127.0.0.1', '--profile', spec.profile, '--model', spec.modelName, '--time-scale', String(spec.timeScale)];
  // Its own process group: a Ctrl-C or hang-up in the terminal reaches the gateway, which drains its
  // requests before it stops the replicas, not the replicas first.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], detached: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simulator replica for ${spec.modelName} did not start within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const early = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      reject(new Error(`simulator replica for ${spec.modelName} exited before it was ready (code ${code}, signal ${signal}; its error is above)`));
    };
    child.once('exit', early);
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message?.type !== 'sim-ready' || typeof message.port !== 'number') return;
      clearTimeout(timer);
      child.off('exit', early);
      // The channel stays open (the child watches it to notice the gateway is gone) but must not
      // keep the gateway's event loop alive by itself.
      child.channel?.unref();
      child.unref();
      resolve({ child, port: message.port });
    });
  });
}

/** One simulator child process, kept running until `stop`. */
export class SimulatorReplica {
  private child: ChildProcess | undefined;
  private port = 0;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Restarts in a row that did not reach STABLE_AFTER_MS of uptime. */
  private attempts = 0;
  private upSince = 0;

  constructor(
    private readonly spec: ReplicaSpec,
    private readonly logger: Logger,
  ) {}

  /** Base URL without /v1; known once `start` resolved. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** First launch, on a free port. Rejects if the replica cannot start. */
  async start(): Promise<void> {
    await this.launch();
  }

  /** No more restarts; the child is asked to exit. Synchronous, so it can run in an exit hook. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  private async launch(): Promise<void> {
    const { child, port } = await spawnSimulator(this.spec, this.port);
    if (this.stopped) {
      child.kill('SIGTERM');
      return;
    }
    this.child = child;
    this.port = port;
    this.upSince = performance.now();
    child.once('exit', (code, signal) => this.exited(code, signal));
    this.logger.info({ model: this.spec.modelName, url: this.url, pid: child.pid }, this.attempts === 0 ? 'simulator replica started' : 'simulator replica restarted');
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = undefined;
    if (this.stopped) return;
    if (performance.now() - this.upSince >= STABLE_AFTER_MS) this.attempts = 0;
    this.scheduleRestart({ code, signal }, 'simulator replica exited; restarting it');
  }

  private scheduleRestart(reason: object, message: string): void {
    this.attempts += 1;
    const delayMs = Math.round(backoffMs(this.attempts, RESTART_BACKOFF));
    this.logger.warn({ model: this.spec.modelName, url: this.url, ...reason, attempt: this.attempts, restartInMs: delayMs }, message);
    this.restartTimer = setTimeout(() => {
      this.launch().catch((err: unknown) => {
        if (!this.stopped) this.scheduleRestart({ err: (err as Error).message }, 'simulator replica failed to restart; trying again');
      });
    }, delayMs);
    this.restartTimer.unref();
  }
}

export interface LaunchedModels {
  models: ModelConfig[];
  replicas: SimulatorReplica[];
}

/** Starts every simulator replica of the config. On failure none is left running. */
export async function launchSimulatorDeployments(models: ModelConfig[], logger: Logger): Promise<LaunchedModels> {
  const replicasOf = new Map<DeploymentConfig, SimulatorReplica[]>();
  for (const model of models) {
    for (const d of model.deployments) {
      if (d.provider !== 'simulator') continue;
      replicasOf.set(d, Array.from({ length: d.replicas }, () => new SimulatorReplica({ modelName: model.name, profile: d.profile, timeScale: d.time_scale }, logger)));
    }
  }
  const replicas = [...replicasOf.values()].flat();
  try {
    await Promise.all(replicas.map((r) => r.start()));
  } catch (err) {
    stopSimulators(replicas);
    throw err;
  }
  const resolved = models.map((model) => ({
    ...model,
    deployments: model.deployments.flatMap((d, i): DeploymentConfig[] => {
      const own = replicasOf.get(d);
      // Its id is made of its place in the config, not in the expanded list the registry sees.
      if (d.provider !== 'simulator' || !own) return [{ ...d, id: deploymentId(model.name, i, d.id) }];
      const { launch } = simulatorDefinition;
      return own.map((replica, r) => launch.replica(d, { id: deploymentId(model.name, i, d.id, r), url: replica.url }, model.name));
    }),
  }));
  return { models: resolved, replicas };
}

export function stopSimulators(replicas: SimulatorReplica[]): void {
  for (const r of replicas) r.stop();
}
