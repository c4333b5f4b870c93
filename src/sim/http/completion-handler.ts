// POST /v1/completions: one or more prompts (each may have n choices), answered in one JSON body
// or streamed as vLLM does (text_completion chunks, one per sampled token).

import type { ServerResponse } from 'node:http';
import { planText } from '../text/output-plan.ts';
import { combine32 } from '../util/hash.ts';
import { Rng } from '../util/rng.ts';
import { checkModel, outputBudget, type SimContext } from './context.ts';
import { startGeneration, usageOf, type ChoiceSpec, type ChoiceState } from './generation.ts';
import { newId, unixSeconds } from './ids.ts';
import { parseSampling, type Body } from './params.ts';
import { parsePromptInputs } from './prompt-input.ts';
import { badRequest, sendJson } from './respond.ts';
import { SseStream } from './sse.ts';

/** OpenAI's and vLLM's default for the legacy completions endpoint. */
const DEFAULT_MAX_TOKENS = 16;

/** The request's seed (distinct per prompt of a batch) or, without one, a hash of the prompt. */
function promptSeed(ctx: SimContext, requestSeed: number | undefined, promptIndex: number, text: string | null, ids: readonly number[]): number {
  if (requestSeed !== undefined) return Rng.from(ctx.seed, requestSeed, promptIndex).nextU32();
  return Rng.from(ctx.seed, text ?? combine32(...ids.slice(0, 4096)), ids.length).nextU32();
}

export function handleCompletion(ctx: SimContext, body: Body, res: ServerResponse, dropAfter: number): void {
  checkModel(ctx, body.model);
  if (body.prompt === undefined || body.prompt === null) throw badRequest('prompt is required.', 'prompt');
  const prompts = parsePromptInputs(body.prompt, 'prompt', true);
  const sampling = parseSampling(body, ['max_tokens'], DEFAULT_MAX_TOKENS);
  const specs: ChoiceSpec[] = [];
  prompts.forEach((p, pi) => {
    const cap = outputBudget(ctx, p.ids.length, sampling.maxTokens, 'prompt');
    const base = promptSeed(ctx, sampling.seed, pi, p.text, p.ids);
    for (let i = 0; i < sampling.n; i++) {
      const plan = planText({
        seed: i === 0 ? base : combine32(base, i),
        maxTokens: cap,
        minTokens: sampling.minTokens,
        ignoreEos: sampling.ignoreEos,
        stop: sampling.stop,
        includeStopStrInOutput: sampling.includeStopStrInOutput,
      });
      specs.push({ index: pi * sampling.n + i, promptIds: p.ids, plan });
    }
  });
  const id = newId('cmpl');
  const created = unixSeconds();
  const head = `{"id":"${id}","object":"text_completion","created":${created},"model":${JSON.stringify(ctx.servedModelName)}`;

  if (!sampling.stream) {
    startGeneration(ctx.engine, id, specs, res, {
      done(choices: ChoiceState[]) {
        sendJson(res, 200, {
          id,
          object: 'text_completion',
          created,
          model: ctx.servedModelName,
          choices: specs.map((s) => ({ index: s.index, text: s.plan.text, logprobs: null, finish_reason: s.plan.finishReason, stop_reason: s.plan.stopReason })),
          usage: usageOf(choices),
        });
      },
    });
    return;
  }

  const tail = sampling.includeUsage ? ',"usage":null}' : '}';
  const sse = new SseStream(res, dropAfter, () => gen.abort());
  sse.open();
  // Declared after the stream: the drop callback only runs once tokens flow.
  const gen = startGeneration(ctx.engine, id, specs, res, {
    token(choice, k) {
      const { plan } = choice;
      const piece = plan.text.slice(k > 0 ? plan.visibleEnd[k - 1] : 0, plan.visibleEnd[k]);
      const last = k === plan.tokenIds.length - 1;
      if (!last && piece === '') return;
      const c = { index: choice.index, text: piece, logprobs: null, finish_reason: last ? plan.finishReason : null, ...(last ? { stop_reason: plan.stopReason } : {}) };
      sse.send(`${head},"choices":[${JSON.stringify(c)}]${tail}`);
    },
    done(choices) {
      if (sampling.includeUsage) sse.send(`${head},"choices":[],"usage":${JSON.stringify(usageOf(choices))}}`);
      sse.end();
    },
  });
}
