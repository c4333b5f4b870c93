// The HTTP ingress against a real gateway process: bad input of every kind gets a precise 4xx in
// the endpoint's error shape (never a 500, never an empty body), 100-continue and oversized bodies
// are refused the way clients can read, and uploads with any filename can be downloaded again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

// Error bodies are checked field by field against loosely typed JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const MODEL = 'sim-llama-3.1-8b';
const MAX_BODY = 64 * 1024;

interface RawResponse {
  status: number;
  /** Status lines of 1xx interim responses received before the final one. */
  interim: number[];
  headers: Record<string, string>;
  body: string;
}

/** Parses the first final response out of raw bytes (Content-Length bodies only, which is all the gateway sends here). */
function parseResponse(raw: string): RawResponse | undefined {
  const interim: number[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    if (status >= 100 && status < 200) {
      interim.push(status);
      rest = rest.slice(end + 4);
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(end + 4);
    if (Buffer.byteLength(body) < length) return undefined;
    return { status, interim, headers, body: body.slice(0, length) };
  }
}

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes raw bytes and reads until one final response has arrived (or the connection closed). */
async function raw(url: string, request: string | Buffer): Promise<RawResponse> {
  const socket = await open(url);
  let received = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response; got ${JSON.stringify(received.slice(0, 300))}`));
    }, 10_000);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      const res = parseResponse(received);
      if (res) {
        clearTimeout(timer);
        socket.destroy();
        resolve(res);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const res = parseResponse(received);
      if (res) resolve(res);
      else reject(new Error(`connection closed without a complete response; got ${JSON.stringify(received.slice(0, 300))}`));
    });
    socket.on('error', () => {});
    socket.write(request);
  });
}

function assertOpenAIError(body: string, status: number, res: { status: number }): Json {
  assert.equal(res.status, status);
  const json = JSON.parse(body) as Json;
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.ok(json.error.message.length > 10, 'a message that says what to fix');
  return json;
}

function assertAnthropicError(body: string, status: number, res: { status: number }): Json {
  assert.equal(res.status, status);
  const json = JSON.parse(body) as Json;
  assert.equal(json.type, 'error');
  assert.deepEqual(Object.keys(json.error).sort(), ['message', 'type']);
  return json;
}

async function post(url: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('ingress: bad input', () => {
  let gateway: RunningProcess;

  before(async () => {
    // Self-hosted replicas only, so the scheduler policy (prefix hashing) routes every request.
    gateway = await startGateway({ config: { ...simModelConfig({ timeScale: 0 }), server: { max_body_bytes: MAX_BODY } } });
  });
  after(async () => {
    await gateway?.stop();
  });

  it('routes audio and file content parts (the scheduler used to throw on them) and refuses unknown ones by name', async () => {
    const ok = await post(`${gateway.url}/v1/chat/completions`, {
      model: MODEL,
      max_tokens: 3,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZF'.repeat(40), format: 'wav' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQK', filename: 'a.pdf' } },
            { type: 'file', file: { file_id: 'file-abc123' } },
          ],
        },
      ],
    });
    assert.equal(ok.status, 200, ok.text);
    const unknown = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: [{ type: 'hologram', hologram: {} }] }] });
    const json = assertOpenAIError(unknown.text, 400, unknown);
    assert.equal(json.error.param, 'messages[0].content[0].type');
  });

  it('JSON nested 5,000 deep is a 400 on every endpoint, in its shape', async () => {
    const deep = `{"model":"${MODEL}","max_tokens":3,"messages":[{"role":"user","content":"hi"}],"x":${nested(5000)}}`;
    for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/batches', '/admin/v1/keys', '/admin/v1/teams', '/admin/v1/budgets']) {
      const r = await post(`${gateway.url}${path}`, deep);
      const json = assertOpenAIError(r.text, 400, r);
      assert.equal(json.error.code, 'json_too_deep', path);
    }
    const anthropic = await post(`${gateway.url}/v1/messages`, deep);
    assert.match(assertAnthropicError(anthropic.text, 400, anthropic).error.message, /64 levels/);
    // Deep enough to be useful is fine: a tool schema nested 20 levels.
    let schema: Json = { type: 'string' };
    for (let i = 0; i < 20; i++) schema = { type: 'object', properties: { inner: schema } };
    const tools = [{ type: 'function', function: { name: 'deep', parameters: schema } }];
    const fine = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }], tools });
    assert.equal(fine.status, 200, fine.text);
  });

  it('protocol-level failures answer the JSON error shape, not an empty body', async () => {
    const badLine = await raw(gateway.url, 'GET /v1/models HTTP/9.9\r\n\r\n');
    assert.equal(badLine.headers['content-type'], 'application/json');
    assert.equal(assertOpenAIError(badLine.body, 400, badLine).error.code, 'malformed_request');
    const badHeader = await raw(gateway.url, 'GET /v1/models HTTP/1.1\r\nbad header\r\n\r\n');
    assert.equal(assertOpenAIError(badHeader.body, 400, badHeader).error.code, 'malformed_request');

    const method = await raw(gateway.url, 'FOO /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(assertOpenAIError(method.body, 400, method).error.code, 'invalid_method');

    const bigHeaders = `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const tooLarge = await raw(gateway.url, bigHeaders);
    assert.equal(assertOpenAIError(tooLarge.body, 431, tooLarge).error.code, 'headers_too_large');

    const onMessages = await raw(gateway.url, `POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assertAnthropicError(onMessages.body, 431, onMessages);

    const badChunk = await raw(gateway.url, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`);
    assertOpenAIError(badChunk.body, 400, badChunk);
  });

  it('Expect: 100-continue over the limit gets its 413 at once, never a 100; under it, a 100 and then the answer', async () => {
    const head = (length: number, path = '/v1/chat/completions') =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
    const refused = await raw(gateway.url, head(MAX_BODY + 1));
    assert.deepEqual(refused.interim, []);
    assert.equal(assertOpenAIError(refused.body, 413, refused).error.code, 'request_too_large');
    assert.equal(refused.headers.connection, 'close');

    const upload = await raw(gateway.url, head(1024 * 1024 * 1024, '/v1/files').replace('application/json', 'multipart/form-data; boundary=x'));
    assert.deepEqual(upload.interim, []);
    assert.match(assertOpenAIError(upload.body, 413, upload).error.message, /batch\.max_file_bytes/);

    // Under the limit the client waits for the 100 before it sends its body.
    const body = JSON.stringify({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    const socket = await open(gateway.url);
    let received = '';
    let sent = false;
    const answered = new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer; got ${JSON.stringify(received)}`)), 10_000);
      socket.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        if (received.startsWith('HTTP/1.1 100') && !sent) {
          sent = true;
          socket.write(body);
        }
        const res = parseResponse(received);
        if (res) {
          clearTimeout(timer);
          resolve(res);
        }
      });
    });
    socket.write(head(Buffer.byteLength(body)));
    const res = await answered;
    socket.destroy();
    assert.deepEqual(res.interim, [100]);
    assert.equal(res.status, 200, res.body);
  });

  it('a client that writes its whole oversized body before reading gets the 413, not a broken pipe', async () => {
    for (const framing of ['content-length', 'chunked'] as const) {
      const size = 20 * 1024 * 1024;
      const socket = await open(gateway.url);
      socket.pause(); // read nothing until the whole body is written, as such clients do
      let writeError: Error | undefined;
      socket.on('error', (err) => (writeError = err));
      const head =
        framing === 'content-length'
          ? `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`
          : `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      socket.write(head);
      const piece = Buffer.alloc(64 * 1024, 0x20);
      const frame = framing === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
      let written = 0;
      while (written < size && !writeError && !socket.destroyed) {
        written += piece.length;
        if (!socket.write(frame)) await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve));
      }
      if (framing === 'chunked' && !socket.destroyed) socket.write('0\r\n\r\n');
      assert.equal(writeError, undefined, `${framing}: the write failed after ${written} bytes`);
      assert.equal(written, size, framing);
      let received = '';
      const res = await new Promise<RawResponse | undefined>((resolve) => {
        socket.on('data', (d: Buffer) => {
          received += d.toString('latin1');
          const parsed = parseResponse(received);
          if (parsed) resolve(parsed);
        });
        socket.on('close', () => resolve(parseResponse(received)));
        socket.resume();
      });
      socket.destroy();
      assert.ok(res, `${framing}: a response arrived`);
      assert.equal(assertOpenAIError(res.body, 413, res).error.code, 'request_too_large');
    }
    const after = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(after.status, 200);
  });

  it('an upload whose filename is not Latin-1 can be downloaded, its name intact', async () => {
    const filename = 'données-日本語-🎉.jsonl';
    const line = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } });
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${line}\n`]), filename);
    const uploaded = await fetch(`${gateway.url}/v1/files`, { method: 'POST', body: form });
    assert.equal(uploaded.status, 200);
    const file = (await uploaded.json()) as Json;
    assert.equal(file.filename, filename);
    const download = await fetch(`${gateway.url}/v1/files/${file.id}/content`);
    assert.equal(download.status, 200);
    assert.equal(await download.text(), `${line}\n`);
    const disposition = download.headers.get('content-disposition') ?? '';
    const encoded = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
    assert.ok(encoded, disposition);
    assert.equal(decodeURIComponent(encoded), filename);
  });

  it('is still alive and answering after all of that', async () => {
    const r = await post(`${gateway.url}/v1/chat/completions`, { model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    assert.doesNotMatch(gateway.output(), /"status":500/);
  });
});
