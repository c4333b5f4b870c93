// POST /v1/embeddings: each input is a prefill-only request in the engine (it costs prompt
// compute like a real pooling request), answered with a deterministic unit vector.

import type { ServerResponse } from 'node:http';
import { embeddingVector, toBase64 } from '../embeddings.ts';
import type { OutputPlan } from '../text/output-plan.ts';
import { checkModel, type SimContext } from './context.ts';
import { startGeneration, type ChoiceSpec } from './generation.ts';
import { newId } from './ids.ts';
import { optInteger, type Body } from './params.ts';
import { parsePromptInputs } from './prompt-input.ts';
import { badRequest, sendJson } from './respond.ts';

/** A pooling request samples nothing. */
function noOutput(): OutputPlan {
  return { text: '', tokenIds: [], visibleEnd: [], finishReason: 'stop', stopReason: null };
}

export function handleEmbedding(ctx: SimContext, body: Body, res: ServerResponse): void {
  checkModel(ctx, body.model);
  if (body.input === undefined || body.input === null) throw badRequest('input is required.', 'input');
  const inputs = parsePromptInputs(body.input, 'input', false);
  const dimensions = optInteger(body, 'dimensions', 1, ctx.embeddingDim) ?? ctx.embeddingDim;
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') throw badRequest('encoding_format must be "float" or "base64".', 'encoding_format');
  inputs.forEach((input, i) => {
    if (input.ids.length > ctx.profile.maxModelLen) {
      throw badRequest(
        `This model's maximum context length is ${ctx.profile.maxModelLen} tokens. However, input[${i}] has ${input.ids.length} tokens. Please reduce the length of the input.`,
        'input',
        'context_length_exceeded',
      );
    }
  });
  const specs: ChoiceSpec[] = inputs.map((input, index) => ({ index, promptIds: input.ids, plan: noOutput() }));
  const id = newId('embd');
  startGeneration(ctx.engine, id, specs, res, {
    done() {
      const promptTokens = inputs.reduce((sum, input) => sum + input.ids.length, 0);
      sendJson(res, 200, {
        id,
        object: 'list',
        created: Math.floor(Date.now() / 1000),
        model: ctx.servedModelName,
        data: inputs.map((input, index) => {
          const vector = embeddingVector(ctx.seed, input.text ?? input.ids, ctx.embeddingDim, dimensions);
          return { index, object: 'embedding', embedding: format === 'base64' ? toBase64(vector) : Array.from(vector) };
        }),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    },
  });
}
