// Runs a request's choices through the engine and reports their tokens as the engine samples
// them. One HTTP request may hold several engine requests (n > 1, or several prompts); a client
// disconnect aborts all of them, freeing their KV blocks.

import type { ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.ts';
import type { EngineRequest, EngineRequestResult } from '../engine/request.ts';
import type { OutputPlan } from '../text/output-plan.ts';

export interface ChoiceSpec {
  index: number;
  promptIds: readonly number[];
  plan: OutputPlan;
}

export interface ChoiceState extends ChoiceSpec {
  /** Output tokens sampled so far. */
  generated: number;
  cachedTokens: number;
  done: boolean;
}

export interface GenerationEvents {
  /** Token `tokenIndex` of `choice` was sampled. */
  token?(choice: ChoiceState, tokenIndex: number): void;
  /** Every choice finished normally. */
  done(choices: ChoiceState[]): void;
}

export interface Generation {
  choices: ChoiceState[];
  /** Aborts every unfinished choice in the engine (idempotent). */
  abort(): void;
}

/**
 * Submits every choice to the engine and reports their tokens through `events`. Ties the
 * generation to the HTTP response both ways: a client that goes away aborts the engine requests
 * (freeing their KV blocks), and an engine-side abort (shutdown, a failing callback) closes the
 * response instead of leaving the client waiting forever.
 */
export function startGeneration(engine: Engine, id: string, specs: ChoiceSpec[], res: ServerResponse, events: GenerationEvents): Generation {
  const choices: ChoiceState[] = specs.map((s) => ({ ...s, generated: 0, cachedTokens: 0, done: false }));
  const requests: EngineRequest[] = [];
  let remaining = choices.length;
  let aborted = false;
  const abortAll = () => {
    aborted = true;
    for (const r of requests) engine.abort(r);
  };
  const onFinish = (choice: ChoiceState) => (result: EngineRequestResult) => {
    if (result.reason === 'abort') {
      if (!aborted) {
        abortAll();
        res.destroy();
      }
      return;
    }
    choice.cachedTokens = result.cachedTokens;
    choice.done = true;
    if (--remaining === 0 && !aborted) events.done(choices);
  };
  for (const choice of choices) {
    try {
      requests.push(
        engine.submit({
          id: `${id}-${choice.index}`,
          promptTokenIds: choice.promptIds,
          outputTokenIds: choice.plan.tokenIds,
          finishReason: choice.plan.finishReason === 'length' ? 'length' : 'stop',
          onToken: (i) => {
            choice.generated = i + 1;
            events.token?.(choice, i);
          },
          onFinish: onFinish(choice),
        }),
      );
    } catch (err) {
      abortAll();
      throw err;
    }
  }
  const generation: Generation = {
    choices,
    abort() {
      if (!aborted) abortAll();
    },
  };
  if (res.destroyed) generation.abort(); // gone already, e.g. during an injected delay
  else
    res.on('close', () => {
      if (!res.writableFinished) generation.abort();
    });
  return generation;
}

export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/**
 * Usage over all choices. Choices generated from the same prompt (n > 1) share its `promptIds`
 * array, and a prompt is counted once, as vLLM does.
 */
export function usageOf(choices: ChoiceState[]): UsageBody {
  let prompt = 0;
  let cached = 0;
  let completion = 0;
  const seenPrompt = new Set<readonly number[]>();
  for (const c of choices) {
    completion += c.generated;
    if (!seenPrompt.has(c.promptIds)) {
      prompt += c.promptIds.length;
      cached += c.cachedTokens;
      seenPrompt.add(c.promptIds);
    }
  }
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } };
}
