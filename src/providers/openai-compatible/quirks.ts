// What differs between engines that all claim OpenAI compatibility. docs/configuration.md explains
// each; the adapter reads these flags instead of branching on engine names.

export const ENGINES = ['vllm', 'sglang', 'llamacpp', 'ollama', 'tgi', 'lmstudio', 'generic'] as const;
export type Engine = (typeof ENGINES)[number];

export interface EngineQuirks {
  /** Accepts stream_options.include_usage and sends a final usage chunk. */
  streamUsage: boolean;
  /** Path (relative to the server root, not /v1) that answers 200 when the engine is ready. */
  healthPath: string;
  /** Path of its Prometheus metrics, relative to the server root, or null if it has none. */
  metricsPath: string | null;
}

export const ENGINE_QUIRKS: Record<Engine, EngineQuirks> = {
  // vLLM: /health at the root; usage chunk honoured; vllm:* metrics.
  vllm: { streamUsage: true, healthPath: '/health', metricsPath: '/metrics' },
  // SGLang: /health at the root; sglang:* metrics with --enable-metrics.
  sglang: { streamUsage: true, healthPath: '/health', metricsPath: '/metrics' },
  // llama.cpp server: /health at the root; metrics only with --metrics.
  llamacpp: { streamUsage: true, healthPath: '/health', metricsPath: '/metrics' },
  // Ollama: no /health; /v1/models answers once the server is up. No Prometheus metrics.
  ollama: { streamUsage: true, healthPath: '/v1/models', metricsPath: null },
  // TGI: /health at the root; older releases reject unknown fields such as stream_options.
  tgi: { streamUsage: false, healthPath: '/health', metricsPath: '/metrics' },
  // LM Studio: no /health; /v1/models answers when the server is up.
  lmstudio: { streamUsage: true, healthPath: '/v1/models', metricsPath: null },
  // Unknown engine: the most widely supported choices.
  generic: { streamUsage: true, healthPath: '/v1/models', metricsPath: null },
};
