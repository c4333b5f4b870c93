import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpenAIRequest } from '../../../src/api/openai/request.ts';
import { GatewayError } from '../../../src/api/errors.ts';

function rejects(kind: 'chat' | 'completion' | 'embedding', body: unknown): GatewayError {
  try {
    parseOpenAIRequest(kind, body, 'r');
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.status, 400);
    return err;
  }
  assert.fail('expected a 400');
}

describe('OpenAI request parsing', () => {
  it('maps a chat request to the canonical request, keeping engine extensions in extra', () => {
    const req = parseOpenAIRequest(
      'chat',
      {
        model: 'm',
        messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }],
        max_completion_tokens: 9,
        stop: 'END',
        stream: true,
        stream_options: { include_usage: true },
        top_k: 5,
        user: 'alice',
      },
      'rid',
    );
    assert.equal(req.kind, 'chat');
    assert.equal(req.stream, true);
    assert.equal(req.includeUsage, true);
    assert.deepEqual(req.params, { max_tokens: 9, stop: ['END'] });
    assert.deepEqual(req.extra, { top_k: 5 });
    assert.equal(req.meta.user, 'alice');
    assert.equal(req.meta.requestId, 'rid');
  });

  it('names the field at fault', () => {
    assert.equal(rejects('chat', { messages: [] }).param, 'model');
    assert.equal(rejects('chat', { model: 'm', messages: [] }).param, 'messages');
    assert.equal(rejects('chat', { model: 'm', messages: [{ role: 'user' }] }).param, 'messages[0].content');
    assert.equal(rejects('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 0 }).param, 'n');
    assert.equal(rejects('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'bad name!' } }] }).param, 'tools[0].function.name');
    assert.equal(rejects('completion', { model: 'm', prompt: [1, 2, 3] }).param, 'prompt');
    assert.equal(rejects('embedding', { model: 'm' }).param, 'input');
    assert.equal(rejects('embedding', { model: 'm', input: 'x', encoding_format: 'hex' }).param, 'encoding_format');
  });

  it('says what is wrong in plain words', () => {
    assert.match(rejects('chat', { model: 'm' }).message, /messages is required/);
    assert.match(rejects('chat', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }).message, /role to be one of/);
    assert.match(rejects('chat', 'hello').message, /JSON object/);
  });

  it('normalises embedding input to an array', () => {
    const req = parseOpenAIRequest('embedding', { model: 'm', input: 'one', dimensions: 8 }, 'r');
    assert.deepEqual(req.input, ['one']);
    assert.equal(req.dimensions, 8);
  });
});
