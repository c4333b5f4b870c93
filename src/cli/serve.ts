// `switchyard serve`: load config, open the store, launch simulator replicas, start the gateway.

import { loadServeConfig, type ServeFlags } from './serve-config.ts';
import { describeListenError, isListenError } from './listen-error.ts';
import { budgetScopeProblems } from './budget-scopes.ts';
import { formatProblem } from '../config/load.ts';
import { deprecationNotes } from '../config/deprecations.ts';
import { openStore } from '../store/open.ts';
import { deploymentStatusRoutes } from '../routing/admin-routes.ts';
import { createModelRegistry } from '../routing/registry.ts';
import { HealthChecker } from '../routing/health.ts';
import { logDeploymentTransitions } from '../routing/deployment-log.ts';
import { OutlierDetector } from '../routing/outlier-detection.ts';
import { MetricsScraper } from '../routing/scraper.ts';
import { GatewayMetrics } from '../telemetry/metrics.ts';
import { createLogger } from '../telemetry/logger.ts';
import { Gateway } from '../server/gateway.ts';
import { isLoopbackAddress } from '../server/loopback.ts';
import { launchSimulatorDeployments, stopSimulators } from './simulator-replicas.ts';
import { isReportedOutage } from '../store/redis-connection.ts';
import { createTenancy } from '../tenancy/index.ts';
import { openSharedState } from './shared-state.ts';
import { createFinops } from '../finops/index.ts';
import { createPipeline } from '../server/pipeline.ts';
import { createBatch, spareCapacity, type Batch } from '../batch/index.ts';
import { batchOwnerStage } from '../batch/owner-stage.ts';


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
  const notes: string[] = deprecationNotes(config);
  for (const note of notes) logger.warn(note);
  const masterKey = config.server.master_key;
  let host = config.server.host;
  if (!masterKey && !isLoopbackAddress(host)) {
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
  // Batch work's pacing: the pools read it as their lowest-priority share, the batch worker sets it.
  const batchShare = spareCapacity(config.batch);
  const registry = createModelRegistry(models, { lowestPriorityShare: batchShare });
  logDeploymentTransitions(registry.allDeployments(), logger);
  const health = new HealthChecker(registry.allDeployments(), config.health_check_interval_ms);
  await health.checkAll();
  health.start();
  const outliers = new OutlierDetector(registry.pools.values());
  outliers.start();
  const scraper = new MetricsScraper([...registry.scrapeIntervals].map(([deployment, intervalMs]) => ({ deployment, intervalMs })));
  scraper.start();
  const metrics = new GatewayMetrics();
  // Redis (REDIS_URL) may be down: the gateway starts anyway and says what is degraded.
  const shared = await openSharedState(
    process.env.REDIS_URL,
    { limitsFailOpen: config.limits.fail_open, budgetsFailOpen: config.finops.budget_enforcement.fail_open, budgetRefreshMs: config.finops.budget_enforcement.refresh_ms },
    logger,
  );
  notes.push(...shared.notes);
  const { counters, budgetBus } = shared;
  const tenancy = await createTenancy({
    sql: store.sql,
    counters,
    masterKey,
    bus: shared.tenancyBus,
    limits: { failOpen: config.limits.fail_open },
    onError: (err, during) => {
      if (!isReportedOutage(err)) logger.warn({ err: (err as Error).message, during }, 'tenancy degraded');
    },
  });
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
    // Budget definitions change rarely but must bind every replica at once: announce them on Redis
    // (a change that cannot be announced still reaches the others within refresh_ms).
    announceBudgetsChanged: budgetBus
      ? () => budgetBus.publish({ type: 'budgets' }).catch((err: Error) => logger.warn({ err: err.message }, 'budget change not broadcast'))
      : undefined,
  });
  // A config budget whose team or key is not in the store binds no request: say so, and start
  // (check-config reports the same; see budget-scopes.ts for why this does not stop serve).
  for (const p of await budgetScopeProblems(config.finops.budgets, tenancy.store)) {
    logger.warn({ path: p.path, problem: p.message }, 'config budget binds no request');
    notes.push(`Warning: ${formatProblem(p)}`);
  }
  const reloadBudgets = () => void finops.budgets.reload().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'budget reload failed'));
  await budgetBus?.start(reloadBudgets, reloadBudgets);
  const pipelineParts = { registry, metrics, logger, authenticate: tenancy.stages.authenticate, limit: tenancy.stages.limit, finops };
  const batch = createBatch({
    sql: store.sql,
    config: config.batch,
    dataDir: config.data_dir,
    registry,
    capacity: batchShare,
    // Batch items take the same pipeline; only authentication differs (the batch owner, checked again per item).
    pipeline: createPipeline({ ...pipelineParts, authenticate: batchOwnerStage(tenancy.keys) }),
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
    pipeline: createPipeline(pipelineParts),
    registry,
    metrics,
    logger,
    masterKey,
    authorizeAdmin: tenancy.authorizeAdmin,
    maxBodyBytes: config.server.max_body_bytes,
    ingress: config.server,
    authenticateClient: tenancy.authenticate,
    mayUseModel: tenancy.mayUseModel,
    degraded: shared.degraded,
    adminRoutes: [...deploymentStatusRoutes(registry), ...tenancy.adminRoutes, ...finops.routes, ...batch.adminRoutes],
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
    outliers.stop();
    scraper.stop();
    await Promise.all([gateway.shutdown(config.server.shutdown_grace_ms), batch.stopWorker(Math.min(config.server.shutdown_grace_ms, 10_000))]);
    stopSimulators(replicas);
    // Settle and flush what the requests owed before the store goes away.
    await tenancy.close();
    await finops.close();
    await batch.drain();
    await budgetBus?.close();
    await shared.close();
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
