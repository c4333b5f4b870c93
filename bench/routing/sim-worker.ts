// One simulator replica for the routing benchmark, run as its own process (bench/routing/fleet.ts
// spawns eight). It is the same server as `switchyard sim` (startSimulator), plus two things the
// benchmark needs and the CLI does not offer:
//  - `reset`: close the simulator and start a fresh one on the same port (optionally at another
//    time scale), so every run starts with an empty KV cache and zeroed counters without paying a
//    process start (~1 s of CPU each);
//  - `stats`: this process's CPU time and event-loop delay since the last stats call, to check that
//    the host keeps up with the modelled GPU at the chosen time scale.
//
// Options arrive as JSON in argv[2]: { timeScale, profile, model, overrides }.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startSimulator, type ProfileOverrides, type RunningSimulator } from '../../src/sim/index.ts';

interface WorkerOptions {
  timeScale: number;
  profile: string;
  model: string;
  seed: number;
  overrides: ProfileOverrides;
}

export type WorkerMessage = { type: 'reset'; timeScale?: number } | { type: 'stats' } | { type: 'stop' };

export interface WorkerStats {
  type: 'stats';
  /** CPU time (user + system) since the previous stats message, ms. */
  cpuMs: number;
  wallMs: number;
  /** Event-loop delay since the previous stats message, ms. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as WorkerOptions;
const lag = monitorEventLoopDelay({ resolution: 1 });
lag.enable();
let lastCpu = process.cpuUsage();
let lastWall = performance.now();

async function start(port: number): Promise<RunningSimulator> {
  return startSimulator({ port, timeScale: options.timeScale, profile: options.profile, servedModelName: options.model, seed: options.seed, overrides: options.overrides });
}

let sim = await start(0);
const port = sim.port;
process.send?.({ type: 'ready', url: sim.url });

process.on('message', (m: WorkerMessage) => {
  void (async () => {
    if (m.type === 'reset') {
      if (m.timeScale !== undefined) options.timeScale = m.timeScale;
      await sim.close();
      sim = await start(port);
      process.send?.({ type: 'ready', url: sim.url });
    } else if (m.type === 'stats') {
      const cpu = process.cpuUsage(lastCpu);
      const now = performance.now();
      const stats: WorkerStats = {
        type: 'stats',
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: now - lastWall,
        lagP50Ms: lag.percentile(50) / 1e6,
        lagP99Ms: lag.percentile(99) / 1e6,
        lagMaxMs: lag.max / 1e6,
      };
      lastCpu = process.cpuUsage();
      lastWall = now;
      lag.reset();
      process.send?.(stats);
    } else if (m.type === 'stop') {
      await sim.close();
      process.exit(0);
    }
  })();
});
// The parent going away must not leave replicas behind.
process.on('disconnect', () => process.exit(0));
