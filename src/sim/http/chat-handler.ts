// POST /v1/chat/completions: plans each choice's output, runs it through the engine and answers in
// one JSON body or as a vLLM-style SSE stream (one chunk per sampled token).

import type { ServerResponse } from 'node:http';
import { planText, planToolCall, type OutputPlan } from '../text/output-plan.ts';
import { ToolSchemaTooLarge } from '../text/tool-args.ts';
import { combine32 } from '../util/hash.ts';
import { parseChatRequest, type ChatJob } from './chat-request.ts';
import type { SimContext } from './context.ts';
import { startGeneration, usageOf, type ChoiceSpec, type ChoiceState } from './generation.ts';
import { newId, unixSeconds } from './ids.ts';
import type { Body } from './params.ts';
import { badRequest, sendJson } from './respond.ts';
import { SseStream } from './sse.ts';

interface ChatChoiceSpec extends ChoiceSpec {
  toolCallId: string | null;
}

function planChoice(job: ChatJob, index: number): ChatChoiceSpec {
  const seed = index === 0 ? job.baseSeed : combine32(job.baseSeed, index);
  let plan: OutputPlan | null = null;
  if (job.toolToCall) {
    const { name, parameters } = job.toolToCall.function;
    try {
      plan = planToolCall({ seed, maxTokens: job.outputCap, name, parameters });
    } catch (err) {
      if (!(err instanceof ToolSchemaTooLarge)) throw err;
      const param = `tools[${job.toolIndex}].function.parameters`;
      throw badRequest(`${param}: the schema of function "${name}" cannot be generated: ${err.message}. Lower the bound.`, param, 'tool_schema_too_large');
    }
  }
  plan ??= planText({
    seed,
    maxTokens: job.outputCap,
    minTokens: job.sampling.minTokens,
    ignoreEos: job.sampling.ignoreEos,
    stop: job.sampling.stop,
    includeStopStrInOutput: job.sampling.includeStopStrInOutput,
  });
  return { index, promptIds: job.promptIds, plan, toolCallId: plan.toolCall ? newId('chatcmpl-tool') : null };
}

function messageOf(spec: ChatChoiceSpec): Record<string, unknown> {
  const call = spec.plan.toolCall;
  if (call && spec.toolCallId) {
    return {
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [{ id: spec.toolCallId, type: 'function', function: { name: call.name, arguments: call.arguments } }],
    };
  }
  return { role: 'assistant', content: spec.plan.text, refusal: null };
}

/** The delta released by token `k` of a choice, or null if it releases nothing visible. */
class DeltaCursor {
  private announced = false;

  constructor(private readonly spec: ChatChoiceSpec) {}

  next(k: number): Record<string, unknown> | null {
    const { plan, toolCallId } = this.spec;
    const end = plan.visibleEnd[k];
    const prevEnd = k > 0 ? plan.visibleEnd[k - 1] : 0;
    const call = plan.toolCall;
    if (!call || !toolCallId) return end > prevEnd ? { content: plan.text.slice(prevEnd, end) } : null;
    if (!this.announced) {
      if (end < call.headerEnd) return null;
      this.announced = true;
      const args = end > call.argsStart ? plan.text.slice(call.argsStart, Math.min(end, call.argsEnd)) : '';
      return { tool_calls: [{ index: 0, id: toolCallId, type: 'function', function: { name: call.name, arguments: args } }] };
    }
    const from = Math.max(prevEnd, call.argsStart);
    const to = Math.min(end, call.argsEnd);
    return to > from ? { tool_calls: [{ index: 0, function: { arguments: plan.text.slice(from, to) } }] } : null;
  }
}

export function handleChat(ctx: SimContext, body: Body, res: ServerResponse, dropAfter: number): void {
  const job = parseChatRequest(ctx, body);
  const id = newId('chatcmpl');
  const created = unixSeconds();
  const specs = Array.from({ length: job.sampling.n }, (_, i) => planChoice(job, i));
  if (job.sampling.stream) streamChat(ctx, job, specs, id, created, res, dropAfter);
  else answerChat(ctx, specs, id, created, res);
}

function answerChat(ctx: SimContext, specs: ChatChoiceSpec[], id: string, created: number, res: ServerResponse): void {
  startGeneration(ctx.engine, id, specs, res, {
    done(choices: ChoiceState[]) {
      sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: ctx.servedModelName,
        choices: specs.map((spec) => ({
          index: spec.index,
          message: messageOf(spec),
          logprobs: null,
          finish_reason: spec.plan.finishReason,
          stop_reason: spec.plan.stopReason,
        })),
        usage: usageOf(choices),
      });
    },
  });
}

function streamChat(ctx: SimContext, job: ChatJob, specs: ChatChoiceSpec[], id: string, created: number, res: ServerResponse, dropAfter: number): void {
  const includeUsage = job.sampling.includeUsage;
  const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(ctx.servedModelName)},"choices":[`;
  const tail = includeUsage ? '],"usage":null}' : ']}';
  const cursors = specs.map((s) => new DeltaCursor(s));
  const started = specs.map(() => false);
  const sse = new SseStream(res, dropAfter, () => gen.abort());
  const choiceChunk = (index: number, delta: unknown, finishReason: string | null, stopReason: string | null = null) =>
    head + JSON.stringify({ index, delta, logprobs: null, finish_reason: finishReason, ...(finishReason ? { stop_reason: stopReason } : {}) }) + tail;

  sse.open();
  // Declared after the stream: the drop callback only runs once tokens flow.
  const gen = startGeneration(ctx.engine, id, specs, res, {
    token(choice, k) {
      if (!started[choice.index]) {
        started[choice.index] = true;
        sse.send(choiceChunk(choice.index, { role: 'assistant', content: '' }, null));
      }
      const delta = cursors[choice.index].next(k);
      if (k === choice.plan.tokenIds.length - 1) sse.send(choiceChunk(choice.index, delta ?? {}, choice.plan.finishReason, choice.plan.stopReason));
      else if (delta) sse.send(choiceChunk(choice.index, delta, null));
    },
    done(choices) {
      if (includeUsage) {
        sse.send(`{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(ctx.servedModelName)},"choices":[],"usage":${JSON.stringify(usageOf(choices))}}`);
      }
      sse.end();
    },
  });
}
