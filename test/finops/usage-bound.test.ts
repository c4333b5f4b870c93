// The usage bound a budget reserves is a true upper bound: for thousands of generated request
// shapes (every endpoint, dense unicode, tools, prompt and input arrays, n, best_of, Anthropic
// messages) it is at least what the simulator's tokenizer and chat template count for the body
// the gateway sends upstream; and the output is bounded per choice of every prompt.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalRequest, EndpointKind } from '../../src/api/canonical.ts';
import { parseAnthropicRequest } from '../../src/api/anthropic/request.ts';
import { parseOpenAIRequest } from '../../src/api/openai/request.ts';
import { estimatePromptTokens } from '../../src/api/estimate.ts';
import { buildOpenAIFormatCall } from '../../src/providers/openai-compatible/request.ts';
import { parseChatRequest } from '../../src/sim/http/chat-request.ts';
import type { SimContext } from '../../src/sim/http/context.ts';
import { parsePromptInputs } from '../../src/sim/http/prompt-input.ts';
import { COMPLETIONS_DEFAULT_MAX_TOKENS, jsonBytesBound, usageBound, type TemplateAllowances } from '../../src/finops/usage-bound.ts';
import { randomShapes, type RequestShape } from '../support/request-shapes.ts';

const MODEL = 'sim-llama-3.1-8b';
// The defaults of finops.budget_enforcement.
const ALLOWANCES: TemplateAllowances = { perRequest: 64, withTools: 600, perMessage: 8, perImage: 50_000 };
const SIM = { servedModelName: MODEL, profile: { maxModelLen: 1e9 }, seed: 0 } as unknown as SimContext;

const KINDS: Record<RequestShape['endpoint'], EndpointKind> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completion',
  '/v1/embeddings': 'embedding',
  '/v1/messages': 'chat',
};

function canonical(shape: RequestShape): CanonicalRequest {
  const kind = KINDS[shape.endpoint];
  return shape.endpoint === '/v1/messages' ? parseAnthropicRequest(kind, shape.body, 'req') : parseOpenAIRequest(kind, shape.body, 'req');
}

/** Prompt tokens the simulator counts for the body the gateway sends it. */
function simulatorPromptTokens(req: CanonicalRequest): number {
  const body = JSON.parse(buildOpenAIFormatCall(req, { baseUrl: 'http://sim/v1', upstreamModel: MODEL }, { maxTokensField: 'max_tokens', requestStreamUsage: true }).body) as Record<string, unknown>;
  if (req.kind === 'chat') return parseChatRequest(SIM, body).promptIds.length;
  const inputs = parsePromptInputs(req.kind === 'completion' ? body.prompt : body.input, req.kind === 'completion' ? 'prompt' : 'input', req.kind === 'completion');
  return inputs.reduce((sum, p) => sum + p.ids.length, 0);
}

function chat(content: string, over: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { kind: 'chat', model: MODEL, stream: false, includeUsage: false, messages: [{ role: 'user', content }], params: {}, extra: {}, meta: { requestId: 'r', edge: 'openai' }, ...over };
}

describe('usage bound', () => {
  it('is never below the prompt tokens the simulator counts, for 3,000 generated shapes', () => {
    let tightest = Infinity;
    for (const seed of [1, 2, 3]) {
      for (const [i, shape] of randomShapes(seed, 1_000, { model: MODEL, maxTokens: 64, maxTextUnits: 400 }).entries()) {
        const req = canonical(shape);
        const counted = simulatorPromptTokens(req);
        const bound = usageBound(req, ALLOWANCES, 1).promptTokens;
        assert.ok(bound >= counted, `seed ${seed} shape ${i} (${shape.label}): bound ${bound} < ${counted} counted`);
        tightest = Math.min(tightest, bound / counted);
      }
    }
    assert.ok(tightest < 3, `the bound stays within a small factor of the truth for some shapes (tightest ${tightest.toFixed(2)}x)`);
  });

  it('covers what four-characters-per-token estimates miss: dense text and a tiny chat', () => {
    const dense = chat('a,b;c:d!e?f.'.repeat(100));
    assert.ok(estimatePromptTokens(dense) < simulatorPromptTokens(dense), 'the old estimate falls short');
    assert.ok(usageBound(dense, ALLOWANCES, 1).promptTokens >= simulatorPromptTokens(dense));
    const hi = chat('hi');
    assert.equal(simulatorPromptTokens(hi), 13);
    assert.ok(usageBound(hi, ALLOWANCES, 1).promptTokens >= 13);
  });

  it('bounds output per choice of every prompt: n, best_of and prompt arrays multiply', () => {
    const completion = (prompt: string | string[], params: CanonicalRequest['params'], extra: Record<string, unknown> = {}): CanonicalRequest => ({
      kind: 'completion', model: MODEL, stream: false, includeUsage: false, prompt, params, extra, meta: { requestId: 'r', edge: 'openai' },
    });
    const prompts = Array.from({ length: 50 }, (_, i) => `prompt ${i}`);
    assert.equal(usageBound(completion(prompts, { max_tokens: 10, n: 2 }), ALLOWANCES, 10).outputTokens, 50 * 2 * 10);
    assert.equal(usageBound(completion('one', { max_tokens: 10, n: 2 }, { best_of: 5 }), ALLOWANCES, 10).outputTokens, 5 * 10, 'best_of candidates are all generated');
    assert.equal(usageBound(completion('one', {}), ALLOWANCES, COMPLETIONS_DEFAULT_MAX_TOKENS).outputTokens, 16);
    assert.equal(usageBound(chat('x', { params: { n: 3 } }), ALLOWANCES, 100).outputTokens, 300);
    const embeddings: CanonicalRequest = { kind: 'embedding', model: MODEL, stream: false, includeUsage: false, input: ['αβγ', 'δε'], params: {}, extra: {}, meta: { requestId: 'r', edge: 'openai' } };
    assert.deepEqual(usageBound(embeddings, ALLOWANCES, 100), { promptTokens: 8 + 6 + 8 + 4, outputTokens: 0 }, 'every input, by its bytes plus its begin/end tokens');
  });

  it('counts tools, response_format, images and unmodelled fields', () => {
    const base = usageBound(chat('x'), ALLOWANCES, 1).promptTokens;
    const tool = { type: 'function' as const, function: { name: 'f', description: 'ü'.repeat(10), parameters: { type: 'object' } } };
    const withTools = usageBound(chat('x', { tools: [tool] }), ALLOWANCES, 1).promptTokens;
    assert.ok(withTools - base >= ALLOWANCES.withTools + ALLOWANCES.perMessage + JSON.stringify(tool, null, 4).length + 10 * 5, 'tool instructions, and escaped and indented JSON at worst');
    assert.ok(usageBound(chat('x', { response_format: { type: 'json_object' } }), ALLOWANCES, 1).promptTokens > base);
    assert.ok(usageBound(chat('x', { extra: { documents: [{ text: 'long '.repeat(100) }] } }), ALLOWANCES, 1).promptTokens > base + 500);
    const image = chat('', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] });
    assert.equal(usageBound(image, ALLOWANCES, 1).promptTokens, 64 + 8 + 4 + 50_000);
  });

  it('walks deeply nested JSON without overflowing the stack', () => {
    let nested: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) nested = [nested];
    assert.ok(jsonBytesBound(nested) > 200_000);
  });
});
