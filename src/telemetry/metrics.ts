// Gateway Prometheus metrics, on a registry of our own (no global state shared with libraries).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'switchyard_requests_total',
    help: 'Requests answered, by model, endpoint and HTTP status.',
    labelNames: ['model', 'endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'switchyard_request_duration_seconds',
    help: 'Time from request received to last byte sent (whole stream for streaming requests).',
    labelNames: ['model', 'endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ttft = new Histogram({
    name: 'switchyard_time_to_first_token_seconds',
    help: 'Time from request received to the first token relayed, streaming requests only.',
    labelNames: ['model'] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'switchyard_tokens_total',
    help: 'Tokens processed, by model and direction (in = prompt, out = completion).',
    labelNames: ['model', 'direction'] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'switchyard_upstream_errors_total',
    help: 'Failed upstream attempts, by model, deployment and error code.',
    labelNames: ['model', 'deployment', 'code'] as const,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'switchyard_requests_in_flight',
    help: 'Requests being served now, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly deploymentHealthy = new Gauge({
    name: 'switchyard_deployment_healthy',
    help: '1 when the deployment passes health checks, 0 when it is out of rotation.',
    labelNames: ['model', 'deployment'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'switchyard_retries_total',
    help: 'Attempts repeated on another (or the same) deployment after a retryable failure.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: 'switchyard_fallbacks_total',
    help: 'Requests handed to a fallback model because the requested one could not serve.',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });
  readonly shed = new Counter({
    name: 'switchyard_shed_total',
    help: 'Requests refused by admission control (queue full or predicted wait over the SLO).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'switchyard_queue_depth',
    help: 'Requests waiting in the gateway queue for a deployment slot.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly circuitState = new Gauge({
    name: 'switchyard_circuit_state',
    help: 'Circuit breaker per deployment: 0 closed, 1 half-open, 2 open (ejected).',
    labelNames: ['model', 'deployment'] as const,
    registers: [this.registry],
  });
  readonly deploymentInFlight = new Gauge({
    name: 'switchyard_deployment_in_flight',
    help: 'Requests the gateway has in flight to each deployment.',
    labelNames: ['model', 'deployment'] as const,
    registers: [this.registry],
  });

  readonly ledgerDropped = new Counter({
    name: 'switchyard_ledger_dropped_total',
    help: 'Usage records dropped because the ledger queue was full (the database fell behind).',
    registers: [this.registry],
  });

  readonly batchItems = new Counter({
    name: 'switchyard_batch_items_total',
    help: 'Batch request attempts by outcome: succeeded, failed (to the dead-letter queue), retried.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_process_' });
  }
}
