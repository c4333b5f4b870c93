// Decides, before a request enters the engine, exactly which tokens it will "sample": the text,
// the token ids, how much visible text each token releases (stop strings hide text), and the
// finish reason. The engine then only decides *when* each token appears.

import { Rng } from '../util/rng.ts';
import { END_OF_TURN, renderToolCall } from './chat-template.ts';
import { Prose } from './prose.ts';
import { encodeWithOffsets, tokenId } from './tokenizer.ts';
import { argumentsFromSchema } from './tool-args.ts';

export const EOS_TOKEN_ID = tokenId(END_OF_TURN);

/** Output length bounds when the request sets no max_tokens and the model stops on its own. */
export const NATURAL_LENGTH_MIN = 16;
export const NATURAL_LENGTH_MAX = 256;

export interface PlannedToolCall {
  name: string;
  arguments: string;
  /** End of the function name in the plan's text: once sampled, the call can be announced. */
  headerEnd: number;
  /** Where the arguments JSON sits in the plan's text. */
  argsStart: number;
  argsEnd: number;
}

export interface OutputPlan {
  /** The generated text (after stop-string truncation); for a tool call, the raw tool-call text. */
  text: string;
  /** Every token the engine will sample, in order (a natural stop ends with the EOS token). */
  tokenIds: number[];
  /** `text.slice(0, visibleEnd[i])` is the visible output once token i has been sampled. */
  visibleEnd: number[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** The stop string that ended generation, if one did (vLLM's `stop_reason`). */
  stopReason: string | null;
  toolCall?: PlannedToolCall;
}

export interface TextPlanOptions {
  seed: number;
  /** Hard cap on generated tokens (max_tokens, or what is left of the context). */
  maxTokens: number;
  minTokens: number;
  ignoreEos: boolean;
  stop: readonly string[];
  includeStopStrInOutput: boolean;
}

/** The first token index at which a stop string is complete, with the cut position. */
function findStop(text: string, ends: number[], count: number, opts: TextPlanOptions): { token: number; cut: number; stop: string } | null {
  const stops = opts.stop.filter((s) => s.length > 0);
  if (stops.length === 0) return null;
  for (let i = Math.max(0, opts.minTokens - 1); i < count; i++) {
    const end = ends[i];
    const prevEnd = i > 0 ? ends[i - 1] : 0;
    let best: { token: number; cut: number; stop: string } | null = null;
    for (const s of stops) {
      // Like vLLM, only look at the text the newest token could have completed.
      const at = text.indexOf(s, Math.max(0, prevEnd - s.length + 1));
      if (at === -1 || at + s.length > end) continue;
      if (!best || at < best.cut) best = { token: i, cut: at, stop: s };
    }
    if (best) {
      if (opts.includeStopStrInOutput) best.cut += best.stop.length;
      return best;
    }
  }
  return null;
}

/** Plain-text output: prose from the built-in vocabulary, deterministic in `seed`. */
export function planText(opts: TextPlanOptions): OutputPlan {
  const rng = new Rng(opts.seed);
  const natural = rng.int(NATURAL_LENGTH_MIN, NATURAL_LENGTH_MAX); // tokens, counting the EOS
  const maxTokens = Math.max(0, opts.maxTokens);
  const contentTokens = opts.ignoreEos ? maxTokens : Math.min(Math.max(natural - 1, opts.minTokens), maxTokens);
  const prose = new Prose(rng);
  let text = '';
  const ends: number[] = new Array(contentTokens);
  const ids: number[] = new Array(contentTokens);
  for (let i = 0; i < contentTokens; i++) {
    const piece = prose.next();
    text += piece;
    ends[i] = text.length;
    ids[i] = tokenId(piece);
  }
  const stop = findStop(text, ends, contentTokens, opts);
  if (stop) {
    const kept = stop.token + 1;
    const visible = text.slice(0, stop.cut);
    return {
      text: visible,
      tokenIds: ids.slice(0, kept),
      visibleEnd: ends.slice(0, kept).map((e) => Math.min(e, visible.length)),
      finishReason: 'stop',
      stopReason: stop.stop,
    };
  }
  const stoppedNaturally = !opts.ignoreEos && contentTokens < maxTokens;
  if (stoppedNaturally) {
    ids.push(EOS_TOKEN_ID);
    ends.push(text.length);
  }
  return { text, tokenIds: ids, visibleEnd: ends, finishReason: stoppedNaturally ? 'stop' : 'length', stopReason: null };
}

export interface ToolPlanOptions {
  seed: number;
  maxTokens: number;
  name: string;
  parameters: unknown;
}

/**
 * A tool call written the way the chat template renders one, followed by EOS. Returns null when
 * it would not fit in `maxTokens` (the caller then answers with truncated text, as a real model
 * cut off mid-call would leave an unparseable call behind).
 */
export function planToolCall(opts: ToolPlanOptions): OutputPlan | null {
  const rng = new Rng(opts.seed);
  const args = JSON.stringify(argumentsFromSchema(opts.parameters, rng));
  const text = renderToolCall(opts.name, args);
  const argsStart = text.length - args.length - '}</tool_call>'.length;
  const { ids, ends } = encodeWithOffsets(text);
  ids.push(EOS_TOKEN_ID);
  ends.push(text.length);
  if (ids.length > opts.maxTokens) return null;
  return {
    text,
    tokenIds: ids,
    visibleEnd: ends,
    finishReason: 'tool_calls',
    stopReason: null,
    toolCall: { name: opts.name, arguments: args, headerEnd: `<tool_call>{"name": ${JSON.stringify(opts.name)}`.length, argsStart, argsEnd: argsStart + args.length },
  };
}
