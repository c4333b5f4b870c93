// `switchyard serve`: load config, open the store, launch simulator replicas, start the gateway.

import { loadServeConfig, type ServeFlags } from './serve-config.ts';
import { describeListenError, isListenError } from './listen-error.ts';
import { budgetScopeProblems } from './budget-scopes.ts';
import { formatProblem } from '../config/load.ts';
import { openStore } from '../store/open.ts';
import { createModelRegistry } from '../routing/registry.ts';
import { HealthChecker } from '../routing/health.ts';
import { MetricsScraper } from '../routing/scraper.ts';
import { GatewayMetrics } from '../telemetry/metrics.ts';
import { createLogger } from '../telemetry/logger.ts';
import { Gateway } from '../server/gateway.ts';
import { launchSimulatorDeployments, stopSimulators } from '../server/simulator-replicas.ts';
import { createCounterStore } from '../store/counters/index.ts';
import { createTenancy } from '../tenancy/index.ts';
import { RedisInvalidationBus } from '../tenancy/invalidation.ts';
import { createFinops } from '../finops/index.ts';
import { budgetStage, requestEnded } from '../finops/pipeline.ts';
import { createPipeline } from '../server/pipeline.ts';
import { createBatch, type Batch } from '../batch/index.ts';
import { batchOwnerStage } from '../batch/owner-stage.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function banner(url: string, models: string[], masterKey: boolean, notes: string[]): string {
  const model = models[0];
  const auth = masterKey ? ' -H "Authorization: Bearer $SWITCHYARD_MASTER_KEY"' : '';
  return [
    '',
    `  Switchyard is listening on ${url}`,
    `  Models: ${models.join(', ')}`,
    ...notes.map((n) => `  ${n}`),
    '',
    '  Send a first request:',
    `    curl ${url}/v1/chat/completions -H 'content-type: application/json'${auth} \\`,
    `      -d '{"model":"${model}","messages":[{"role":"user","content":"hi"}]}'`,
    '',
  ].join('\n');
}

export async function serve(flags: ServeFlags): Promise<void> {
  const { config, source } = await loadServeConfig(flags);
  const logger = createLogger(config.log_level);
  const notes: string[] = [];
  const masterKey = config.server.master_key;
  let host = config.server.host;
  if (!masterKey && !LOOPBACK.has(host)) {
    notes.push(`No master key is set (SWITCHYARD_MASTER_KEY), so Switchyard binds to 127.0.0.1 only, not ${host}.`);
    host = '127.0.0.1';
  } else if (!masterKey) {
    notes.push('No master key is set: listening on loopback only. Set SWITCHYARD_MASTER_KEY to require keys and allow other hosts.');
  } else {
    notes.push('Master key set: every /v1 request needs Authorization: Bearer <key> (or x-api-key on /v1/messages).');
  }

  const store = await openStore({ dataDir: config.data_dir, databaseUrl: process.env.DATABASE_URL });
  notes.push(`Config: ${source}. Data: ${store.location}`);
  const { models, replicas } = await launchSimulatorDeployments(config.models, logger);
  // Simulator children end with this process however it ends, start-up failures included (they
  // also watch their IPC channel, for the ends where no exit hook runs: SIGKILL, out of memory).
  process.once('exit', () => stopSimulators(replicas));
  const registry = createModelRegistry(models);
  const health = new HealthChecker(registry.allDeployments(), config.health_check_interval_ms);
  await health.checkAll();
  health.start();
  const scraper = new MetricsScraper([...registry.scrapeIntervals].map(([deployment, intervalMs]) => ({ deployment, intervalMs })));
  scraper.start();
  const metrics = new GatewayMetrics();
  const redisUrl = process.env.REDIS_URL;
  const counters = createCounterStore(redisUrl, { onError: (err) => logger.warn({ err: (err as Error).message }, 'counter store error') });
  notes.push(`Limits and budgets: ${redisUrl ? 'shared through Redis' : 'in this process (set REDIS_URL to share them across replicas)'}.`);
  const tenancy = await createTenancy({
    sql: store.sql,
    counters,
    masterKey,
    redisUrl,
    onError: (err, during) => logger.warn({ err: (err as Error).message, during }, 'tenancy degraded'),
  });
  // Budget definitions change rarely but must bind every replica at once: announce them on Redis.
  const budgetBus = redisUrl
    ? new RedisInvalidationBus<{ type: 'budgets' }>({ url: redisUrl, channel: 'switchyard:finops:budgets', onError: (err) => logger.warn({ err: err.message }, 'budget bus error') })
    : undefined;
  // FinOps hands undeliverable webhooks to the dead-letter queue, which is built just below.
  const late: { batch?: Batch } = {};
  const finops = await createFinops({
    sql: store.sql,
    counters,
    config,
    logger,
    onWebhookGiveUp: (u) => {
      if (late.batch) late.batch.recordUndeliveredWebhook(u);
      else logger.error({ webhook: u.webhook, kind: u.kind, reason: u.reason }, 'webhook given up before the dead-letter queue was ready');
    },
    onLedgerDrop: (count) => metrics.ledgerDropped.inc(count),
    announceBudgetsChanged: budgetBus ? () => budgetBus.publish({ type: 'budgets' }) : undefined,
  });
  // A config budget whose team or key is not in the store binds no request: say so, and start
  // (check-config reports the same; see budget-scopes.ts for why this does not stop serve).
  for (const p of await budgetScopeProblems(config.finops.budgets, tenancy.store)) {
    logger.warn({ path: p.path, problem: p.message }, 'config budget binds no request');
    notes.push(`Warning: ${formatProblem(p)}`);
  }
  const reloadBudgets = () => void finops.budgets.reload().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'budget reload failed'));
  await budgetBus?.start(reloadBudgets, reloadBudgets);
  const pipelineDeps = {
    registry,
    metrics,
    logger,
    authenticate: tenancy.stages.authenticate,
    limit: tenancy.stages.limit,
    budget: budgetStage(finops),
    onRequestEnd: (ctx: Parameters<typeof requestEnded>[1], status: number, usage: Parameters<typeof requestEnded>[3], errorCode?: string) =>
      void requestEnded(finops, ctx, status, usage, errorCode),
  };
  const batch = createBatch({
    sql: store.sql,
    config: config.batch,
    dataDir: config.data_dir,
    registry,
    // Batch items take the same pipeline; only authentication differs (the batch owner, checked again per item).
    pipeline: createPipeline({ ...pipelineDeps, authenticate: batchOwnerStage(tenancy.keys) }),
    mayUseModel: tenancy.mayUseModel,
    resendWebhook: (webhook, kind, body) => finops.webhooks.resend(webhook, kind, body),
    maxLineBytes: config.server.max_body_bytes,
    onOutcomes: (outcomes) => {
      for (const o of outcomes) metrics.batchItems.inc({ outcome: o.state === 'queued' ? 'retried' : o.state });
    },
    logger,
  });
  late.batch = batch;
  const gateway = new Gateway({
    ...pipelineDeps,
    masterKey,
    maxBodyBytes: config.server.max_body_bytes,
    authenticateClient: tenancy.authenticate,
    mayUseModel: tenancy.mayUseModel,
    responseHeaders: tenancy.responseHeaders,
    adminRoutes: [...tenancy.adminRoutes, ...finops.routes, ...batch.adminRoutes],
    clientRoutes: batch.clientRoutes,
  });

  let url: string;
  try {
    url = await gateway.listen(config.server.port, host);
  } catch (err) {
    stopSimulators(replicas);
    throw isListenError(err) ? new Error(describeListenError(err, host, config.server.port), { cause: err }) : err;
  }
  process.stdout.write(banner(url, [...registry.pools.keys()], masterKey !== undefined, notes) + '\n');
  logger.info({ url, models: [...registry.pools.keys()], deployments: registry.allDeployments().map((d) => d.id), instanceId: store.instanceId }, 'listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.server.shutdown_grace_ms }, 'shutting down: finishing in-flight requests');
    health.stop();
    scraper.stop();
    await Promise.all([gateway.shutdown(config.server.shutdown_grace_ms), batch.stopWorker(Math.min(config.server.shutdown_grace_ms, 10_000))]);
    stopSimulators(replicas);
    // Settle and flush what the requests owed before the store goes away.
    await tenancy.close();
    await finops.close();
    await batch.drain();
    await budgetBus?.close();
    await counters.close();
    await registry.close();
    await store.close();
    logger.info('stopped');
    logger.flush();
    // Give pino's async destination a moment to drain before exiting.
    setTimeout(() => process.exit(0), 50).unref();
  };
  // Listening for good, not once: a second signal while draining must not kill the process with
  // the default action. A Ctrl-C under `npm start` arrives twice, from the terminal and from npm.
  // SIGHUP (a closed terminal, a session ending) stops it as SIGTERM does.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));
}
