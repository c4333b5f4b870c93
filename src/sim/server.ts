// The simulator's HTTP server: one simulated vLLM replica on node:http.
//
//   POST /v1/chat/completions, /v1/completions, /v1/embeddings   inference (faults apply here)
//   GET  /v1/models, /health, /metrics                           like vLLM
//   GET|POST|DELETE /sim/faults                                   read, change, clear fault switches
//   GET  /sim/state                                               engine snapshot as JSON (for tests/benchmarks)

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImmediateClock, RealTimeClock, type EngineClock } from './engine/clock.ts';
import { Engine } from './engine/engine.ts';
import { FaultInjector, FaultsError, type Faults } from './faults.ts';
import { parseJsonObject, readBody } from './http/body.ts';
import { handleChat } from './http/chat-handler.ts';
import { handleCompletion } from './http/completion-handler.ts';
import type { SimContext } from './http/context.ts';
import { handleEmbedding } from './http/embedding-handler.ts';
import { HttpError, sendError, sendJson } from './http/respond.ts';
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

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

const healthy: Handler = (_req, res) => {
  res.writeHead(200, { 'content-length': 0 });
  res.end();
};

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

  const inference =
    (handle: (ctx: SimContext, body: Record<string, unknown>, res: ServerResponse, dropAfter: number) => void): Handler =>
    async (req, res) => {
      const raw = await readBody(req, maxBodyBytes);
      const action = faults.drawAction();
      if (action === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      if (action === 'hang') return; // no answer at all; close() destroys the socket
      const { addedLatencyMs, errorStatus } = faults.get();
      if (addedLatencyMs > 0) {
        await sleep(addedLatencyMs);
        if (res.destroyed) return;
      }
      if (action === 'error') throw new HttpError(errorStatus, `Injected fault: the simulator failed this request with HTTP ${errorStatus}.`, errorStatus >= 500 ? 'server_error' : 'invalid_request_error');
      const body = parseJsonObject(raw);
      const dropAfter = body.stream === true ? faults.drawDropAfter() : -1;
      handle(ctx, body, res, dropAfter);
    };

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    '/v1/chat/completions': { POST: inference(handleChat) },
    '/v1/completions': { POST: inference(handleCompletion) },
    '/v1/embeddings': { POST: inference((c, body, res) => handleEmbedding(c, body, res)) },
    '/v1/models': {
      GET: (_req, res) =>
        sendJson(res, 200, {
          object: 'list',
          data: [{ id: servedModelName, object: 'model', created: ctx.startedAt, owned_by: 'vllm', root: profile.modelId, parent: null, max_model_len: profile.maxModelLen }],
        }),
    },
    '/health': {
      GET: healthy,
      HEAD: healthy,
    },
    '/metrics': {
      GET: (_req, res) => {
        const text = metrics.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
    '/sim/faults': {
      GET: (_req, res) => sendJson(res, 200, faults.get()),
      POST: async (req, res) => {
        const body = parseJsonObject(await readBody(req, maxBodyBytes));
        try {
          sendJson(res, 200, faults.update(body as Partial<Faults>));
        } catch (err) {
          if (err instanceof FaultsError) throw new HttpError(400, err.message, 'invalid_request_error', err.param);
          throw err;
        }
      },
      DELETE: (_req, res) => sendJson(res, 200, faults.reset()),
    },
    '/sim/state': {
      GET: (_req, res) =>
        sendJson(res, 200, { profile: profile.name, servedModelName, timeScale, ...engine.snapshot(), counters: engine.counters }),
    },
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const methods = routes[path];
    const handler = methods?.[req.method ?? 'GET'];
    const run = async () => {
      if (!methods) throw new HttpError(404, `Not found: ${path}`, 'invalid_request_error', null, 'not_found');
      if (!handler) throw new HttpError(405, `Method ${req.method} is not allowed on ${path}.`, 'invalid_request_error', null, 'method_not_allowed', { allow: Object.keys(methods).join(', ') });
      await handler(req, res);
    };
    run().catch((err: unknown) => {
      if (res.destroyed) return; // the client left, e.g. while its body was being read
      if (!(err instanceof HttpError)) process.stderr.write(`switchyard sim: unexpected error on ${req.method} ${path}: ${(err as Error)?.stack ?? String(err)}\n`);
      if (res.headersSent) res.destroy();
      else sendError(res, err instanceof HttpError ? err : new HttpError(500, 'The simulator failed unexpectedly.', 'server_error'));
    });
  });
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

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    profile,
    servedModelName,
    timeScale,
    engine,
    faults,
    close() {
      closing ??= new Promise<void>((resolve) => {
        engine.close();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
