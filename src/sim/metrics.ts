// /metrics in Prometheus text format with vLLM's metric names and `model_name` label, so that
// anything that scrapes vLLM (the gateway's load-aware routing, dashboards) scrapes the simulator.
// Durations are model time: what the modelled GPU would report, whatever the time scale.
//
// Both the current names and the pre-rename ones are exposed (kv_cache_usage_perc and
// gpu_cache_usage_perc, prefix_cache_* and gpu_prefix_cache_*), since scrapers use either.

import type { Engine, EngineObserver } from './engine/engine.ts';
import type { EngineRequestResult } from './engine/request.ts';
import { Histogram } from './util/histogram.ts';

// vLLM's bucket bounds (vllm/v1/metrics/loggers.py).
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  return String(n);
}

export class SimMetrics implements EngineObserver {
  private readonly ttft = new Histogram(TTFT_BUCKETS);
  private readonly itl = new Histogram(ITL_BUCKETS);
  private readonly e2e = new Histogram(REQUEST_LATENCY_BUCKETS);
  private readonly queue = new Histogram(REQUEST_LATENCY_BUCKETS);
  private readonly prefill = new Histogram(REQUEST_LATENCY_BUCKETS);
  private readonly decode = new Histogram(REQUEST_LATENCY_BUCKETS);
  private readonly labels: string;

  constructor(
    private readonly engine: Engine,
    modelName: string,
  ) {
    this.labels = `model_name="${escapeLabel(modelName)}",engine="0"`;
    engine.setObserver(this);
  }

  requestFinished(r: EngineRequestResult): void {
    if (r.firstScheduledMs >= 0) this.queue.observe(Math.max(0, r.firstScheduledMs - r.arrivalMs) / 1000);
    if (r.firstTokenMs >= 0) {
      this.ttft.observe(Math.max(0, r.firstTokenMs - r.arrivalMs) / 1000);
      if (r.firstScheduledMs >= 0) this.prefill.observe(Math.max(0, r.firstTokenMs - r.firstScheduledMs) / 1000);
      this.decode.observe(Math.max(0, r.finishedMs - r.firstTokenMs) / 1000);
    }
    this.e2e.observe(Math.max(0, r.finishedMs - r.arrivalMs) / 1000);
  }

  interTokenLatency(ms: number): void {
    this.itl.observe(ms / 1000);
  }

  render(): string {
    const L = this.labels;
    const c = this.engine.counters;
    const kv = this.engine.kv;
    const p = this.engine.profile;
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: string[]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    };
    const simple = (name: string, type: string, help: string, value: number) => metric(name, type, help, [`${name}{${L}} ${fmt(value)}`]);
    const histogram = (name: string, help: string, h: Histogram) => {
      const cum = h.cumulative();
      const samples = h.bounds.map((b, i) => `${name}_bucket{${L},le="${fmt(b)}"} ${cum[i]}`);
      samples.push(`${name}_bucket{${L},le="+Inf"} ${h.count}`, `${name}_sum{${L}} ${fmt(h.sum)}`, `${name}_count{${L}} ${h.count}`);
      metric(name, 'histogram', help, samples);
    };

    simple('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', this.engine.numRunning);
    simple('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', this.engine.numWaiting);
    simple('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', kv.usage);
    simple('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage. (Deprecated name of vllm:kv_cache_usage_perc.)', kv.usage);
    metric('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig.', [
      `vllm:cache_config_info{${L},block_size="${p.blockSize}",num_gpu_blocks="${p.numGpuBlocks}",enable_prefix_caching="${p.enablePrefixCaching ? 'True' : 'False'}"} 1`,
    ]);
    simple('vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', c.prefixQueries);
    simple('vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', c.prefixHits);
    simple('vllm:gpu_prefix_cache_queries_total', 'counter', 'GPU prefix cache queries, in terms of number of queried tokens. (Deprecated name.)', c.prefixQueries);
    simple('vllm:gpu_prefix_cache_hits_total', 'counter', 'GPU prefix cache hits, in terms of number of cached tokens. (Deprecated name.)', c.prefixHits);
    simple('vllm:num_preemptions_total', 'counter', 'Cumulative number of preemption from the engine.', c.preemptions);
    simple('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', c.promptTokens);
    simple('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', c.generationTokens);
    metric(
      'vllm:request_success_total',
      'counter',
      'Count of successfully processed requests.',
      (['stop', 'length', 'abort'] as const).map((reason) => `vllm:request_success_total{${L},finished_reason="${reason}"} ${c.finished[reason]}`),
    );
    histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', this.ttft);
    histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', this.itl);
    histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', this.e2e);
    histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', this.queue);
    histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', this.prefill);
    histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', this.decode);
    return out.join('\n') + '\n';
  }
}
