// Named GPU/model profiles: every number the engine model uses, each with where it comes from.
// "Measured" numbers are quoted from public benchmarks (see /work/shared/REFERENCE.md section 4
// and docs/simulator.md); "derived" ones are computed from hardware specs and say how.

export interface TimingParams {
  /** Fixed cost of every engine step: reading the weights once, kernel launches, scheduling. */
  stepBaseMs: number;
  /** Extra step time per sequence in the decode batch (sampling, per-sequence work). */
  decodePerSeqMs: number;
  /** Extra step time per token of KV context read by decoding sequences (attention reads). */
  decodePerContextTokenMs: number;
  /** Step time per prompt token computed (prefill is compute-bound: time ∝ uncached tokens). */
  prefillPerTokenMs: number;
}

export interface EngineParams extends TimingParams {
  /** Tokens per KV block (vLLM's --block-size). */
  blockSize: number;
  /** KV cache capacity in blocks (what vLLM logs as "# GPU blocks"). */
  numGpuBlocks: number;
  /** Longest prompt + output a request may have (vLLM's --max-model-len). */
  maxModelLen: number;
  /** Most sequences in one step (vLLM's --max-num-seqs). */
  maxNumSeqs: number;
  /** Token budget of one step, prefill and decode together (vLLM's --max-num-batched-tokens). */
  maxNumBatchedTokens: number;
  /** Keep freed blocks hashed for reuse (vLLM's --enable-prefix-caching, default on in V1). */
  enablePrefixCaching: boolean;
}

export interface Profile extends EngineParams {
  name: string;
  description: string;
  /** Name of the model whose behaviour is modelled (reported as `root` on /v1/models). */
  modelId: string;
  /** Default served model name (what clients put in `model`). */
  servedModelName: string;
  /** Default dimension of /v1/embeddings vectors. */
  embeddingDim: number;
}

/** Profile parameters a caller may override (CLI flags, SimulatorOptions.overrides). */
export type ProfileOverrides = Partial<EngineParams & { embeddingDim: number }>;

/** A throughput in tokens per second as the per-token time the step model takes (ms). */
function msPerToken(tokensPerSecond: number): number {
  return 1000 / tokensPerSecond;
}

// Llama-3.1-8B on one H100 80 GB (BF16), calibrated from REFERENCE.md section 4.
const H100_LLAMA_8B: Profile = {
  name: 'h100-llama-3.1-8b',
  description: 'Llama-3.1-8B-Instruct, BF16, 1x H100 80 GB SXM (default; calibrated to public measurements)',
  modelId: 'meta-llama/Llama-3.1-8B-Instruct',
  servedModelName: 'sim-llama-3.1-8b',
  embeddingDim: 384,
  // vLLM's default block size.
  blockSize: 16,
  // Derived: 0.9 x ~79.6 GiB - 14 GiB weights - 2-5 GiB activations ≈ 52-56 GiB of KV at
  // 2 MiB per 16-token block (128 KiB/token: 2 x 32 layers x 8 KV heads x 128 dim x 2 B)
  // ⇒ 27k-29k blocks, ~430k-460k tokens. We take the low end.
  numGpuBlocks: 27_000,
  // Served context in the default deployment; Llama 3.1 supports 128k but 8k is the common serving cap.
  maxModelLen: 8192,
  // vLLM's long-standing default (and the value in the Lambda H100 benchmark). vLLM >= 0.9 raises
  // it to 1024 on >= 70 GiB GPUs, but the ITL fit below is only measured up to 250 sequences.
  maxNumSeqs: 256,
  // vLLM V1 default for the OpenAI server on >= 70 GiB GPUs (EngineArgs.get_batch_defaults).
  maxNumBatchedTokens: 8192,
  enablePrefixCaching: true,
  // Measured fit to NVIDIA NIM (Llama-3.1-8B, H100): ITL ≈ 4.4 ms + 0.047 ms x running sequences
  // (c=1: 4.63 ms, c=100: 7.57 ms, c=250: 16.14 ms). The intercept is the per-step floor; the
  // derived HBM floor is 16 GB / 3.35 TB/s ≈ 4.8 ms, NIM measured 4.6 ms at c=1.
  stepBaseMs: 4.4,
  // Derived split of the measured 0.047 ms/sequence slope: the short-prompt benchmark's sequences
  // hold roughly 300 tokens of context, whose KV reads cost 300 x 0.00004 = 0.012 ms (below),
  // leaving 0.035 ms of per-sequence work.
  decodePerSeqMs: 0.035,
  // Derived: 128 KiB of KV per token / 3.35 TB/s HBM3 ≈ 0.04 µs per context token per step.
  decodePerContextTokenMs: 0.00004,
  // Derived roofline: 16 GFLOP/token, 989 TFLOPS dense BF16 at 40-60 % MFU ⇒ 25-35k prompt
  // tokens/s; we use 30k tok/s (a 10k-token prompt takes ~0.33 s).
  prefillPerTokenMs: msPerToken(30_000),
};

// Llama-3.1-8B on one A10G 24 GB (BF16). Fewer measurements exist; most numbers are derived.
const A10G_LLAMA_8B: Profile = {
  name: 'a10g-llama-3.1-8b',
  description: 'Llama-3.1-8B-Instruct, BF16, 1x A10G 24 GB (derived from specs; KV size measured on a 24 GB card)',
  modelId: 'meta-llama/Llama-3.1-8B-Instruct',
  servedModelName: 'sim-llama-3.1-8b',
  embeddingDim: 384,
  blockSize: 16,
  // Measured: vLLM logs 1,952 GPU blocks (3.81 GiB) for Llama-3.1-8B on a 24 GB card at
  // gpu_memory_utilization 0.90 (vllm-project/vllm#10517).
  numGpuBlocks: 1952,
  // Derived: 1,952 blocks x 16 = 31k tokens of KV, so 8k contexts still fit (~3 at once).
  maxModelLen: 8192,
  // vLLM defaults for GPUs under 70 GiB (EngineArgs.get_batch_defaults, OpenAI server).
  maxNumSeqs: 256,
  maxNumBatchedTokens: 2048,
  enablePrefixCaching: true,
  // Derived: 16 GB of weights / 600 GB/s GDDR6 ≈ 26.7 ms per step, plus ~1 ms of overhead.
  stepBaseMs: 27.5,
  // Derived: the H100 per-sequence cost scaled by the dense BF16 compute ratio. Published A10G
  // tensor throughput varies between sources (~70-125 TFLOPS dense BF16); we assume ~100, so
  // 0.035 ms x 989 / 100 ≈ 0.35 ms.
  decodePerSeqMs: 0.35,
  // Derived: 128 KiB per token / 600 GB/s ≈ 0.22 µs per context token.
  decodePerContextTokenMs: 0.00022,
  // Derived: 16 GFLOP/token at ~100 TFLOPS x ~50 % MFU ⇒ ~3.1k prompt tokens/s.
  prefillPerTokenMs: msPerToken(3_100),
};

// A deliberately small cache for tests that need a full KV cache quickly. Timing is the H100's.
const TINY: Profile = {
  ...H100_LLAMA_8B,
  name: 'tiny',
  description: 'Test profile: H100 timing with a 64-block (1,024-token) KV cache, so the cache fills with a few requests',
  numGpuBlocks: 64,
  // A request must fit in the whole cache.
  maxModelLen: 1024,
  maxNumSeqs: 16,
  maxNumBatchedTokens: 512,
};

const PROFILES: ReadonlyMap<string, Profile> = new Map([H100_LLAMA_8B, A10G_LLAMA_8B, TINY].map((p) => [p.name, p]));

export const DEFAULT_PROFILE = H100_LLAMA_8B.name;

export function listProfiles(): Profile[] {
  return [...PROFILES.values()];
}

/** Checks the invariants the engine relies on; throws with a precise message. */
export function validateProfile(p: Profile): void {
  const positiveInt = ['blockSize', 'numGpuBlocks', 'maxModelLen', 'maxNumSeqs', 'maxNumBatchedTokens', 'embeddingDim'] as const;
  for (const key of positiveInt) {
    if (!Number.isInteger(p[key]) || p[key] < 1) throw new Error(`profile ${p.name}: ${key} must be a positive integer, got ${p[key]}`);
  }
  const nonNegative = ['stepBaseMs', 'decodePerSeqMs', 'decodePerContextTokenMs', 'prefillPerTokenMs'] as const;
  for (const key of nonNegative) {
    if (!Number.isFinite(p[key]) || p[key] < 0) throw new Error(`profile ${p.name}: ${key} must be a non-negative number, got ${p[key]}`);
  }
  if (p.maxModelLen > p.numGpuBlocks * p.blockSize) {
    throw new Error(`profile ${p.name}: maxModelLen ${p.maxModelLen} exceeds the KV cache (${p.numGpuBlocks} blocks x ${p.blockSize} tokens)`);
  }
}

export const PROFILE_NAMES: readonly string[] = [...PROFILES.keys()];

/** What is wrong with a profile name no profile has (the sim command and the config schema say it alike). */
export function unknownProfileMessage(name: string): string {
  return `unknown simulator profile "${name}"; known profiles: ${PROFILE_NAMES.join(', ')}`;
}

/** The named profile with overrides applied; throws on an unknown name or invalid values. */
export function resolveProfile(name: string = DEFAULT_PROFILE, overrides: ProfileOverrides = {}): Profile {
  const base = PROFILES.get(name);
  if (!base) throw new Error(unknownProfileMessage(name));
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const profile: Profile = { ...base, ...defined };
  validateProfile(profile);
  return profile;
}
