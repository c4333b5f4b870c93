// Launches the simulator deployments of the config as child processes on free loopback ports and
// rewrites them into openai-compatible deployments pointing at those processes.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeploymentConfig, ModelConfig } from '../config/schema.ts';
import type { Logger } from '../telemetry/logger.ts';
import { deploymentId } from '../routing/deployment-id.ts';

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 20_000;

export interface SimulatorReplica {
  modelName: string;
  url: string;
  process: ChildProcess;
}

function launchOne(modelName: string, profile: string, timeScale: number, logger: Logger): Promise<SimulatorReplica> {
  const args = [...process.execArgv, CLI_ENTRY, 'sim', '--port', '0', '--host', '127.0.0.1', '--profile', profile, '--model', modelName, '--time-scale', String(timeScale)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simulator replica for ${modelName} did not start within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`simulator replica for ${modelName} exited before it was ready (code ${code}, signal ${signal})`));
    });
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type !== 'sim-ready' || typeof message.url !== 'string') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.on('exit', (code, signal) => logger.warn({ model: modelName, url: message.url, code, signal }, 'simulator replica exited'));
      // The IPC channel was only for the ready message; don't let it hold the event loop.
      child.disconnect();
      child.unref();
      resolve({ modelName, url: message.url, process: child });
    });
  });
}

export interface LaunchedModels {
  models: ModelConfig[];
  replicas: SimulatorReplica[];
}

export async function launchSimulatorDeployments(models: ModelConfig[], logger: Logger): Promise<LaunchedModels> {
  const replicas: SimulatorReplica[] = [];
  try {
    const resolved: ModelConfig[] = [];
    for (const model of models) {
      const deployments: DeploymentConfig[] = [];
      for (const [i, d] of model.deployments.entries()) {
        if (d.provider !== 'simulator') {
          // Its id is made of its place in the config, not in this expanded list.
          deployments.push({ ...d, id: deploymentId(model.name, i, d.id) });
          continue;
        }
        const launched = await Promise.all(Array.from({ length: d.replicas }, () => launchOne(model.name, d.profile, d.time_scale, logger)));
        replicas.push(...launched);
        launched.forEach((replica, r) =>
          deployments.push({
            provider: 'openai-compatible',
            id: deploymentId(model.name, i, d.id, r),
            url: `${replica.url}/v1`,
            model: model.name,
            engine: 'vllm',
            weight: d.weight,
            headers: d.headers,
            max_concurrency: d.max_concurrency,
            gpu_hourly_usd: d.gpu_hourly_usd,
            gpus: d.gpus,
          }),
        );
      }
      resolved.push({ ...model, deployments });
    }
    return { models: resolved, replicas };
  } catch (err) {
    stopSimulators(replicas);
    throw err;
  }
}

export function stopSimulators(replicas: SimulatorReplica[]): void {
  for (const r of replicas) if (r.process.exitCode === null) r.process.kill('SIGTERM');
}
