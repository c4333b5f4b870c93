import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicProvider } from '../../../src/providers/anthropic/index.ts';

function body(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

const parse = (status: number, text: string, headers: Record<string, string | string[] | undefined> = {}) => anthropicProvider.parseError(status, text, headers);

describe('Anthropic provider: error mapping', () => {
  it('passes a 400 through with the upstream message', () => {
    const err = parse(400, body('invalid_request_error', 'messages.1.content: tool_use ids must be unique'));
    assert.equal(err.kind, 'invalid_request');
    assert.equal(err.status, 400);
    assert.equal(err.message, 'messages.1.content: tool_use ids must be unique');
    assert.equal(err.retryable, false);
  });

  it('turns a rejected upstream credential into a 502 that never repeats the upstream words', () => {
    for (const status of [401, 403]) {
      const err = parse(status, body('authentication_error', 'invalid x-api-key sk-ant-abc…'));
      assert.equal(err.kind, 'upstream_error');
      assert.equal(err.status, 502);
      assert.match(err.message, /rejected the gateway's credential for this deployment/);
      assert.doesNotMatch(err.message, /sk-ant|x-api-key/);
    }
  });

  it('maps 404, 413, 429 (with Retry-After), 529, 503 and other 5xx', () => {
    const notFound = parse(404, body('not_found_error', 'model: claude-nope'));
    assert.equal(notFound.kind, 'not_found');
    assert.equal(notFound.status, 404);
    assert.match(notFound.message, /model: claude-nope/);

    assert.equal(parse(413, body('request_too_large', 'Request exceeds the maximum size')).kind, 'request_too_large');

    const limited = parse(429, body('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': '17' });
    assert.equal(limited.kind, 'rate_limit');
    assert.equal(limited.status, 429);
    assert.equal(limited.code, 'upstream_rate_limited');
    assert.deepEqual(limited.headers, { 'retry-after': '17' });
    assert.ok(limited.retryable);
    assert.deepEqual(parse(429, '', { 'retry-after': ['3', '4'] }).headers, { 'retry-after': '3' });

    for (const status of [529, 503]) {
      const busy = parse(status, body('overloaded_error', 'Overloaded'));
      assert.equal(busy.kind, 'overloaded');
      assert.ok(busy.retryable);
    }

    const broken = parse(500, body('api_error', 'Internal server error'));
    assert.equal(broken.kind, 'upstream_error');
    assert.equal(broken.status, 502);
    assert.match(broken.message, /HTTP 500: Internal server error/);
    assert.ok(broken.retryable);
  });

  it('handles bodies that are not Anthropic JSON', () => {
    const html = parse(502, '<html><body>Bad Gateway</body></html>');
    assert.equal(html.kind, 'upstream_error');
    assert.equal(html.message, 'The Anthropic upstream failed with HTTP 502');
    const empty = parse(400, '');
    assert.equal(empty.kind, 'invalid_request');
    assert.match(empty.message, /HTTP 400/);
    assert.equal(parse(422, '{"message":"bad"}').message, 'bad');
    assert.equal(parse(422, '{"message":"bad"}').status, 422);
  });
});
