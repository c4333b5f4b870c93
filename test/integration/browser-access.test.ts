// What web pages can do to a gateway without a master key, against a real gateway process: a
// page on another origin cannot use the admin API (not even with a text/plain POST, which
// browsers send without asking), a DNS-rebinding page (a foreign Host) is refused everywhere, and
// origins listed in server.cors get proper CORS answers, the admin list kept apart from /v1's.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

const MODEL = 'sim-llama-3.1-8b';
const APP = 'https://app.example.com';
const ADMIN_UI = 'https://admin.example.com';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (fetch would not let a test set Host). */
function send(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('browser access without a master key', () => {
  let gateway: RunningProcess;
  let host: string;

  before(async () => {
    gateway = await startGateway({ config: { ...simModelConfig({ replicas: 1, timeScale: 0 }), server: { cors: { origins: [APP], admin_origins: [ADMIN_UI] } } } });
    host = new URL(gateway.url).host;
  });
  after(async () => {
    await gateway?.stop();
  });

  const keyCount = async () => JSON.parse((await send(gateway.url, 'GET', '/admin/v1/keys', { host })).body).data.length as number;

  it('refuses a cross-origin text/plain POST to the admin API, and creates nothing', async () => {
    const before = await keyCount();
    const forged = await send(gateway.url, 'POST', '/admin/v1/keys', { host, origin: 'https://evil.example', 'content-type': 'text/plain' }, '{"name":"pwned"}');
    assert.equal(forged.status, 403);
    const body = JSON.parse(forged.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'origin_not_allowed');
    assert.match(body.error.message, /server\.cors\.admin_origins/);
    // An origin allowed for /v1 is not thereby allowed on the admin API.
    const appOnAdmin = await send(gateway.url, 'POST', '/admin/v1/keys', { host, origin: APP, 'content-type': 'application/json' }, '{"name":"app"}');
    assert.equal(appOnAdmin.status, 403);
    assert.equal(await keyCount(), before);
  });

  it('refuses a foreign Host (DNS rebinding): no key minted, no secret returned', async () => {
    const before = await keyCount();
    const rebound = await send(gateway.url, 'POST', '/admin/v1/keys', { host: `attacker.example:${new URL(gateway.url).port}`, 'content-type': 'application/json' }, '{"name":"rebound"}');
    assert.equal(rebound.status, 403);
    assert.doesNotMatch(rebound.body, /sk-sy-/);
    assert.equal(JSON.parse(rebound.body).error.code, 'host_not_allowed');
    const chat = await send(gateway.url, 'POST', '/v1/chat/completions', { host: 'attacker.example', 'content-type': 'application/json' }, JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(chat.status, 403);
    const anthropic = await send(gateway.url, 'POST', '/v1/messages', { host: 'attacker.example', 'content-type': 'application/json' }, '{}');
    assert.equal(JSON.parse(anthropic.body).type, 'error', 'in the Anthropic shape on /v1/messages');
    assert.equal(await keyCount(), before);
  });

  it('answers loopback Host values and same-origin pages as before', async () => {
    const { port } = new URL(gateway.url);
    for (const h of [host, `localhost:${port}`, `127.0.0.1`, `[::1]:${port}`, `ui.localhost:${port}`]) {
      const r = await send(gateway.url, 'GET', '/v1/models', { host: h });
      assert.equal(r.status, 200, h);
    }
    const sameOrigin = await send(gateway.url, 'POST', '/admin/v1/teams', { host, origin: `http://${host}`, 'content-type': 'application/json' }, '{"name":"same-origin"}');
    assert.equal(sameOrigin.status, 201, sameOrigin.body);
    assert.equal(sameOrigin.headers['access-control-allow-origin'], undefined, 'no CORS headers needed');
  });

  it('gives allowed origins CORS answers: preflight, then the response with Access-Control-Allow-Origin', async () => {
    const preflight = await send(gateway.url, 'OPTIONS', '/v1/chat/completions', {
      host,
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], APP);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.equal(preflight.headers['access-control-allow-headers'], 'authorization, content-type, x-stainless-os');
    assert.equal(preflight.headers.vary, 'origin');

    const chat = await send(gateway.url, 'POST', '/v1/chat/completions', { host, origin: APP, 'content-type': 'application/json' }, JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(chat.status, 200, chat.body);
    assert.equal(chat.headers['access-control-allow-origin'], APP);
    assert.match(String(chat.headers['access-control-expose-headers']), /x-request-id/);

    const denied = await send(gateway.url, 'OPTIONS', '/v1/chat/completions', { host, origin: 'https://other.example', 'access-control-request-method': 'POST' });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['access-control-allow-origin'], undefined);

    const adminUi = await send(gateway.url, 'GET', '/admin/v1/keys', { host, origin: ADMIN_UI });
    assert.equal(adminUi.status, 200);
    assert.equal(adminUi.headers['access-control-allow-origin'], ADMIN_UI);
  });

  it('clients that are not browsers (no Origin) are unaffected', async () => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(r.status, 200);
  });
});

describe('browser access with a master key', () => {
  let gateway: RunningProcess;
  const KEY = 'sk-browser-test-master-key';

  before(async () => {
    gateway = await startGateway({ config: simModelConfig({ replicas: 1, timeScale: 0 }), env: { SWITCHYARD_MASTER_KEY: KEY }, args: ['--host', '127.0.0.1'] });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('serves any Host name (the gateway is meant to be reached by one) but still refuses foreign origins', async () => {
    const named = await send(gateway.url, 'GET', '/v1/models', { host: 'gateway.internal.example', authorization: `Bearer ${KEY}` });
    assert.equal(named.status, 200);
    const foreign = await send(gateway.url, 'GET', '/admin/v1/keys', { host: 'gateway.internal.example', origin: 'https://evil.example', authorization: `Bearer ${KEY}` });
    assert.equal(foreign.status, 403);
  });
});
