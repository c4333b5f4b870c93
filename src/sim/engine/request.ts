// One request inside the engine: its tokens, progress, KV blocks and timestamps.

import { chainBlockHash, ROOT_BLOCK_HASH } from '../util/hash.ts';

export type EngineFinishReason = 'stop' | 'length' | 'abort';

export interface EngineRequestInput {
  /** For logs and debugging only. */
  id: string;
  promptTokenIds: ArrayLike<number>;
  /** Exactly the tokens the engine will sample, in order; empty for a prefill-only (embedding) request. */
  outputTokenIds: ArrayLike<number>;
  /** Reported when the last output token is sampled. */
  finishReason: 'stop' | 'length';
  /** Output token `index` (0-based) was sampled, at the end of the step that produced it. */
  onToken?: (index: number) => void;
  /** The request left the engine (finished or aborted). */
  onFinish?: (result: EngineRequestResult) => void;
}

export interface EngineRequestResult {
  id: string;
  reason: EngineFinishReason;
  promptTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache when the request was first scheduled. */
  cachedTokens: number;
  preemptions: number;
  /** Model-time stamps in ms; -1 when the event never happened. */
  arrivalMs: number;
  firstScheduledMs: number;
  firstTokenMs: number;
  finishedMs: number;
}

export type RequestState = 'waiting' | 'running' | 'finished';

export class EngineRequest {
  readonly id: string;
  /** Prompt then output tokens: everything this sequence will ever hold. */
  readonly tokens: Uint32Array;
  readonly promptLen: number;
  readonly outputLen: number;
  readonly finishReason: 'stop' | 'length';
  readonly onToken?: (index: number) => void;
  readonly onFinish?: (result: EngineRequestResult) => void;

  state: RequestState = 'waiting';
  /** Tokens whose KV has been computed (or found in the prefix cache). */
  numComputed = 0;
  numOutput = 0;
  blocks: number[] = [];
  /** Chained hashes of the sequence's full blocks, computed as far as needed. */
  private readonly hashes: number[] = [];
  /** Blocks already offered to the prefix cache. */
  numRegistered = 0;
  cachedTokens = -1;
  preemptions = 0;
  readonly arrivalMs: number;
  firstScheduledMs = -1;
  firstTokenMs = -1;
  lastTokenMs = -1;

  constructor(input: EngineRequestInput, arrivalMs: number) {
    this.id = input.id;
    this.promptLen = input.promptTokenIds.length;
    this.outputLen = input.outputTokenIds.length;
    this.tokens = new Uint32Array(this.promptLen + this.outputLen);
    for (let i = 0; i < this.promptLen; i++) this.tokens[i] = input.promptTokenIds[i];
    for (let i = 0; i < this.outputLen; i++) this.tokens[this.promptLen + i] = input.outputTokenIds[i];
    this.finishReason = input.finishReason;
    this.onToken = input.onToken;
    this.onFinish = input.onFinish;
    this.arrivalMs = arrivalMs;
  }

  /** Tokens the sequence holds now: the prompt plus what has been sampled. */
  get numTokens(): number {
    return this.promptLen + this.numOutput;
  }

  /** Hashes of the first `count` full blocks (count must not exceed the full blocks of `tokens`). */
  blockHashes(count: number, blockSize: number): readonly number[] {
    for (let i = this.hashes.length; i < count; i++) {
      const parent = i === 0 ? ROOT_BLOCK_HASH : this.hashes[i - 1];
      this.hashes.push(chainBlockHash(parent, this.tokens, i * blockSize, (i + 1) * blockSize));
    }
    return this.hashes;
  }

  result(reason: EngineFinishReason, finishedMs: number): EngineRequestResult {
    return {
      id: this.id,
      reason,
      promptTokens: this.promptLen,
      outputTokens: this.numOutput,
      cachedTokens: Math.max(0, this.cachedTokens),
      preemptions: this.preemptions,
      arrivalMs: this.arrivalMs,
      firstScheduledMs: this.firstScheduledMs,
      firstTokenMs: this.firstTokenMs,
      finishedMs,
    };
  }
}
