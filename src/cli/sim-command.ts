// `switchyard sim`: runs one simulated vLLM replica (docs/simulator.md).

import { InvalidArgumentError, type Command } from 'commander';
import { describeListenError, isListenError } from './listen-error.ts';
import { DEFAULT_PROFILE, listProfiles, startSimulator, type Faults, type ProfileOverrides, type RunningSimulator } from '../sim/index.ts';

/** How long open requests get to finish when the simulator is told to stop. */
const STOP_GRACE_MS = 2_000;

interface SimFlags {
  port: number;
  host: string;
  profile: string;
  model?: string;
  timeScale: number;
  seed: number;
  embeddingDim?: number;
  maxModelLen?: number;
  numGpuBlocks?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  prefixCaching: boolean;
  errorRate?: number;
  errorStatus?: number;
  addedLatencyMs?: number;
  dropMidStreamRate?: number;
  hangRate?: number;
  resetRate?: number;
  listProfiles?: boolean;
}

function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function number(min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(max === Infinity ? `expected a number >= ${min}` : `expected a number between ${min} and ${max}`);
    return n;
  };
}

function printProfiles(): void {
  for (const p of listProfiles()) {
    process.stdout.write(
      `${p.name}${p.name === DEFAULT_PROFILE ? ' (default)' : ''}\n  ${p.description}\n` +
        `  KV cache ${p.numGpuBlocks} blocks x ${p.blockSize} tokens = ${p.numGpuBlocks * p.blockSize} tokens; max_model_len ${p.maxModelLen}; ` +
        `max_num_seqs ${p.maxNumSeqs}; max_num_batched_tokens ${p.maxNumBatchedTokens}\n` +
        `  step ${p.stepBaseMs} ms + ${p.decodePerSeqMs} ms/seq + ${p.decodePerContextTokenMs} ms/context token + ${p.prefillPerTokenMs.toFixed(5)} ms/prompt token\n`,
    );
  }
}

async function runSim(flags: SimFlags): Promise<void> {
  if (flags.listProfiles) {
    printProfiles();
    return;
  }
  const overrides: ProfileOverrides = {
    maxModelLen: flags.maxModelLen,
    numGpuBlocks: flags.numGpuBlocks,
    maxNumSeqs: flags.maxNumSeqs,
    maxNumBatchedTokens: flags.maxNumBatchedTokens,
    ...(flags.prefixCaching ? {} : { enablePrefixCaching: false }),
  };
  const faults: Partial<Faults> = {
    errorRate: flags.errorRate,
    errorStatus: flags.errorStatus,
    addedLatencyMs: flags.addedLatencyMs,
    dropMidStreamRate: flags.dropMidStreamRate,
    hangRate: flags.hangRate,
    resetRate: flags.resetRate,
  };
  const running: { sim?: RunningSimulator } = {};
  const stop = () => {
    if (!running.sim) process.exit(0);
    void running.sim.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Started with an IPC channel (as `switchyard serve` starts its replicas), the channel closing
  // means the parent is gone, however it went (exit, SIGKILL, out of memory): a replica never
  // outlives the gateway that routes to it.
  if (process.send) process.once('disconnect', stop);
  const sim = await startSimulator({
    host: flags.host,
    port: flags.port,
    profile: flags.profile,
    servedModelName: flags.model,
    timeScale: flags.timeScale,
    seed: flags.seed,
    embeddingDim: flags.embeddingDim,
    overrides,
    faults: Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined)),
    onCrash: () => process.exit(70),
  });
  running.sim = sim;
  process.stdout.write(`switchyard sim: ${sim.profile.name} serving ${sim.servedModelName} on ${sim.url}\n`);
  process.send?.({ type: 'sim-ready', url: sim.url, port: sim.port });
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the inference-engine simulator: one simulated vLLM replica (OpenAI wire format, vLLM metrics)')
    .option('--port <n>', 'port to listen on (0 = a free port)', integer(0), 8000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--profile <name>', 'GPU/model profile (see --list-profiles)', DEFAULT_PROFILE)
    .option('--model <name>', "served model name (default: the profile's, sim-llama-3.1-8b)")
    .option('--time-scale <x>', 'model time per wall time: 1 real time, 0.1 ten times faster, 0 as fast as possible', number(0), 1)
    .option('--seed <n>', 'seed mixed into every generated output and fault decision', integer(0), 0)
    .option('--embedding-dim <n>', 'dimension of /v1/embeddings vectors (default 384)', integer(1))
    .option('--max-model-len <n>', "override the profile's context length", integer(1))
    .option('--num-gpu-blocks <n>', "override the profile's KV cache size in blocks", integer(1))
    .option('--max-num-seqs <n>', "override the profile's max sequences per step", integer(1))
    .option('--max-num-batched-tokens <n>', "override the profile's token budget per step", integer(1))
    .option('--no-prefix-caching', 'disable the prefix cache')
    .option('--error-rate <x>', 'fraction of requests answered with an error (0-1)', number(0, 1))
    .option('--error-status <n>', 'HTTP status of injected errors (default 500)', integer(400))
    .option('--added-latency-ms <n>', 'extra delay before every answer, in ms', number(0))
    .option('--drop-mid-stream-rate <x>', 'fraction of streams cut after a few chunks (0-1)', number(0, 1))
    .option('--hang-rate <x>', 'fraction of requests never answered (0-1)', number(0, 1))
    .option('--reset-rate <x>', 'fraction of connections reset before any answer (0-1)', number(0, 1))
    .option('--list-profiles', 'print the available profiles and exit')
    .action(async (flags: SimFlags) => {
      try {
        await runSim(flags);
      } catch (err) {
        process.stderr.write(`switchyard sim: ${isListenError(err) ? describeListenError(err, flags.host, flags.port) : (err as Error).message}\n`);
        process.exit(1);
      }
    });
}
