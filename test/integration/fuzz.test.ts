// Seeded fuzzing of every client endpoint and the admin API against a real gateway process:
// malformed JSON, wrong types, huge numbers, deep nesting, odd content parts, odd headers, paths
// and queries. Whatever the input, the answer is never a 5xx, and every error has its endpoint's
// shape (OpenAI's, or Anthropic's on /v1/messages). The cases are a pure function of the seed,
// so a failure reproduces with FUZZ_SEED=<seed> (FUZZ_CASES sets how many).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, FormData, request } from 'undici';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_612);
const CASES = Number(process.env.FUZZ_CASES ?? 3_000);
const CONCURRENCY = 8;
const MODEL = 'sim-llama-3.1-8b';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

function nested(depth: number, leaf: Json = 1): Json {
  let v: Json = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

const ODD_STRINGS = ['', ' ', 'x'.repeat(20_000), '\u0000', '\ud800', '🎉'.repeat(50), '../../etc/passwd', '%00', '${HOME}', 'null', '[]', '{}', 'sk-sy-invalid', 'Bearer', '\r\n', 'a\nb'];
const ODD_NUMBERS = [0, -1, 1, 1.5, -0.000001, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 5e-324, 999_999_999_999];

function oddValue(r: Random): Json {
  switch (r.int(9)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(ODD_NUMBERS);
    case 3:
      return r.pick(ODD_STRINGS);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return nested(r.pick([2, 10, 63, 65, 200]));
    case 7:
      return Array.from({ length: r.int(5) }, () => r.pick(ODD_STRINGS.slice(0, 4)));
    default:
      return Array.from({ length: 1 + r.int(3) }, () => oddPart(r));
  }
}

/** Content parts, valid and not. */
function oddPart(r: Random): Json {
  const v = (): Json => (r.chance(0.5) ? oddValue(r) : 'QUJD');
  switch (r.int(8)) {
    case 0:
      return { type: 'text', text: r.chance(0.5) ? 'hello' : v() };
    case 1:
      return { type: 'image_url', image_url: r.chance(0.5) ? { url: r.pick(['https://example.com/a.png', 'data:image/png;base64,QUJD', 'data:nope', '']) } : v() };
    case 2:
      return { type: 'input_audio', input_audio: r.chance(0.5) ? { data: 'UklGRg==', format: r.pick(['wav', 'mp3', '', 'x']) } : v() };
    case 3:
      return { type: 'file', file: r.chance(0.5) ? { file_id: 'file-abc' } : r.chance(0.5) ? { file_data: 'data:application/pdf;base64,JVBERi0=' } : v() };
    case 4:
      return { type: 'image', source: r.chance(0.5) ? { type: 'base64', media_type: 'image/png', data: 'QUJD' } : v() };
    case 5:
      return { type: 'tool_result', tool_use_id: v(), content: v() };
    case 6:
      return { type: v() };
    default:
      return v();
  }
}

const chat = (): Json => ({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
const CHAT_SHAPES: (() => unknown)[] = [
  chat,
  () => ({ model: MODEL, max_tokens: 2, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] }),
  () => ({ model: MODEL, max_tokens: 2, stream: true, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }] }),
  () => ({
    model: MODEL,
    max_tokens: 2,
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'string' } } } } }],
    messages: [
      { role: 'user', content: 'find 42' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"id":"42"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'found' },
    ],
  }),
];
const MESSAGES_SHAPES: (() => unknown)[] = [
  () => ({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }),
  () => ({ model: MODEL, max_tokens: 2, system: 'be brief', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  () => ({
    model: MODEL,
    max_tokens: 2,
    tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
    messages: [
      { role: 'user', content: 'find 42' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { id: '42' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'found' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'QUJD' } }] },
    ],
  }),
];
const VALID: Record<string, (r: Random) => Json> = {
  chat: (r) => r.pick(CHAT_SHAPES)() as Json,
  completion: () => ({ model: MODEL, max_tokens: 2, prompt: 'Once' }),
  embedding: () => ({ model: MODEL, input: ['a', 'b'] }),
  messages: (r) => r.pick(MESSAGES_SHAPES)() as Json,
  batch: () => ({ input_file_id: 'file-abc', endpoint: '/v1/chat/completions', completion_window: '24h' }),
  team: () => ({ name: 'team', rpm: 100 }),
  key: () => ({ name: 'key', rpm: 100, models: [MODEL] }),
  budget: () => ({ id: 'b1', scope: 'global', period: 'monthly', limit_usd: 10 }),
  dlq: () => ({ ids: ['dlq_abc'] }),
};

/** Every path into a JSON tree, for mutations to aim at. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(r: Random, body: Json): Json {
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    const targets = paths(body).filter((p) => p.length > 0);
    if (targets.length === 0) return oddValue(r);
    const path = r.pick(targets);
    let parent = body as Record<string | number, Json>;
    for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, Json>;
    const last = path[path.length - 1];
    const op = r.int(5);
    if (op === 0 && !Array.isArray(parent)) delete parent[last];
    else if (op === 1 && !Array.isArray(parent)) parent[r.pick(['stream', 'n', 'tools', 'tool_choice', 'stop', 'temperature', 'system', 'stream_options', 'response_format', 'extra_field'])] = oddValue(r);
    else if (op === 2 && Array.isArray(parent[last])) (parent[last] as Json[]).push(oddPart(r));
    else parent[last] = oddValue(r);
  }
  return body;
}

/** Raw-text damage that no JSON value can express. */
function damage(r: Random, text: string): string | Buffer {
  switch (r.int(8)) {
    case 0:
      return text.slice(0, r.int(text.length));
    case 1:
      return text.replace(/\d+/, '1e999');
    case 2:
      return `\ufeff${text}`;
    case 3:
      return Buffer.concat([Buffer.from(text.slice(0, 10)), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(text.slice(10))]);
    case 4:
      return `[${text}]`;
    case 5:
      return text.replace('{', '{"model":1,');
    case 6:
      // Deep nesting inside a valid request (built as text: the test's own JSON.stringify would overflow).
      return text.replace('{', `{"deep":${'['.repeat(5_000)}${']'.repeat(5_000)},`);
    default:
      return r.pick(['', 'null', '"string"', '42', 'true', '{', '}', '{"a":}']);
  }
}

function oddHeaders(r: Random): Record<string, string> {
  const headers: Record<string, string> = {};
  if (r.chance(0.8)) headers['content-type'] = r.chance(0.7) ? 'application/json' : r.pick(['text/plain', 'multipart/form-data', 'multipart/form-data; boundary=', 'application/x-www-form-urlencoded', '']);
  if (r.chance(0.15)) headers['x-switchyard-priority'] = r.pick(['0', '9', '10', '-1', 'high', 'urgent', '', '1e3', ' batch ']);
  if (r.chance(0.15)) headers['x-request-id'] = r.pick(['abc', 'x'.repeat(200), 'a b', '../', '']);
  if (r.chance(0.15)) headers.authorization = r.pick(['Bearer ', 'Bearer sk-sy-' + 'a'.repeat(40), 'Basic abc', 'bearer x', 'Bearer sk-sy-']);
  if (r.chance(0.1)) headers['x-api-key'] = r.pick(['', 'sk-sy-nope', 'x']);
  if (r.chance(0.1)) headers['x-session-id'] = r.pick(['', 's'.repeat(5_000), 'abc']);
  if (r.chance(0.1)) headers['anthropic-version'] = r.pick(['2023-06-01', 'nope', '']);
  return headers;
}

const ODD_IDS = ['abc', 'file-abc', 'batch_abc', 'dlq_abc', '%', '%zz', '..', 'x'.repeat(300), '%F0%9F%8E%89', 'key_' + 'A'.repeat(16)];
const ODD_QUERY = ['limit=0', 'limit=-1', 'limit=1e3', 'limit=abc', 'limit=99999999999999999999', 'order=sideways', 'after=%', 'after=%zz', 'purpose=x', 'from=abc', 'to=-1', 'group_by=nope', 'window=1s', 'window=%', 'model=', 'all=true', 'name=%'];

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer | FormData;
}

function makeCase(r: Random): Case {
  const q = () => (r.chance(0.5) ? `?${Array.from({ length: 1 + r.int(3) }, () => r.pick(ODD_QUERY)).join('&')}` : '');
  const id = () => encodeURIComponent(r.pick(ODD_IDS)).replace(/%25/g, '%');
  const withBody = (kind: string, path: string, method = 'POST'): Case => {
    const base = VALID[kind](r);
    const text = JSON.stringify(r.chance(0.85) ? mutate(r, base) : base);
    return { method, path, headers: oddHeaders(r), body: r.chance(0.2) ? damage(r, text) : text };
  };
  switch (r.int(22)) {
    case 0:
    case 1:
    case 2:
      return withBody('chat', '/v1/chat/completions');
    case 3:
      return withBody('completion', '/v1/completions');
    case 4:
      return withBody('embedding', '/v1/embeddings');
    case 5:
    case 6:
      return withBody('messages', '/v1/messages');
    case 7:
      return withBody('batch', '/v1/batches');
    case 8:
      return { method: r.pick(['GET', 'POST']), path: `/v1/batches/${id()}${r.chance(0.5) ? '/cancel' : ''}`, headers: oddHeaders(r) };
    case 9:
      return { method: 'GET', path: `/v1/${r.pick(['models', 'files', 'batches'])}${q()}`, headers: oddHeaders(r) };
    case 10:
      return { method: r.pick(['GET', 'DELETE']), path: `/v1/files/${id()}${r.chance(0.5) ? '/content' : ''}`, headers: oddHeaders(r) };
    case 11: {
      const form = new FormData();
      if (r.chance(0.8)) form.append('purpose', r.pick(['batch', 'fine-tune', '', 'x'.repeat(70_000)]));
      const line = JSON.stringify(r.chance(0.5) ? { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: chat() } : mutate(r, { custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: chat() }));
      if (r.chance(0.9)) form.append(r.chance(0.9) ? 'file' : 'other', new Blob([r.chance(0.8) ? `${line}\n` : String(damage(r, line))]), r.pick(['in.jsonl', '', 'données.jsonl', '"quoted".jsonl', 'a\\b.jsonl']));
      return { method: 'POST', path: '/v1/files', headers: {}, body: form };
    }
    case 12:
      return withBody('team', '/admin/v1/teams');
    case 13:
      return withBody('team', `/admin/v1/teams/${id()}`, 'PATCH');
    case 14:
      return withBody('key', '/admin/v1/keys');
    case 15:
      return withBody('key', `/admin/v1/keys/${id()}`, 'PATCH');
    case 16:
      return withBody('budget', '/admin/v1/budgets');
    case 17:
      return withBody('dlq', r.pick(['/admin/v1/dlq/replay', '/admin/v1/dlq']), r.pick(['POST', 'DELETE']));
    case 18:
      return { method: 'GET', path: `/admin/v1/${r.pick(['keys', 'teams', 'budgets', 'spend', 'reports/self-host-vs-api', 'dlq', 'deployments'])}${q()}`, headers: oddHeaders(r) };
    case 19:
      return { method: r.pick(['GET', 'DELETE', 'POST']), path: `/admin/v1/${r.pick(['keys', 'teams', 'budgets', 'dlq'])}/${id()}${r.chance(0.3) ? '/revoke' : ''}`, headers: oddHeaders(r) };
    case 20:
      return { method: r.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']), path: r.pick(['/v1/chat/completions', '/v1/messages', '/admin/v1/keys', '/v1//models', '/%', '/v1/%zz', `/v1/${'a'.repeat(4_000)}`, '/healthz?x=%']), headers: oddHeaders(r) };
    default:
      return withBody(r.pick(['chat', 'messages']), r.pick(['/v1/chat/completions', '/v1/messages']));
  }
}

interface Finding {
  case: Case;
  status: number;
  body: string;
}

function shapeProblem(path: string, status: number, contentType: string, body: string): string | undefined {
  if (status < 400) return undefined;
  if (!contentType.startsWith('application/json')) return `error without a JSON body (${contentType || 'no content-type'})`;
  let json: { type?: unknown; error?: Record<string, unknown> };
  try {
    json = JSON.parse(body);
  } catch {
    return 'error body is not JSON';
  }
  if (path.startsWith('/v1/messages')) {
    if (json.type !== 'error' || typeof json.error?.type !== 'string' || typeof json.error?.message !== 'string') return 'not the Anthropic error shape';
    return undefined;
  }
  const keys = Object.keys(json.error ?? {}).sort().join(',');
  if (keys !== 'code,message,param,type' || typeof json.error?.message !== 'string') return 'not the OpenAI error shape';
  return undefined;
}

describe('fuzz', () => {
  let gateway: RunningProcess;
  let dispatcher: Agent;

  before(async () => {
    gateway = await startGateway({ config: { ...simModelConfig({ replicas: 1, timeScale: 0 }), server: { max_body_bytes: 256 * 1024 } } });
    dispatcher = new Agent({ connections: CONCURRENCY, headersTimeout: 30_000, bodyTimeout: 30_000 });
  });
  after(async () => {
    await dispatcher?.close();
    await gateway?.stop();
  });

  it(`${CASES} seeded cases (seed ${SEED}): no 5xx, every error in its endpoint's shape`, async (t) => {
    const random = new Random(SEED);
    const cases = Array.from({ length: CASES }, () => makeCase(random));
    const findings: (Finding & { problem: string })[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        let status = 0;
        let body: string;
        let contentType = '';
        try {
          const res = await request(`${gateway.url}${c.path}`, { method: c.method as 'GET', headers: c.headers, body: c.body as string, dispatcher });
          status = res.statusCode;
          contentType = String(res.headers['content-type'] ?? '');
          body = await res.body.text();
        } catch (err) {
          body = `client error: ${(err as Error).message}`;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const problem = status === 0 ? 'no answer' : status >= 500 ? `status ${status}` : shapeProblem(c.path, status, contentType, body);
        if (problem) findings.push({ case: c, status, body: body.slice(0, 300), problem });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    const shown = findings.slice(0, 8).map((f) => {
      const body = f.case.body instanceof FormData ? '<multipart>' : String(f.case.body ?? '').slice(0, 200);
      return `${f.problem}: ${f.case.method} ${f.case.path.slice(0, 120)} ${JSON.stringify(f.case.headers)} ${body} -> ${f.body}`;
    });
    assert.equal(findings.length, 0, `${findings.length} of ${CASES} cases failed:\n${shown.join('\n')}`);
    const internal = gateway.output().match(/"msg":"internal error"/g)?.length ?? 0;
    assert.equal(internal, 0, 'no internal error was logged');
    const health = await fetch(`${gateway.url}/healthz`);
    assert.equal(health.status, 200);
  });
});
