// Tokenizer, chat template and output planning: stable, documented, deterministic.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countTokens, encode, tokenize } from '../../src/sim/text/tokenizer.ts';
import { GENERATION_PROMPT, renderChatPrompt, renderToolCall } from '../../src/sim/text/chat-template.ts';
import { EOS_TOKEN_ID, planText, planToolCall } from '../../src/sim/text/output-plan.ts';
import { argumentsFromSchema, MAX_ARRAY_ITEMS, MAX_STRING_LENGTH, ToolSchemaTooLarge } from '../../src/sim/text/tool-args.ts';
import { WORDS } from '../../src/sim/text/vocabulary.ts';
import { Rng } from '../../src/sim/util/rng.ts';

const textOpts = { minTokens: 0, ignoreEos: false, stop: [] as string[], includeStopStrInOutput: false };

describe('tokenizer', () => {
  it('splits into word, number, punctuation, whitespace and special pieces', () => {
    assert.deepEqual(tokenize('Hello, world! The quick brownish foxes jumped 12345 times.\n\n  indented <|eot_id|> done'), [
      'Hello', ',', ' world', '!', ' The', ' quick', ' brow', 'nish', ' foxes', ' jumped', ' 123', '45', ' times', '.',
      '\n\n ', ' inde', 'nted', ' ', '<|eot_id|>', ' done',
    ]);
  });

  it('gives stable counts', () => {
    assert.equal(countTokens(''), 0);
    assert.equal(countTokens('hello'), 1);
    assert.equal(countTokens('hello world'), 2);
    assert.equal(countTokens('internationalization'), 5); // 20 letters in pieces of 4
    assert.equal(countTokens('The quick brown fox jumps over the lazy dog.'), 10);
    assert.equal(countTokens('{"city": "Paris", "days": 3}'), 11);
    assert.equal(countTokens('<|begin_of_text|><|start_header_id|>user<|end_header_id|>'), 4);
    assert.equal(countTokens('naïve café 東京'), 3);
    assert.equal(countTokens('emoji 😀😀'), 2); // symbol pieces are up to 3 UTF-16 units, never splitting a pair
  });

  it('concatenating the pieces gives back the text, and ids are stable', () => {
    const text = 'Mixed text:\ttabs,  double  spaces, <|eot_id|>, 3.14159 and ünïcödé — plus emoji 🎉!';
    assert.equal(tokenize(text).join(''), text);
    assert.equal(encode(text).length, countTokens(text));
    assert.deepEqual(encode(text), encode(text));
    assert.notDeepEqual(encode('alpha beta'), encode('alpha gamma'));
  });

  it('counts about 1.3 tokens per English word', () => {
    const text = 'Continuous batching lets an inference engine add new requests to the running batch at every step, instead of waiting for the whole batch to finish; paged attention stores the key value cache in fixed size blocks.';
    const words = text.split(/\s+/).length;
    const ratio = countTokens(text) / words;
    assert.ok(ratio > 1.1 && ratio < 1.7, `ratio ${ratio}`);
  });
});

describe('chat template', () => {
  it('renders roles, tools, tool calls and tool results, ending with the generation prompt', () => {
    const prompt = renderChatPrompt(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Weather in ' }, { type: 'text', text: 'Paris?' }, { type: 'image_url' }] },
        { role: 'assistant', content: null, tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', content: '18C' },
      ],
      [{ function: { name: 'get_weather', parameters: { type: 'object' } } }],
    );
    assert.equal(
      prompt,
      '<|begin_of_text|><|start_header_id|>tools<|end_header_id|>\n\n{"name":"get_weather","parameters":{"type":"object"}}<|eot_id|>' +
        '<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|image|><|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n<tool_call>{"name": "get_weather", "arguments": {"city":"Paris"}}</tool_call><|eot_id|>' +
        '<|start_header_id|>tool<|end_header_id|>\n\n18C<|eot_id|>' +
        GENERATION_PROMPT,
    );
  });

  it('makes earlier turns a token prefix of later requests', () => {
    const turn1 = [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'Tell me about caches.' }];
    const turn2 = [...turn1, { role: 'assistant', content: 'Caches keep data close.' }, { role: 'user', content: 'More?' }];
    const a = encode(renderChatPrompt(turn1));
    const b = encode(renderChatPrompt(turn2));
    const shared = a.length - encode(GENERATION_PROMPT).length;
    assert.deepEqual(b.slice(0, shared), a.slice(0, shared));
  });
});

describe('output planning', () => {
  it('is deterministic in the seed and honours max_tokens', () => {
    const a = planText({ ...textOpts, seed: 7, maxTokens: 1000 });
    const b = planText({ ...textOpts, seed: 7, maxTokens: 1000 });
    const c = planText({ ...textOpts, seed: 8, maxTokens: 1000 });
    assert.deepEqual(a, b);
    assert.notEqual(a.text, c.text);
    const capped = planText({ ...textOpts, seed: 7, maxTokens: 5 });
    assert.equal(capped.tokenIds.length, 5);
    assert.equal(capped.finishReason, 'length');
    assert.ok(a.text.startsWith(capped.text), 'a shorter cap gives a prefix of the same text');
  });

  it('stops on its own between 16 and 256 tokens, ending with EOS', () => {
    for (let seed = 0; seed < 50; seed++) {
      const p = planText({ ...textOpts, seed, maxTokens: 10_000 });
      assert.equal(p.finishReason, 'stop');
      assert.ok(p.tokenIds.length >= 16 && p.tokenIds.length <= 256, `${p.tokenIds.length}`);
      assert.equal(p.tokenIds.at(-1), EOS_TOKEN_ID);
      // Every visible token is one tokenizer token: counts agree.
      assert.equal(countTokens(p.text), p.tokenIds.length - 1);
    }
  });

  it('ignore_eos generates exactly max_tokens; min_tokens delays the stop', () => {
    const exact = planText({ ...textOpts, seed: 3, maxTokens: 700, ignoreEos: true });
    assert.equal(exact.tokenIds.length, 700);
    assert.equal(exact.finishReason, 'length');
    const natural = planText({ ...textOpts, seed: 3, maxTokens: 2000 }).tokenIds.length;
    const min = planText({ ...textOpts, seed: 3, maxTokens: 2000, minTokens: natural + 50 });
    assert.equal(min.tokenIds.length, natural + 51);
    assert.equal(min.finishReason, 'stop');
  });

  it('ends at a stop string and hides it', () => {
    const full = planText({ ...textOpts, seed: 11, maxTokens: 200, ignoreEos: true });
    const word = full.text.split(' ')[5];
    const stopped = planText({ ...textOpts, seed: 11, maxTokens: 200, ignoreEos: true, stop: [` ${word}`] });
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.stopReason, ` ${word}`);
    assert.equal(stopped.text, full.text.slice(0, full.text.indexOf(` ${word}`)));
    assert.ok(stopped.tokenIds.length < full.tokenIds.length);
    const kept = planText({ ...textOpts, seed: 11, maxTokens: 200, ignoreEos: true, stop: [` ${word}`], includeStopStrInOutput: true });
    assert.ok(kept.text.endsWith(` ${word}`));
  });

  it('writes tool calls the way the template renders them', () => {
    const params = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        detailed: { type: 'boolean' },
        when: { type: 'string', format: 'date' },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
        where: { $ref: '#/$defs/place' },
      },
      required: ['city', 'unit', 'days', 'detailed', 'when', 'tags', 'where'],
      $defs: { place: { type: 'object', properties: { lat: { type: 'number', minimum: -90, maximum: 90 } }, required: ['lat'] } },
    };
    const plan = planToolCall({ seed: 5, maxTokens: 1000, name: 'get_weather', parameters: params })!;
    assert.equal(plan.finishReason, 'tool_calls');
    const call = plan.toolCall!;
    assert.equal(plan.text, renderToolCall('get_weather', call.arguments));
    assert.equal(plan.text.slice(call.argsStart, call.argsEnd), call.arguments);
    const args = JSON.parse(call.arguments);
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
    assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7);
    assert.equal(typeof args.detailed, 'boolean');
    assert.match(args.when, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(Array.isArray(args.tags) && args.tags.length >= 1 && args.tags.length <= 2);
    assert.ok(args.where.lat >= -90 && args.where.lat <= 90);
    assert.equal(planToolCall({ seed: 5, maxTokens: 5, name: 'get_weather', parameters: params }), null, 'does not fit');
  });

  it('tool arguments are deterministic and include at least the required properties', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] };
    assert.deepEqual(argumentsFromSchema(schema, new Rng(1)), argumentsFromSchema(schema, new Rng(1)));
    for (let s = 0; s < 20; s++) assert.ok('a' in argumentsFromSchema(schema, new Rng(s)));
    assert.deepEqual(argumentsFromSchema(undefined, new Rng(1)), {});
  });

  it('refuses schemas that ask for more than its bounds, quickly and without building them', () => {
    const started = performance.now();
    const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties) });
    const refusals: Array<[unknown, RegExp]> = [
      [obj({ xs: { type: 'array', minItems: 1_000_000_000 } }), /minItems 1000000000 is above the largest supported, 1024/],
      [obj({ xs: { type: 'array', minItems: 3_000_000, items: { type: 'integer' } } }), /minItems 3000000/],
      [obj({ s: { type: 'string', minLength: 1_000_000_000 } }), /minLength 1000000000 is above the largest supported, 16384/],
      // Each bound alone is within limits; together they multiply past the budget.
      [obj({ xs: { type: 'array', minItems: 1000, items: { type: 'array', minItems: 1000, items: { type: 'array', minItems: 1000, items: { type: 'integer' } } } } }), /more than 10000 values/],
      [obj({ xs: { type: 'array', minItems: 1000, items: { type: 'string', minLength: 16_000 } } }), /more than 1000000 characters/],
    ];
    for (const [schema, message] of refusals) {
      assert.throws(() => argumentsFromSchema(schema, new Rng(1)), (err: unknown) => err instanceof ToolSchemaTooLarge && message.test(err.message));
    }
    assert.ok(performance.now() - started < 2_000, `took ${Math.round(performance.now() - started)} ms`);
    // At the bounds it still generates.
    const atBounds = argumentsFromSchema(obj({ xs: { type: 'array', minItems: MAX_ARRAY_ITEMS, items: { type: 'boolean' } }, s: { type: 'string', minLength: MAX_STRING_LENGTH } }), new Rng(1));
    assert.equal((atBounds.xs as unknown[]).length, MAX_ARRAY_ITEMS);
    assert.equal((atBounds.s as string).length, MAX_STRING_LENGTH);
    // A recursive schema ends in null at the depth limit instead of being refused.
    const tree = { type: 'object', properties: { child: { $ref: '#/$defs/node' } }, required: ['child'], $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } }, required: ['child'] } } };
    assert.match(JSON.stringify(argumentsFromSchema(tree, new Rng(1))), /null/);
  });

  it('the vocabulary only has single-token words', () => {
    for (const w of WORDS) assert.equal(countTokens(` ${w}`), 1, w);
  });
});
