// The simulator's routes and the request dispatcher.
//
//   POST /v1/chat/completions, /v1/completions, /v1/embeddings   inference (fault switches apply)
//   GET  /v1/models, /health (also HEAD), /metrics               like vLLM
//   GET|POST|DELETE /sim/faults                                   read, change, clear fault switches
//   GET  /sim/state                                               engine snapshot as JSON

import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultsError, type Faults } from '../faults.ts';
import type { SimMetrics } from '../metrics.ts';
import { parseJsonObject, readBody } from './body.ts';
import { handleChat } from './chat-handler.ts';
import { handleCompletion } from './completion-handler.ts';
import type { SimContext } from './context.ts';
import { handleEmbedding } from './embedding-handler.ts';
import { HttpError, sendError, sendJson } from './respond.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
type InferenceHandler = (ctx: SimContext, body: Record<string, unknown>, res: ServerResponse, dropAfter: number) => void;

export interface RouteOptions {
  metrics: SimMetrics;
  maxBodyBytes: number;
  timeScale: number;
  /** Brings the whole simulator down at once (the crashMarker fault). */
  crash: () => void;
}

const healthy: Handler = (_req, res) => {
  res.writeHead(200, { 'content-length': 0 });
  res.end();
};

/** Returns the request listener for the simulator's HTTP server. */
export function createRequestListener(ctx: SimContext, options: RouteOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { engine, faults, profile, servedModelName } = ctx;
  const { metrics, maxBodyBytes, timeScale } = options;

  // Faults strike after the body is read (so a client never fails mid-upload) and before parsing
  // (a broken upstream does not validate anything).
  const inference =
    (handle: InferenceHandler): Handler =>
    async (req, res) => {
      const raw = await readBody(req, maxBodyBytes);
      const action = faults.drawAction(raw);
      if (action === 'crash') {
        options.crash();
        return;
      }
      if (action === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      if (action === 'hang') return; // no answer at all; closing the simulator destroys the socket
      const { addedLatencyMs, errorStatus } = faults.get();
      if (addedLatencyMs > 0) {
        await sleep(addedLatencyMs);
        if (res.destroyed) return;
      }
      if (action === 'error') {
        throw new HttpError(errorStatus, `Injected fault: the simulator failed this request with HTTP ${errorStatus}.`, errorStatus >= 500 ? 'server_error' : 'invalid_request_error');
      }
      const body = parseJsonObject(raw);
      handle(ctx, body, res, body.stream === true ? faults.drawDropAfter() : -1);
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
    '/health': { GET: healthy, HEAD: healthy },
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
      GET: (_req, res) => sendJson(res, 200, { profile: profile.name, servedModelName, timeScale, ...engine.snapshot(), counters: engine.counters }),
    },
  };

  return (req, res) => {
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
  };
}
