// The route-and-call stage against real deployments and a local HTTP upstream that answers each
// call as the test scripts it: the JSON result, a primed stream handed to the kernel's one wrapper,
// retries on another deployment after a backoff (or the upstream's Retry-After), no retry on the
// request's own 4xx, the fallback model, the query-of-death stop, and the deployment's slot and
// breaker settled when a stream ends however it ends.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CanonicalChunk, CanonicalRequest } from '../../../src/api/canonical.ts';
import { GatewayError } from '../../../src/api/errors.ts';
import { openAIEdge } from '../../../src/api/openai/index.ts';
import { validateConfig } from '../../../src/config/load.ts';
import { createKernel, RequestContext, streamStarted } from '../../../src/pipeline/index.ts';
import type { Deployment } from '../../../src/routing/deployment.ts';
import { createModelRegistry, type ModelRegistry } from '../../../src/routing/registry.ts';
import { POOL } from '../../../src/routing/stages/resolve-model.ts';
import { routeAndCall } from '../../../src/routing/stages/route-and-call.ts';
import { GatewayMetrics } from '../../../src/telemetry/metrics.ts';
import { RequestCancel } from '../../../src/util/cancel-signal.ts';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

interface Call {
  /** The deployment the call reached (its path prefix). */
  deployment: string;
  at: number;
}

/** The upstream: every call takes the next scripted answer; deployments are told apart by path. */
let server: Server;
let port = 0;
let script: Answer[] = [];
let calls: Call[] = [];
const open = new Set<ServerResponse>();

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

const json: Answer = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
};
const status =
  (code: number, headers: Record<string, string> = {}): Answer =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message: `scripted ${code}`, type: code < 500 ? 'invalid_request_error' : 'server_error', param: null, code: null } }));
  };
/** The connection closes after the request arrived, before any answer. */
const crash: Answer = (req) => req.socket.destroy();
/** A stream of `parts`, then the end, a dropped connection, or nothing more (left open). */
const stream =
  (parts: string[], then: 'end' | 'drop' | 'hang'): Answer =>
  (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant' }));
    for (const p of parts) res.write(chunk({ content: p }));
    if (then === 'end') res.end(chunk({}, 'stop') + 'data: [DONE]\n\n');
    else if (then === 'drop') setTimeout(() => req.socket.destroy(), 20);
    else open.add(res);
  };

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls.push({ deployment: req.url!.split('/')[1], at: performance.now() });
      const answer = script.shift();
      if (answer) answer(req, res);
      else status(500)(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  script = [];
  calls = [];
});

const deployment = (id: string) => ({ provider: 'openai-compatible', id, url: `http://127.0.0.1:${port}/${id}/v1`, metrics_path: null });

function registryOf(models: object[]): ModelRegistry {
  return createModelRegistry(validateConfig({ models }, 'test', {}).models);
}

function request(model: string, streamed: boolean): CanonicalRequest {
  return { kind: 'chat', model, stream: streamed, includeUsage: false, messages: [{ role: 'user', content: 'hello' }], params: { max_tokens: 8 }, extra: {}, meta: { requestId: 'r', edge: 'openai' } };
}

function context(registry: ModelRegistry, model: string, streamed: boolean, cancel = new RequestCancel()): RequestContext {
  const ctx = new RequestContext({ edge: openAIEdge, kind: 'chat', endpoint: '/v1/chat/completions', headers: {}, rawBody: Buffer.from('{}'), requestId: 'r', signal: cancel, priority: 5, startedAt: 0 });
  ctx.request = request(model, streamed);
  ctx.set(POOL, registry.get(model)!);
  return ctx;
}

async function counter(metric: { get(): Promise<{ values: { value: number; labels: object }[] }> }): Promise<{ value: number; labels: object }[]> {
  return (await metric.get()).values;
}

function byId(registry: ModelRegistry, id: string): Deployment {
  return registry.allDeployments().find((d) => d.id === id)!;
}

/** The stream the stage left in ctx.result, read to its end (or its failure). */
async function readAll(ctx: RequestContext): Promise<{ text: string; error?: unknown }> {
  assert.equal(ctx.result?.type, 'stream');
  let text = '';
  try {
    for await (const c of (ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream) if (c.type === 'delta' && c.text) text += c.text;
  } catch (error) {
    return { text, error };
  }
  return { text };
}

const inFlight = (registry: ModelRegistry) => registry.allDeployments().reduce((n, d) => n + d.inFlight, 0);

describe('route-and-call stage', () => {
  const metrics = new GatewayMetrics();
  const registries: ModelRegistry[] = [];
  const make = (models: object[]) => {
    const r = registryOf(models);
    registries.push(r);
    return r;
  };
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
  });
  const retrying = { max_retries: 2, retry: { backoff_base_ms: 400, backoff_max_ms: 400, max_retry_after_ms: 5_000 } };

  it('sets the JSON result and what served it; the slot is returned and the attempt counted a success', async () => {
    const registry = make([{ name: 'm', deployments: [deployment('a'), deployment('b')] }]);
    script = [json];
    const ctx = context(registry, 'm', false);
    await createKernel([routeAndCall(registry, metrics)]).run(ctx);
    assert.equal(ctx.result?.type, 'json');
    assert.equal(ctx.result.type === 'json' && ctx.result.response.kind === 'chat' && ctx.result.response.choices[0].text, 'hi there');
    assert.deepEqual(ctx.served, { model: 'm', deploymentId: calls[0].deployment });
    assert.equal(ctx.attempts, 1);
    assert.equal(inFlight(registry), 0);
    const served = byId(registry, calls[0].deployment);
    assert.deepEqual([served.windowOutcomes, served.windowFailures], [1, 0]);
  });

  it("primes a stream to its first token and hands it to the kernel's wrapper, which settles the deployment at the end", async () => {
    const registry = make([{ name: 'm', deployments: [deployment('a')] }]);
    script = [stream(['hel', 'lo'], 'end')];
    const ctx = context(registry, 'm', true);
    // The stage alone, no kernel: what it leaves in ctx.result must already be the kernel's wrapper.
    await routeAndCall(registry, metrics)(ctx, async () => {});
    const d = byId(registry, 'a');
    assert.equal(d.inFlight, 1, 'the slot is held while the stream is unread');
    assert.equal(ctx.result?.type === 'stream' && streamStarted(ctx.result.stream), false);
    const { text, error } = await readAll(ctx);
    assert.equal(error, undefined);
    assert.equal(text, 'hello');
    assert.equal(ctx.result?.type === 'stream' && streamStarted(ctx.result.stream), true, 'the kernel wrapper (respondWithStream) relayed it');
    assert.equal(ctx.end?.ending, 'stream_completed', 'and ended the request');
    assert.equal(d.inFlight, 0);
    assert.deepEqual([d.windowOutcomes, d.windowFailures], [1, 0]);
  });

  it('retries a stream that fails before its first token on another deployment', async () => {
    const registry = make([{ name: 'm', ...retrying, retry: { ...retrying.retry, backoff_base_ms: 10, backoff_max_ms: 10 }, deployments: [deployment('a'), deployment('b')] }]);
    script = [stream([], 'drop'), stream(['ok'], 'end')];
    const ctx = context(registry, 'm', true);
    await createKernel([routeAndCall(registry, metrics)]).run(ctx);
    assert.equal((await readAll(ctx)).text, 'ok');
    assert.equal(calls.length, 2);
    assert.notEqual(calls[0].deployment, calls[1].deployment);
    assert.deepEqual(ctx.served, { model: 'm', deploymentId: calls[1].deployment });
    assert.equal(byId(registry, calls[0].deployment).windowFailures, 1);
  });

  it('retries a retryable failure on another deployment after a backoff', async () => {
    const registry = make([{ name: 'm', ...retrying, deployments: [deployment('a'), deployment('b')] }]);
    const before = (await counter(metrics.retries)).find((v) => (v.labels as { model?: string }).model === 'm')?.value ?? 0;
    script = [status(503), json];
    const ctx = context(registry, 'm', false);
    await createKernel([routeAndCall(registry, metrics)]).run(ctx);
    assert.equal(ctx.attempts, 2);
    assert.notEqual(calls[0].deployment, calls[1].deployment);
    assert.deepEqual(ctx.served, { model: 'm', deploymentId: calls[1].deployment });
    // Equal jitter: the first retry waits between half the base and the base.
    assert.ok(calls[1].at - calls[0].at >= 190, `waited ${Math.round(calls[1].at - calls[0].at)} ms`);
    const failed = byId(registry, calls[0].deployment);
    assert.equal(failed.windowFailures, 1);
    assert.match(failed.lastError ?? '', /503|scripted/);
    const after = (await counter(metrics.retries)).find((v) => (v.labels as { model?: string }).model === 'm')!.value;
    assert.equal(after - before, 1);
  });

  it("waits out the upstream's Retry-After before the retry", async () => {
    const registry = make([{ name: 'm', ...retrying, retry: { ...retrying.retry, backoff_base_ms: 10, backoff_max_ms: 10 }, deployments: [deployment('a'), deployment('b')] }]);
    script = [status(429, { 'retry-after': '1' }), json];
    const ctx = context(registry, 'm', false);
    await createKernel([routeAndCall(registry, metrics)]).run(ctx);
    assert.equal(ctx.attempts, 2);
    assert.ok(calls[1].at - calls[0].at >= 950, `waited ${Math.round(calls[1].at - calls[0].at)} ms`);
  });

  it("does not retry the request's own 4xx, nor count it against the deployment", async () => {
    const registry = make([{ name: 'm', ...retrying, deployments: [deployment('a'), deployment('b')] }]);
    script = [status(400), json];
    const ctx = context(registry, 'm', false);
    const err = await createKernel([routeAndCall(registry, metrics)])
      .run(ctx)
      .then(
        () => assert.fail('expected the 400'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof GatewayError);
    assert.equal(err.status, 400);
    assert.equal(calls.length, 1);
    assert.equal(ctx.attempts, 1);
    const d = byId(registry, calls[0].deployment);
    assert.deepEqual([d.windowOutcomes, d.windowFailures, d.lastError], [1, 0, null]);
    assert.equal(inFlight(registry), 0);
  });

  it('falls back to the next model when this one cannot serve, but not for the request’s own fault', async () => {
    const registry = make([
      { name: 'primary', max_retries: 0, fallbacks: ['spare'], deployments: [deployment('p')] },
      { name: 'spare', deployments: [deployment('s')] },
    ]);
    const fallbacks = async () => (await counter(metrics.fallbacks)).find((v) => (v.labels as { from?: string }).from === 'primary')?.value ?? 0;
    const before = await fallbacks();
    script = [status(502), json];
    const ctx = context(registry, 'primary', false);
    await createKernel([routeAndCall(registry, metrics)]).run(ctx);
    assert.deepEqual(calls.map((c) => c.deployment), ['p', 's']);
    assert.deepEqual(ctx.served, { model: 'spare', deploymentId: 's' });
    assert.equal((await fallbacks()) - before, 1);

    calls = [];
    script = [status(400), json];
    await assert.rejects(createKernel([routeAndCall(registry, metrics)]).run(context(registry, 'primary', false)), (e: unknown) => e instanceof GatewayError && e.status === 400);
    assert.deepEqual(calls.map((c) => c.deployment), ['p']);
  });

  it('stops after two deployments closed the connection on the request (a suspected query of death)', async () => {
    const registry = make([{ name: 'm', max_retries: 5, retry: { backoff_base_ms: 1, backoff_max_ms: 1 }, deployments: [deployment('a'), deployment('b'), deployment('c')] }]);
    script = [crash, crash, json];
    const ctx = context(registry, 'm', false);
    await assert.rejects(createKernel([routeAndCall(registry, metrics)]).run(ctx), (e: unknown) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, 'request_crashed_upstream');
      assert.equal(e.retryable, false);
      return true;
    });
    assert.equal(calls.length, 2);
    assert.notEqual(calls[0].deployment, calls[1].deployment);
    assert.equal(inFlight(registry), 0);
  });

  describe('settles the deployment when a stream ends', () => {
    it('failed mid-way: a failure', async () => {
      const registry = make([{ name: 'm', deployments: [deployment('a')] }]);
      script = [stream(['par', 'tial'], 'drop')];
      const ctx = context(registry, 'm', true);
      await createKernel([routeAndCall(registry, metrics)]).run(ctx);
      const { text, error } = await readAll(ctx);
      assert.equal(text, 'partial');
      assert.ok(error instanceof GatewayError);
      assert.equal(ctx.end?.ending, 'stream_failed');
      const d = byId(registry, 'a');
      assert.deepEqual([d.inFlight, d.windowOutcomes, d.windowFailures], [0, 1, 1]);
    });

    it('abandoned by its reader: the slot is returned, nothing is counted for or against the deployment', async () => {
      const registry = make([{ name: 'm', deployments: [deployment('a')] }]);
      script = [stream(['first'], 'hang')];
      const ctx = context(registry, 'm', true);
      await createKernel([routeAndCall(registry, metrics)]).run(ctx);
      assert.equal(ctx.result?.type, 'stream');
      const it = (ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream[Symbol.asyncIterator]();
      await it.next();
      await it.return!();
      assert.equal(ctx.end?.ending, 'stream_abandoned');
      const d = byId(registry, 'a');
      assert.deepEqual([d.inFlight, d.windowOutcomes, d.windowFailures], [0, 0, 0]);
    });

    it('cut short by the client going away: cancelled, not a failure', async () => {
      const registry = make([{ name: 'm', deployments: [deployment('a')] }]);
      script = [stream(['first'], 'hang')];
      const cancel = new RequestCancel();
      const ctx = context(registry, 'm', true, cancel);
      await createKernel([routeAndCall(registry, metrics)]).run(ctx);
      const it = (ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream[Symbol.asyncIterator]();
      // Up to the first token (what priming read ahead), then a read that waits on the upstream.
      for (let c = await it.next(); !c.done && !(c.value.type === 'delta' && c.value.text); c = await it.next());
      const pending = it.next();
      cancel.abort(new Error('client gone'));
      await pending.then(
        () => {},
        () => {},
      );
      assert.ok(ctx.end?.clientGone);
      // The read under way fails: the upstream call was cancelled with the client's signal.
      assert.equal(ctx.end?.ending, 'stream_failed');
      const d = byId(registry, 'a');
      assert.deepEqual([d.inFlight, d.windowOutcomes, d.windowFailures], [0, 0, 0]);
    });
  });
});
