// Tests of the OpenAI OpenAPI validation helper: realistic bodies pass, broken ones fail naming the path.

import { describe, it } from 'node:test';
import assert, { AssertionError } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ROOT_SCHEMAS, schemaClosure } from '../fixtures/openai-openapi/extract.ts';
import { assertMatchesSchema, embeddingFromWire, normalizeOpenApiSchema, openApiSchemasPath } from './openapi.ts';

type Json = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);

/** Asserts rejection, and that the message names every given fragment (e.g. an instance path). */
function assertRejected(schema: string, value: unknown, ...fragments: (string | RegExp)[]): void {
  assert.throws(
    () => assertMatchesSchema(schema, value),
    (err: unknown) => {
      assert.ok(err instanceof AssertionError, `expected an AssertionError, got ${String(err)}`);
      for (const f of fragments) {
        if (typeof f === 'string') assert.ok(err.message.includes(f), `message should mention ${JSON.stringify(f)}:\n${err.message}`);
        else assert.match(err.message, f);
      }
      return true;
    },
  );
}

const CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z, in seconds

const chatCompletion = (): Json => ({
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
  object: 'chat.completion',
  created: CREATED,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 19,
    completion_tokens: 10,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  },
  service_tier: 'default',
  system_fingerprint: 'fp_44709d6fcb',
});

const toolCallCompletion = (): Json => ({
  id: 'chatcmpl-tool',
  object: 'chat.completion',
  created: CREATED,
  model: 'sim-llama-3.1-8b',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } }],
      },
      logprobs: {
        content: [{ token: 'Hi', logprob: -0.01, bytes: [72, 105], top_logprobs: [{ token: 'Hi', logprob: -0.01, bytes: null }] }],
        refusal: null,
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 80, completion_tokens: 17, total_tokens: 97 },
});

const roleChunk = (): Json => ({
  id: 'chatcmpl-123',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: 'gpt-4o-mini',
  system_fingerprint: 'fp_44709d6fcb',
  service_tier: 'default',
  choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }],
  usage: null,
});

const finalChunk = (): Json => ({
  id: 'chatcmpl-123',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
  usage: null,
});

const usageChunk = (): Json => ({
  id: 'chatcmpl-123',
  object: 'chat.completion.chunk',
  created: CREATED,
  model: 'gpt-4o-mini',
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
});

const completion = (): Json => ({
  id: 'cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7',
  object: 'text_completion',
  created: CREATED,
  model: 'gpt-3.5-turbo-instruct',
  system_fingerprint: 'fp_44709d6fcb',
  choices: [{ text: '\n\nThis is indeed a test', index: 0, logprobs: null, finish_reason: 'length' }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
});

const embeddings = (): Json => ({
  object: 'list',
  data: [
    { object: 'embedding', index: 0, embedding: [0.0023064255, -0.009327292, 0.015797347] },
    { object: 'embedding', index: 1, embedding: [-0.0028842222, 0.0115, 0.25] },
  ],
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 8, total_tokens: 8 },
});

const model = (): Json => ({ id: 'sim-llama-3.1-8b', object: 'model', created: CREATED, owned_by: 'switchyard' });

const errorResponse = (): Json => ({
  error: { message: 'The model `no-such-model` does not exist.', type: 'invalid_request_error', param: null, code: 'model_not_found' },
});

describe('assertMatchesSchema: valid bodies', () => {
  const valid: [string, string, () => unknown][] = [
    ['CreateChatCompletionResponse', 'text answer with usage details', chatCompletion],
    ['CreateChatCompletionResponse', 'tool call with logprobs', toolCallCompletion],
    ['CreateChatCompletionStreamResponse', 'first chunk (role)', roleChunk],
    ['CreateChatCompletionStreamResponse', 'finish chunk', finalChunk],
    ['CreateChatCompletionStreamResponse', 'usage chunk with no choices', usageChunk],
    ['CreateCompletionResponse', 'legacy completion', completion],
    ['CreateEmbeddingResponse', 'float embeddings', embeddings],
    ['ListModelsResponse', 'two models', () => ({ object: 'list', data: [model(), { ...model(), id: 'gpt-4o', owned_by: 'openai' }] })],
    ['ListModelsResponse', 'empty list', () => ({ object: 'list', data: [] })],
    ['Model', 'model', model],
    ['ErrorResponse', 'error with code', errorResponse],
    ['ErrorResponse', 'error with param', () => ({ error: { message: 'boom', type: 'server_error', param: 'messages', code: null } })],
  ];
  for (const [name, label, make] of valid) {
    it(`accepts ${name}: ${label}`, () => {
      const value = make();
      const before = clone(value);
      assertMatchesSchema(name, value);
      assert.deepEqual(value, before, 'validation must not mutate (no defaults, no coercion)');
    });
  }

  it('does not require usage, service_tier or system_fingerprint on a chat completion', () => {
    const c = chatCompletion();
    delete c.usage;
    delete c.service_tier;
    delete c.system_fingerprint;
    assertMatchesSchema('CreateChatCompletionResponse', c);
    assertMatchesSchema('CreateChatCompletionResponse', { ...chatCompletion(), service_tier: null });
  });

  it('reads nullable: true as "or null": stream chunk with usage: null, finish_reason: null, logprobs: null', () => {
    const chunk = roleChunk();
    assert.equal(chunk.usage, null);
    assertMatchesSchema('CreateChatCompletionStreamResponse', chunk);
    // ...and without those optional keys at all; but finish_reason is required (nullable, not optional).
    const bare = roleChunk();
    delete bare.usage;
    delete (bare.choices as Json[])[0].logprobs;
    assertMatchesSchema('CreateChatCompletionStreamResponse', bare);
  });
});

describe('assertMatchesSchema: broken bodies are rejected, naming the path', () => {
  it('rejects a chat completion without choices', () => {
    const c = chatCompletion();
    delete c.choices;
    assertRejected('CreateChatCompletionResponse', c, '(root)', "must have required property 'choices'");
  });

  it('rejects a wrong object constant', () => {
    assertRejected('CreateChatCompletionResponse', { ...chatCompletion(), object: 'chat.completion.chunk' }, '/object', 'chat.completion');
    assertRejected('CreateChatCompletionStreamResponse', { ...finalChunk(), object: 'chat.completion' }, '/object');
    assertRejected('CreateCompletionResponse', { ...completion(), object: 'chat.completion' }, '/object');
    assertRejected('CreateEmbeddingResponse', { ...embeddings(), object: 'embedding' }, '/object');
    assertRejected('Model', { ...model(), object: 'models' }, '/object');
  });

  it('rejects a finish_reason outside the enum', () => {
    const c = chatCompletion();
    (c.choices as Json[])[0].finish_reason = 'eos';
    assertRejected('CreateChatCompletionResponse', c, '/choices/0/finish_reason', 'allowed values', '"eos"');
    // Non-streaming responses always have a finish_reason: null is not allowed there.
    (c.choices as Json[])[0].finish_reason = null;
    assertRejected('CreateChatCompletionResponse', c, '/choices/0/finish_reason');
    // Legacy completions have no tool_calls finish reason.
    const t = completion();
    (t.choices as Json[])[0].finish_reason = 'tool_calls';
    assertRejected('CreateCompletionResponse', t, '/choices/0/finish_reason');
  });

  it('rejects a stream chunk whose nullable enum holds something else', () => {
    const chunk = finalChunk();
    (chunk.choices as Json[])[0].finish_reason = 'done';
    assertRejected('CreateChatCompletionStreamResponse', chunk, '/choices/0/finish_reason', '"done"');
    const missing = finalChunk();
    delete (missing.choices as Json[])[0].finish_reason;
    assertRejected('CreateChatCompletionStreamResponse', missing, '/choices/0', "must have required property 'finish_reason'");
  });

  it('rejects a stream chunk whose nullable $ref (usage) is neither null nor a CompletionUsage', () => {
    assertRejected('CreateChatCompletionStreamResponse', { ...usageChunk(), usage: { prompt_tokens: 9 } }, '/usage', "'completion_tokens'", "'total_tokens'");
    assertRejected('CreateChatCompletionStreamResponse', { ...usageChunk(), usage: 'n/a' }, '/usage');
  });

  it('requires the nullable message.refusal and choices[].logprobs on chat completions', () => {
    const c = chatCompletion();
    delete ((c.choices as Json[])[0].message as Json).refusal;
    assertRejected('CreateChatCompletionResponse', c, '/choices/0/message', "must have required property 'refusal'");
    const l = chatCompletion();
    delete (l.choices as Json[])[0].logprobs;
    assertRejected('CreateChatCompletionResponse', l, '/choices/0', "must have required property 'logprobs'");
    const content = chatCompletion();
    delete ((content.choices as Json[])[0].message as Json).content;
    assertRejected('CreateChatCompletionResponse', content, '/choices/0/message', "must have required property 'content'");
  });

  it('requires the nullable error.param and error.code', () => {
    const e = errorResponse();
    delete (e.error as Json).param;
    delete (e.error as Json).code;
    assertRejected('ErrorResponse', e, '/error', "'param'", "'code'");
    assertRejected('ErrorResponse', { error: { message: 'x', type: 'y', param: null, code: 500 } }, '/error/code');
    assertRejected('ErrorResponse', { message: 'bare error, not wrapped' }, "must have required property 'error'");
  });

  it('rejects tool calls that are not well formed', () => {
    const c = toolCallCompletion();
    const call = (((c.choices as Json[])[0].message as Json).tool_calls as Json[])[0];
    delete (call.function as Json).arguments;
    assertRejected('CreateChatCompletionResponse', c, '/choices/0/message/tool_calls/0');
  });

  it('rejects non-integer and millisecond timestamps in unixtime fields', () => {
    assertRejected('CreateChatCompletionResponse', { ...chatCompletion(), created: '1767225600' }, '/created', 'must be integer');
    assertRejected('CreateChatCompletionResponse', { ...chatCompletion(), created: 1767225600.5 }, '/created');
    assertRejected('Model', { ...model(), created: CREATED * 1000 }, '/created', 'unixtime');
  });

  it('rejects embeddings that are base64 strings (the schema only has number arrays) or lack usage', () => {
    const b = embeddings();
    (b.data as Json[])[0].embedding = 'AAAAAA==';
    assertRejected('CreateEmbeddingResponse', b, '/data/0/embedding', 'must be array');
    const u = embeddings();
    delete u.usage;
    assertRejected('CreateEmbeddingResponse', u, "must have required property 'usage'");
  });

  it('rejects a model list entry without owned_by, naming the nested path', () => {
    const m = model();
    delete m.owned_by;
    assertRejected('ListModelsResponse', { object: 'list', data: [model(), m] }, '/data/1', "must have required property 'owned_by'");
  });

  it('lists every error, not just the first', () => {
    const c = chatCompletion();
    delete c.id;
    (c.choices as Json[])[0].finish_reason = 'eos';
    c.created = 'yesterday';
    assertRejected('CreateChatCompletionResponse', c, "'id'", '/choices/0/finish_reason', '/created');
  });

  it('fails clearly for a schema name the fixture does not have, saying how to add it', () => {
    assert.throws(() => assertMatchesSchema('CreateChatCompletionResponses', {}), /"CreateChatCompletionResponses" is not among the extracted OpenAI schemas.*add it to ROOT_SCHEMAS/);
  });
});

describe('normalizeOpenApiSchema (OpenAPI 3.0 leftovers)', () => {
  const compile = (schema: unknown) => new Ajv2020({ strict: false }).compile(normalizeOpenApiSchema(schema, '#/$defs/') as object);

  it('makes type, enum and $ref schemas nullable', () => {
    const v = compile({
      $defs: { Usage: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } },
      type: 'object',
      properties: {
        s: { type: 'string', nullable: true },
        e: { type: 'string', enum: ['a', 'b'], nullable: true },
        r: { $ref: '#/components/schemas/Usage', nullable: true },
        plain: { type: 'string' },
      },
    });
    assert.ok(v({ s: null, e: null, r: null }));
    assert.ok(v({ s: 'x', e: 'a', r: { n: 1 } }));
    assert.ok(!v({ e: 'c' }));
    assert.ok(!v({ r: {} }));
    assert.ok(!v({ plain: null }), 'schemas without nullable stay non-nullable');
  });

  it('reads allOf: [$ref, {nullable: true}] as a nullable ref, and drops nullable: false', () => {
    const v = compile({
      $defs: { Obj: { type: 'object', required: ['id'] } },
      type: 'object',
      properties: { o: { allOf: [{ $ref: '#/components/schemas/Obj' }, { nullable: true }] }, f: { type: 'string', nullable: false } },
    });
    assert.ok(v({ o: null }));
    assert.ok(v({ o: { id: 1 } }));
    assert.ok(!v({ o: {} }));
    assert.ok(!v({ f: null }));
  });

  it('converts boolean exclusiveMinimum to the 2020-12 form', () => {
    const v = compile({ type: 'number', minimum: 0, maximum: 2, exclusiveMinimum: true });
    assert.ok(!v(0));
    assert.ok(v(0.1));
    assert.ok(v(2));
  });

  it('leaves examples, defaults and enum values alone', () => {
    const schema = { type: 'object', example: { nullable: true }, default: { nullable: true }, properties: { nullable: { type: 'boolean', enum: [true] } } };
    assert.deepEqual(normalizeOpenApiSchema(schema), schema);
  });
});

describe('embeddingFromWire', () => {
  it('decodes base64 little-endian float32 and passes number arrays through', () => {
    const floats = new Float32Array([0.5, -1.25, 3.4028234663852886e38, 0.1]);
    const b64 = Buffer.from(floats.buffer).toString('base64');
    assert.deepEqual(embeddingFromWire(b64), Array.from(floats));
    // Explicit little-endian bytes, independent of host endianness: 1.0f = 00 00 80 3f.
    assert.deepEqual(embeddingFromWire(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64')), [1, -2]);
    assert.deepEqual(embeddingFromWire([0.25, -0.5]), [0.25, -0.5]);
    assert.deepEqual(embeddingFromWire(''), []);
  });

  it('rejects malformed input', () => {
    assert.throws(() => embeddingFromWire('AAAA!AAA'), /base64/);
    assert.throws(() => embeddingFromWire(Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64')), /float32/);
    assert.throws(() => embeddingFromWire([1, Number.NaN]), /embedding\[1\]/);
    assert.throws(() => embeddingFromWire({} as unknown as string), /number array or a base64 string/);
  });
});

describe('schema fixture', () => {
  it('lives inside the repository, names its source, and holds every root schema with all it references', () => {
    const path = openApiSchemasPath();
    const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
    assert.ok(path.startsWith(repoRoot), `${path} is inside ${repoRoot}`);
    const fixture = JSON.parse(readFileSync(path, 'utf8')) as { source: { sha256: string; license: { identifier: string } }; roots: string[]; schemas: Record<string, unknown> };
    assert.match(fixture.source.sha256, /^[0-9a-f]{64}$/);
    assert.equal(fixture.source.license.identifier, 'MIT');
    assert.deepEqual(fixture.roots, ROOT_SCHEMAS);
    assert.deepEqual(Object.keys(schemaClosure(fixture.schemas, ROOT_SCHEMAS)), Object.keys(fixture.schemas), 'closed under $ref, nothing extra');
  });

  it('the extraction follows references transitively and refuses a missing one', () => {
    const all = { A: { $ref: '#/components/schemas/B' }, B: { properties: { c: { items: { $ref: '#/components/schemas/C' } } } }, C: {}, D: {} };
    assert.deepEqual(Object.keys(schemaClosure(all, ['A'])), ['A', 'B', 'C']);
    assert.throws(() => schemaClosure(all, ['E']), /schema E is not in components.schemas/);
  });
});
