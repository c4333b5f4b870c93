// Bad input and failing upstreams: every error has the right status and the OpenAI (or, on
// /v1/messages, the Anthropic) shape, and nothing crashes the gateway.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startGateway, startSimulatorProcess, type RunningProcess } from '../support/processes.ts';
import { assertMatchesSchema } from '../support/openapi.ts';

// Error bodies are checked field by field against loosely typed JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const MODEL = 'sim-llama-3.1-8b';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function post(url: string, body: string | object, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Json };
}

function assertOpenAIError(json: Json): void {
  assertMatchesSchema('ErrorResponse', json);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.doesNotMatch(json.error.message, /\bat .*\.ts:\d+/, 'no stack traces');
}

describe('errors', () => {
  let sim: RunningProcess;
  let hangingSim: RunningProcess;
  let gateway: RunningProcess;
  let deadPort: number;

  before(async () => {
    deadPort = await freePort();
    [sim, hangingSim] = await Promise.all([
      startSimulatorProcess(['--model', MODEL, '--time-scale', '1']),
      startSimulatorProcess(['--model', MODEL, '--hang-rate', '1']),
    ]);
    gateway = await startGateway({
      config: {
        server: { max_body_bytes: 64 * 1024 },
        models: [
          { name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] },
          { name: 'unreachable', max_retries: 0, deployments: [{ provider: 'openai-compatible', url: `http://127.0.0.1:${deadPort}/v1` }] },
          {
            name: 'hanging',
            max_retries: 0,
            timeouts: { first_token_ms: 400, total_ms: 800 },
            deployments: [{ provider: 'openai-compatible', url: `${hangingSim.url}/v1`, model: MODEL }],
          },
        ],
      },
    });
  });
  after(async () => {
    await Promise.all([gateway?.stop(), sim?.stop(), hangingSim?.stop()]);
  });

  const chat = (model = MODEL) => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });

  it('malformed JSON -> 400', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, '{"model": "x", "messages": [');
    assert.equal(r.status, 400);
    assertOpenAIError(r.json);
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.equal(r.json.error.code, 'invalid_json');
  });

  it('missing or invalid fields -> 400 naming the field', async () => {
    const missing = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL });
    assert.equal(missing.status, 400);
    assertOpenAIError(missing.json);
    assert.equal(missing.json.error.param, 'messages');
    assert.match(missing.json.error.message, /messages/);

    const badType = await post(`${gateway.url}/v1/chat/completions`, { ...chat(), max_tokens: 'ten' });
    assert.equal(badType.status, 400);
    assert.equal(badType.json.error.param, 'max_tokens');

    const badNested = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'tool', content: 'x' }] });
    assert.equal(badNested.status, 400);
    assert.equal(badNested.json.error.param, 'messages[0].tool_call_id');

    const notObject = await post(`${gateway.url}/v1/embeddings`, '[1,2]');
    assert.equal(notObject.status, 400);
    assertOpenAIError(notObject.json);
  });

  it('unknown model -> 404 that names only the requested model', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, chat('gpt-17'));
    assert.equal(r.status, 404);
    assertOpenAIError(r.json);
    assert.equal(r.json.error.code, 'model_not_found');
    assert.match(r.json.error.message, /gpt-17/);
    for (const secret of ['unreachable', 'hanging', '127.0.0.1']) assert.ok(!r.text.includes(secret), `leaks ${secret}`);
  });

  it('body over the limit -> 413', async () => {
    const big = { ...chat(), messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] };
    const r = await post(`${gateway.url}/v1/chat/completions`, big);
    assert.equal(r.status, 413);
    assertOpenAIError(r.json);
  });

  it('wrong method -> 405 with Allow; unknown path -> 404', async () => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    assertOpenAIError(await r.json());
    const m = await fetch(`${gateway.url}/v1/messages`, { method: 'PUT' });
    assert.equal(m.status, 405);
    assert.equal((await m.json()).type, 'error', 'Anthropic shape on /v1/messages');
    const u = await fetch(`${gateway.url}/v1/nope`);
    assert.equal(u.status, 404);
    assertOpenAIError(await u.json());
  });

  it('upstream unreachable -> 502', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, chat('unreachable'));
    assert.equal(r.status, 502);
    assertOpenAIError(r.json);
    assert.equal(r.json.error.code, 'upstream_unreachable');
  });

  it('upstream timeout -> 504, streamed and not', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, chat('hanging'));
    assert.equal(r.status, 504);
    assertOpenAIError(r.json);
    const s = await post(`${gateway.url}/v1/chat/completions`, { ...chat('hanging'), stream: true });
    assert.equal(s.status, 504);
  });

  it('Anthropic-shaped errors on /v1/messages', async () => {
    const bad = await post(`${gateway.url}/v1/messages`, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.type, 'error');
    assert.equal(bad.json.error.type, 'invalid_request_error');
    assert.match(bad.json.error.message, /max_tokens/);
    const missing = await post(`${gateway.url}/v1/messages`, { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.type, 'not_found_error');
    const down = await post(`${gateway.url}/v1/messages`, { model: 'unreachable', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(down.status, 502);
    assert.equal(down.json.type, 'error');
  });

  it('a client disconnect mid-stream cancels the upstream request', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...chat(), max_tokens: 4000, ignore_eos: true, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    const running = async () => {
      const text = await (await fetch(`${sim.url}/metrics`)).text();
      const m = /^vllm:num_requests_running\{[^}]*\} (\S+)/m.exec(text);
      return Number(m?.[1] ?? NaN);
    };
    assert.equal(await running(), 1);
    controller.abort();
    const deadline = Date.now() + 3000;
    while ((await running()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await running(), 0, 'the simulator stopped generating for the departed client');
  });

  it('is still alive after all of that', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, chat());
    assert.equal(r.status, 200);
  });
});

describe('master key', () => {
  let gateway: RunningProcess;
  const KEY = 'sk-test-master-key-123';
  before(async () => {
    gateway = await startGateway({
      config: { models: [{ name: MODEL, deployments: [{ provider: 'simulator', replicas: 1, time_scale: 0 }] }] },
      env: { SWITCHYARD_MASTER_KEY: KEY },
    });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('requires the key on every /v1 request', async () => {
    const none = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(none.status, 401);
    assertOpenAIError(none.json);
    const wrong = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    const models = await fetch(`${gateway.url}/v1/models`);
    assert.equal(models.status, 401);
    const ok = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }, { authorization: `Bearer ${KEY}` });
    assert.equal(ok.status, 200);
  });

  it('accepts x-api-key on /v1/messages and answers 401 in Anthropic shape', async () => {
    const body = { model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] };
    const none = await post(`${gateway.url}/v1/messages`, body);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.type, 'authentication_error');
    const ok = await post(`${gateway.url}/v1/messages`, body, { 'x-api-key': KEY });
    assert.equal(ok.status, 200);
  });

  it('guards the admin API with the master key', async () => {
    const none = await fetch(`${gateway.url}/admin/v1/deployments`);
    assert.equal(none.status, 401);
    assertOpenAIError(await none.json());
    const ok = await fetch(`${gateway.url}/admin/v1/deployments`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { data: { id: string; circuit: { state: string } }[] };
    assert.equal(body.data.length, 1);
    assert.equal(body.data[0].circuit.state, 'closed');
    assert.ok(!JSON.stringify(body).includes(KEY));
    const wrongMethod = await fetch(`${gateway.url}/admin/v1/deployments`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(wrongMethod.status, 405);
    const unknown = await fetch(`${gateway.url}/admin/v1/nothing-here`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(unknown.status, 404);
  });

  it('never logs the key', () => {
    assert.ok(!gateway.output().includes(KEY));
  });
});
