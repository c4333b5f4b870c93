// The upstream every contender of the overhead benchmark proxies to: a minimal OpenAI-compatible
// server that answers at once, so what is measured is the proxy, not the model.
//
//   POST …/v1/chat/completions            a fixed small JSON completion, or with "stream": true
//                                          100 chunks written back to back
//   POST /pace/<ms>/v1/chat/completions   the same stream, one chunk every <ms> ms; each content
//                                          chunk carries the wall-clock time it was written (ms,
//                                          µs precision), so the driver can time the relay per chunk
//   GET  anything                         200 (health checks, /v1/models)
//
// The cadence lives in the path so that every contender (a gateway with a configured base URL,
// nginx, Portkey's custom host, the direct path) reaches it the same way.
// Run as its own process: prints `ready <port>` once listening. argv[2]: port (0 = any).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// BENCH_STUB_CHUNKS: another length, for stream-cpu.ts's marginal cost per chunk (bench:overhead uses 100).
const STREAM_CHUNKS = Number(process.env.BENCH_STUB_CHUNKS ?? 100);
const PACE = /^\/pace\/(\d+)\//;

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 },
  }),
);
const HEALTH = Buffer.from(JSON.stringify({ object: 'list', data: [{ id: 'bench', object: 'model', created: 1_700_000_000, owned_by: 'bench' }] }));
const JSON_HEADERS = { 'content-type': 'application/json', 'content-length': COMPLETION.length };
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

const PREFIX = 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":';
const ROLE_CHUNK = `${PREFIX}{"role":"assistant","content":""},"finish_reason":null}]}\n\n`;
const FIXED_CONTENT_CHUNK = `${PREFIX}{"content":"tok"},"finish_reason":null}]}\n\n`;
const FINISH_CHUNK = `${PREFIX}{},"finish_reason":"stop"}]}\n\n`;
const USAGE_CHUNK = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":${STREAM_CHUNKS},"total_tokens":${12 + STREAM_CHUNKS}}}\n\n`;
const DONE = 'data: [DONE]\n\n';

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

function stampedChunk(): string {
  return `${PREFIX}{"content":"${wallClockMs().toFixed(3)}"},"finish_reason":null}]}\n\n`;
}

function streamBurst(res: ServerResponse): void {
  res.writeHead(200, SSE_HEADERS);
  let text = ROLE_CHUNK;
  for (let i = 0; i < STREAM_CHUNKS; i++) text += FIXED_CONTENT_CHUNK;
  res.end(text + FINISH_CHUNK + USAGE_CHUNK + DONE);
}

function streamPaced(res: ServerResponse, everyMs: number): void {
  res.writeHead(200, SSE_HEADERS);
  res.write(ROLE_CHUNK);
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      return;
    }
    res.write(stampedChunk());
    if (++sent === STREAM_CHUNKS) {
      clearInterval(timer);
      res.end(FINISH_CHUNK + USAGE_CHUNK + DONE);
    }
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': HEALTH.length });
    res.end(HEALTH);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // A substring test is enough: the benchmark's bodies are fixed and the stub must stay cheap.
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const streaming = body.includes('"stream":true');
    if (!streaming) {
      res.writeHead(200, JSON_HEADERS);
      res.end(COMPLETION);
      return;
    }
    const pace = PACE.exec(req.url ?? '');
    if (pace) streamPaced(res, Number(pace[1]));
    else streamBurst(res);
  });
}

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0, headersTimeout: 0 }, handle);
server.listen({ port: Number(process.argv[2] ?? 0), host: '127.0.0.1', backlog: 8192 }, () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
