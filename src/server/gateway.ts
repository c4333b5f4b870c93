// The gateway's HTTP server: routes requests to the pipeline, health, readiness and metrics,
// and shuts down gracefully (stop accepting, let in-flight streams finish within a bound).

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import type { EdgeName } from '../api/edge.ts';
import { edgeForPath } from '../api/edges.ts';
import { GatewayError } from '../api/errors.ts';
import { DEFAULT_PRIORITY } from '../api/priority.ts';
import type { Principal } from '../api/principal.ts';
import type { AdminRoute, ClientRoute } from '../api/routes.ts';
import type { Kernel } from '../pipeline/index.ts';
import type { ModelRegistry } from '../routing/registry.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { awaitContinue, discardBody, readBody } from './body.ts';
import { answerClientError } from './client-error.ts';
import { BrowserAccess } from './browser-access.ts';
import { ConnectionGuard, defaultMaxConnections } from './connection-guard.ts';
import type { ServerConfig } from '../config/schema.ts';
import { RequestCancel } from '../util/cancel-signal.ts';
import { requestIdOf, responseHeaders, sendError, sendJson, sendResult, type InternalErrorLog } from './respond.ts';
import { matchRoute, type InferenceRoute } from './routes.ts';
import { AdminRouter } from './admin-router.ts';
import { ClientRouter } from './client-router.ts';

export interface GatewayOptions {
  /** The inference pipeline (server/pipeline.ts). */
  pipeline: Kernel;
  registry: ModelRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Admin route tables of the capabilities (tenancy, finops, ...), mounted under /admin/v1/. */
  adminRoutes?: readonly AdminRoute[];
  /** Client API resources outside the pipeline (files, batches), each under its path prefix. */
  clientRoutes?: readonly { prefix: string; routes: readonly ClientRoute[] }[];
  /** Whether a master key is configured: without one the gateway answers loopback Host names only. */
  masterKey: string | undefined;
  /** The admin API's check (the master key), or the 401 to answer. */
  authorizeAdmin(headers: IncomingHttpHeaders): void;
  maxBodyBytes: number;
  /** The `server:` settings of the listener: timeouts, connection caps, browser origins. */
  ingress: Pick<ServerConfig, 'headers_timeout_ms' | 'request_timeout_ms' | 'keep_alive_timeout_ms' | 'max_connections' | 'max_connections_per_client' | 'cors'>;
  /** The authenticate stage's check, for endpoints outside the pipeline (GET /v1/models). */
  authenticateClient(headers: IncomingHttpHeaders, edge: EdgeName): Promise<Principal>;
  mayUseModel(principal: Principal, model: string): Promise<boolean>;
  /** What runs degraded right now (e.g. Redis unreachable); /readyz lists it and stays 200. */
  degraded?: () => readonly Degradation[];
}

/** One capability running degraded, as /readyz reports it. */
export interface Degradation {
  /** What is affected: `rate_limits`, `budgets`, `broadcasts`. */
  feature: string;
  /** What requests meet meanwhile, where a setting decides it. */
  mode?: 'fail_open' | 'fail_closed';
  /** Since when (ISO 8601). */
  since: string;
  /** The cause, its effect on requests, and the setting or variable involved. */
  message: string;
}

/** Pending connections the kernel may queue (it caps this at net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;
const CIRCUIT_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

export class Gateway {
  private readonly server: Server;
  private readonly pipeline: Kernel;
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly options: GatewayOptions;
  private readonly admin: AdminRouter;
  private readonly client: ClientRouter;
  /** Every answer that is a 500 is logged here with its cause and the request id it carries. */
  private readonly logInternal: InternalErrorLog;
  private readonly connections: ConnectionGuard;
  private readonly browsers: BrowserAccess;

  constructor(options: GatewayOptions) {
    this.options = options;
    this.logInternal = (cause, requestId) => options.logger.error({ err: cause, reqId: requestId }, 'internal error');
    this.pipeline = options.pipeline;
    this.admin = new AdminRouter(async (headers) => options.authorizeAdmin(headers), this.logInternal);
    if (options.adminRoutes) this.admin.mount(options.adminRoutes);
    this.client = new ClientRouter((headers) => options.authenticateClient(headers, 'openai'), options.maxBodyBytes, this.logInternal);
    for (const { prefix, routes } of options.clientRoutes ?? []) this.client.mount(prefix, routes);
    const { ingress } = options;
    this.browsers = new BrowserAccess({ loopbackOnly: !options.masterKey, origins: ingress.cors.origins, adminOrigins: ingress.cors.admin_origins });
    this.connections = new ConnectionGuard(
      {
        maxConnections: ingress.max_connections ?? defaultMaxConnections(),
        maxPerClient: ingress.max_connections_per_client,
        firstRequestTimeoutMs: ingress.headers_timeout_ms,
      },
      (pressure) => options.logger.warn(pressure, 'connection caps reached: waiting connections closed, new ones refused (server.max_connections)'),
    );
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      if (!this.connections.requestStarted(socket)) {
        res.destroy();
        return;
      }
      this.active += 1;
      res.on('close', () => {
        this.connections.requestEnded(socket);
        this.active -= 1;
        if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
      this.handle(req, res).catch((err: unknown) => {
        sendError(res, edgeForPath(req.url ?? '/'), err, { 'x-request-id': requestIdOf(req.headers) }, this.logInternal);
      });
    };
    this.server = createServer(
      {
        headersTimeout: ingress.headers_timeout_ms,
        requestTimeout: ingress.request_timeout_ms,
        keepAliveTimeout: ingress.keep_alive_timeout_ms,
        // How often Node looks for connections past the two timeouts above.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(ingress.headers_timeout_ms / 4))),
      },
      onRequest,
    );
    this.server.on('connection', this.connections.accept);
    // A client that sent Expect: 100-continue is told to go on only once its declared length has
    // been checked against the limit of the endpoint it is for (Node would send the 100 at once).
    this.server.on('checkContinue', (req, res) => {
      awaitContinue(req, res);
      onRequest(req, res);
    });
    this.server.on('clientError', answerClientError);
  }

  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      // A burst of new connections (clients reconnecting, thousands of streams opening) waits in
      // the kernel's accept queue while the event loop is busy; Node's default of 511 resets the rest.
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${shownHost}:${address.port}`;
  }

  /** Stops accepting, waits up to graceMs for in-flight requests, then closes what is left. */
  async shutdown(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const refused = this.browsers.check(req, res, path);
    if (refused !== undefined) {
      if (refused !== 'answered') sendError(res, edgeForPath(path), refused);
      discardBody(req);
      return;
    }
    if (path.startsWith('/admin/v1/') && (await this.admin.handle(req, res, path, q === -1 ? '' : rawUrl.slice(q + 1)))) return;
    if (this.client.owns(path) && (await this.client.handle(req, res, path, q === -1 ? '' : rawUrl.slice(q + 1)))) return;
    const match = matchRoute(req.method ?? 'GET', path);
    if (!match.found) {
      const edge = edgeForPath(path);
      if (match.allow) {
        sendError(res, edge, new GatewayError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${match.allow}.`, { code: 'method_not_allowed', headers: { allow: match.allow } }));
      } else {
        sendError(res, edge, new GatewayError('not_found', `No such endpoint: ${req.method} ${path}. See docs/api.md for the endpoints Switchyard serves.`, { code: 'unknown_endpoint' }));
      }
      discardBody(req);
      return;
    }
    const route = match.route;
    switch (route.type) {
      case 'healthz':
        return sendJson(res, 200, { status: 'ok' });
      case 'readyz':
        return this.readiness(res);
      case 'metrics':
        return this.sendMetrics(res);
      case 'models':
        return this.listModels(req, res);
      case 'inference':
        return this.inference(route, req, res, path);
    }
  }

  private async inference(route: InferenceRoute, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const startedAt = performance.now();
    const requestId = requestIdOf(req.headers);
    const abort = new RequestCancel();
    // A client that goes away mid-request cancels the upstream call.
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client disconnected'));
    });
    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, this.options.maxBodyBytes);
    } catch (err) {
      sendError(res, route.edge, err, { 'x-request-id': requestId }, this.logInternal);
      return;
    }
    const ctx = this.pipeline.context({
      edge: route.edge,
      kind: route.kind,
      endpoint: path,
      headers: req.headers,
      rawBody,
      requestId,
      signal: abort,
      priority: DEFAULT_PRIORITY,
      startedAt,
    });
    try {
      await this.pipeline.run(ctx);
    } catch (err) {
      sendError(res, route.edge, err, responseHeaders(ctx), this.logInternal);
      return;
    }
    await sendResult(ctx, res);
  }

  private async listModels(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const edge = edgeForPath('/v1/models');
    let principal: Principal;
    try {
      principal = await this.options.authenticateClient(req.headers, 'openai');
    } catch (err) {
      return sendError(res, edge, err, { 'x-request-id': requestIdOf(req.headers) }, this.logInternal);
    }
    const data = [];
    for (const id of this.options.registry.pools.keys()) {
      if (await this.options.mayUseModel(principal, id)) data.push({ id, object: 'model', created: this.createdAt, owned_by: 'switchyard' });
    }
    sendJson(res, 200, { object: 'list', data });
  }

  /**
   * 503 only when a model has no healthy deployment: another replica may have one. A degraded
   * shared dependency (Redis) stays 200 with a `degraded` list, even where it fails requests
   * closed: every replica shares it, so a 503 here would take all of them out of the Service at
   * once, including for the requests that do not need it.
   */
  private readiness(res: ServerResponse): void {
    const models: Record<string, { healthy: number; total: number }> = {};
    let ready = true;
    for (const [name, pool] of this.options.registry.pools) {
      const healthy = pool.healthyCount;
      models[name] = { healthy, total: pool.deployments.length };
      if (healthy === 0) ready = false;
    }
    const degraded = this.options.degraded?.() ?? [];
    const status = !ready ? 'not_ready' : degraded.length > 0 ? 'degraded' : 'ready';
    sendJson(res, ready ? 200 : 503, { status, models, degraded });
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    const { metrics, registry } = this.options;
    const now = Date.now();
    for (const pool of registry.pools.values()) {
      metrics.queueDepth.set({ model: pool.name }, pool.queueDepth);
      for (const d of pool.deployments) {
        const labels = { model: d.modelName, deployment: d.id };
        metrics.deploymentHealthy.set(labels, d.healthy ? 1 : 0);
        metrics.deploymentInFlight.set(labels, d.inFlight);
        metrics.circuitState.set(labels, CIRCUIT_STATE_VALUE[d.breaker.stateAt(now)]);
      }
    }
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(text);
  }
}
