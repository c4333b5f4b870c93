// Runs driver jobs against contenders and measures the contender meanwhile: CPU time from /proc
// (per request) and resident memory sampled every 250 ms (peak).

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Contender } from './contenders.ts';
import type { DriverMessage, HoldResult, Job, LoadResult } from './driver-protocol.ts';
import { cpuMs, RssSampler } from './proc-stats.ts';

const DRIVER = fileURLToPath(new URL('./driver.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Measured<R> {
  result: R;
  /** Contender CPU time over the job, ms. */
  cpuMs: number;
  wallMs: number;
  peakRssBytes: number;
}

export class Driver {
  private constructor(private readonly child: ChildProcess) {}

  static async start(cpu: number | undefined): Promise<Driver> {
    const argv = [process.execPath, '--import', 'tsx', DRIVER];
    const [cmd, args] = cpu === undefined ? [argv[0], argv.slice(1)] : ['taskset', ['-c', String(cpu), ...argv]];
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: DriverMessage) => (m.type === 'ready' ? resolve() : reject(new Error('driver failed to start'))));
      child.once('exit', (code) => reject(new Error(`driver exited with ${code}`)));
    });
    return new Driver(child);
  }

  run(job: Extract<Job, { mode: 'hold' }>): Promise<HoldResult>;
  run(job: Job): Promise<LoadResult>;
  run(job: Job): Promise<LoadResult | HoldResult> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: DriverMessage) => {
        if (m.type === 'result') resolve(m.result);
        else reject(new Error(m.type === 'failed' ? m.error : 'unexpected driver message'));
      });
      this.child.send(job);
    });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

/**
 * Waits until the contenders' processes are idle (under `maxShare` of a core over half a second),
 * so a contender still working off an overload (Portkey past its capacity keeps answering queued
 * requests for seconds) does not take CPU from the next one's run on the shared core. Returns the
 * time waited, ms.
 */
export async function waitUntilIdle(contenders: readonly Contender[], maxShare = 0.1, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  const pids = contenders.flatMap((c) => c.pids());
  for (;;) {
    const before = cpuMs(pids);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const share = (cpuMs(pids) - before) / 500;
    if (share < maxShare || performance.now() - started > timeoutMs) return performance.now() - started;
  }
}

export async function measure<R extends LoadResult | HoldResult>(contender: Contender, run: () => Promise<R>): Promise<Measured<R>> {
  const pids = contender.pids();
  const rss = new RssSampler(pids);
  const cpuBefore = cpuMs(pids);
  const started = performance.now();
  try {
    const result = await run();
    return { result, cpuMs: cpuMs(pids) - cpuBefore, wallMs: performance.now() - started, peakRssBytes: rss.stop() };
  } finally {
    rss.stop();
  }
}
