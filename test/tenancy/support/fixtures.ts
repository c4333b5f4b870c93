// Small builders shared by the tenancy tests: a migrated SQLite store, requests and contexts.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CanonicalChunk, CanonicalRequest, Usage } from '../../../src/api/canonical.ts';
import type { EdgeName } from '../../../src/api/edge.ts';
import { EDGES } from '../../../src/api/edges.ts';
import { RequestContext, respondWithStream } from '../../../src/pipeline/index.ts';
import { openStore, type OpenedStore } from '../../../src/store/open.ts';
import { SqlTenancyStore } from '../../../src/store/tenancy/sql-tenancy-store.ts';
import type { Principal } from '../../../src/tenancy/principal.ts';
import type { TenancyStore } from '../../../src/tenancy/types.ts';

export async function sqliteTenancy(): Promise<{ opened: OpenedStore; store: SqlTenancyStore; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-tenancy-'));
  const opened = await openStore({ dataDir: dir });
  return { opened, store: new SqlTenancyStore(opened.sql), dir };
}

/** Wraps a store and counts the calls that reach it, to prove the hot path stays off the database. */
export function countingStore(inner: TenancyStore): TenancyStore & { calls: Record<string, number>; total(): number } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'calls') return calls;
      if (prop === 'total') return () => Object.values(calls).reduce((a, b) => a + b, 0);
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return proxy as TenancyStore & { calls: Record<string, number>; total(): number };
}

export function chatRequest(overrides: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    kind: 'chat',
    model: 'llama-8b',
    stream: false,
    includeUsage: false,
    messages: [{ role: 'user', content: '' }], // 4 base + 6 per message of chat-template overhead = 10 estimated prompt tokens
    params: { max_tokens: 100 },
    extra: {},
    meta: { requestId: 'req-1', edge: 'openai' },
    ...overrides,
  };
}

export function fakeContext(options: { principal?: Principal; request?: CanonicalRequest; headers?: Record<string, string>; edge?: EdgeName; signal?: AbortSignal } = {}): RequestContext {
  const ctx = new RequestContext({
    edge: EDGES[options.edge ?? 'openai'],
    kind: 'chat',
    endpoint: '/v1/chat/completions',
    headers: options.headers ?? {},
    rawBody: Buffer.alloc(0),
    requestId: 'req-1',
    signal: options.signal ?? new AbortController().signal,
    priority: 5,
    startedAt: 0,
    principal: options.principal,
  });
  ctx.request = options.request ?? chatRequest();
  return ctx;
}

/** A `next` that answers with a JSON completion reporting this usage. */
export function jsonAnswer(ctx: RequestContext, usage: Usage): () => Promise<void> {
  return async () => {
    ctx.result = { type: 'json', response: { kind: 'chat', id: 'c1', created: 0, upstreamModel: 'm', choices: [], usage } };
  };
}

/** A `next` that answers with a stream of `deltas` text chunks, then (optionally) usage, then maybe an error. */
export function streamAnswer(ctx: RequestContext, options: { deltas: number; usage?: Usage; failAfter?: boolean }): () => Promise<void> {
  return async () => {
    async function* chunks(): AsyncGenerator<CanonicalChunk> {
      yield { type: 'start', id: 's1', created: 0, upstreamModel: 'm' };
      for (let i = 0; i < options.deltas; i++) yield { type: 'delta', index: 0, text: 'tok' };
      if (options.failAfter) throw new Error('upstream dropped');
      if (options.usage) yield { type: 'usage', usage: options.usage };
    }
    // As the routing stage does: the one wrapper, whose end ends the request.
    respondWithStream(ctx, chunks());
  };
}

/** Reads a stream result to the end (or until it throws). */
export async function readStream(ctx: RequestContext, stopAfter = Infinity): Promise<number> {
  if (ctx.result?.type !== 'stream') throw new Error('not a stream');
  let n = 0;
  for await (const _chunk of ctx.result.stream) {
    n += 1;
    if (n >= stopAfter) break;
  }
  return n;
}
