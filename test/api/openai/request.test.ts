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

  it('accepts the content parts OpenAI defines and refuses others, naming the part at fault', () => {
    const user = (content: unknown) => ({ model: 'm', messages: [{ role: 'user', content }] });
    const req = parseOpenAIRequest(
      'chat',
      user([
        { type: 'text', text: 'a' },
        { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } },
        { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
        { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
        { type: 'file', file: { file_id: 'file-abc' } },
      ]),
      'r',
    );
    assert.deepEqual(
      (req.messages?.[0].content as { type: string }[]).map((p) => p.type),
      ['text', 'image_url', 'input_audio', 'file', 'file'],
    );
    const unknownType = rejects('chat', user([{ type: 'video_url', video_url: { url: 'x' } }]));
    assert.equal(unknownType.param, 'messages[0].content[0].type');
    assert.match(unknownType.message, /text, image_url, input_audio, file/);
    assert.equal(rejects('chat', user([{ type: 'image_url', image_url: 5 }])).param, 'messages[0].content[0].image_url');
    assert.equal(rejects('chat', user([{ type: 'image_url', image_url: {} }])).param, 'messages[0].content[0].image_url.url');
    assert.equal(rejects('chat', user([{ type: 'input_audio', input_audio: { data: 'x' } }])).param, 'messages[0].content[0].input_audio.format');
    assert.equal(rejects('chat', user([{ type: 'file', file: {} }])).param, 'messages[0].content[0].file');
    assert.equal(rejects('chat', user([{ text: 'no type' }])).param, 'messages[0].content[0].type');
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
