// startSimulator: one simulated vLLM replica on node:http (routes in http/routes.ts, the engine in
// engine/). Resolves once listening; close() tears everything down.

import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ImmediateClock, RealTimeClock, type EngineClock } from './engine/clock.ts';
import { Engine } from './engine/engine.ts';
import { FaultInjector, type Faults } from './faults.ts';
import type { SimContext } from './http/context.ts';
import { createRequestListener } from './http/routes.ts';
import { SimMetrics } from './metrics.ts';
import { DEFAULT_PROFILE, resolveProfile, type Profile, type ProfileOverrides } from './profiles.ts';

export interface SimulatorOptions {
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Profile name (see listProfiles()); default h100-llama-3.1-8b. */
  profile?: string;
  /** Model name clients must send; default the profile's (sim-llama-3.1-8b). */
  servedModelName?: string;
  /** Model time per wall time: 1 real time, 0.1 ten times faster, 0 zero-latency mode. Default 1. */
  timeScale?: number;
  /** Mixed into every generated output and fault decision. Default 0. */
  seed?: number;
  /** Dimension of embedding vectors; default the profile's (384). */
  embeddingDim?: number;
  /** Fault switches in force at start. */
  faults?: Partial<Faults>;
  /** Profile parameters to override (numGpuBlocks, maxModelLen, maxNumSeqs, ...). */
  overrides?: ProfileOverrides;
  /** Largest accepted request body; default 16 MiB. */
  maxBodyBytes?: number;
  /** Drive the engine with this clock instead of one derived from timeScale (advanced/tests). */
  clock?: EngineClock;
  /** Called once the crashMarker fault has brought the simulator down (the CLI exits). */
  onCrash?: () => void;
}

export interface RunningSimulator {
  /** Base URL without /v1, e.g. http://127.0.0.1:8000. */
  url: string;
  port: number;
  host: string;
  profile: Profile;
  servedModelName: string;
  timeScale: number;
  /** The engine, for inspection (numRunning, numWaiting, kv, counters, snapshot()). */
  engine: Engine;
  /** The fault switches (get/update/reset), same as /sim/faults. */
  faults: FaultInjector;
  /** Stops accepting, destroys open sockets and stops the engine loop. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const timeScale = options.timeScale ?? 1;
  if (!Number.isFinite(timeScale) || timeScale < 0) throw new Error(`timeScale must be a finite number >= 0, got ${timeScale}`);
  const overrides: ProfileOverrides = { ...options.overrides };
  if (options.embeddingDim !== undefined) overrides.embeddingDim = options.embeddingDim;
  const profile = resolveProfile(options.profile ?? DEFAULT_PROFILE, overrides);
  const clock = options.clock ?? (timeScale === 0 ? new ImmediateClock() : new RealTimeClock(timeScale));
  const engine = new Engine(profile, clock);
  const seed = (options.seed ?? 0) >>> 0;
  const faults = new FaultInjector(options.faults ?? {}, seed);
  const servedModelName = options.servedModelName ?? profile.servedModelName;
  const metrics = new SimMetrics(engine, servedModelName);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const ctx: SimContext = { engine, profile, servedModelName, seed, embeddingDim: profile.embeddingDim, faults, startedAt: Math.floor(Date.now() / 1000) };

  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      engine.close();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  const crash = () => {
    process.stderr.write('switchyard sim: crashed on a request containing the crashMarker fault text\n');
    void close().then(() => options.onCrash?.());
  };
  const server: Server = createServer(createRequestListener(ctx, { metrics, maxBodyBytes, timeScale, crash }));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    profile,
    servedModelName,
    timeScale,
    engine,
    faults,
    close,
  };
}
