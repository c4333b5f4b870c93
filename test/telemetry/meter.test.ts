// The meter stage run by the kernel with a fake rest of the pipeline: every request it sees gets
// exactly one metrics update and one request log line, however it ends (JSON, a stream read to its
// end, a stream cut short, a client gone before reading, an error after the meter).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { CanonicalChunk, CanonicalRequest, CanonicalResponse } from '../../src/api/canonical.ts';
import { EDGES } from '../../src/api/edges.ts';
import { GatewayError } from '../../src/api/errors.ts';
import { RequestContext, respondWithStream, type Next } from '../../src/pipeline/index.ts';
import { meter } from '../../src/telemetry/meter.ts';
import { GatewayMetrics } from '../../src/telemetry/metrics.ts';
import { RequestCancel } from '../../src/util/cancel-signal.ts';
import { runStage } from '../support/pipeline.ts';

const MODEL = 'llama-8b';
const ENDPOINT = '/v1/chat/completions';

interface LogLine {
  msg: string;
  level: number;
  [field: string]: unknown;
}

/** A real metrics registry and a real pino logger whose lines are kept, parsed. */
function harness() {
  const metrics = new GatewayMetrics();
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const stage = meter(metrics, pino({ level: 'info' }, sink));
  const requestLines = () => lines.filter((l) => l.msg === 'request');
  return { metrics, lines, requestLines, stage };
}

function context(stream: boolean): { ctx: RequestContext; cancel: RequestCancel } {
  const cancel = new RequestCancel();
  const ctx = new RequestContext({
    edge: EDGES.openai,
    kind: 'chat',
    endpoint: ENDPOINT,
    headers: {},
    rawBody: Buffer.alloc(0),
    requestId: 'req-1',
    signal: cancel,
    priority: 5,
    startedAt: performance.now(),
  });
  const request: CanonicalRequest = {
    kind: 'chat',
    model: MODEL,
    stream,
    includeUsage: false,
    messages: [{ role: 'user', content: 'hello there' }],
    params: {},
    extra: {},
    meta: { requestId: 'req-1', edge: 'openai' },
  };
  ctx.request = request;
  return { ctx, cancel };
}

const response = (): CanonicalResponse => ({
  kind: 'chat',
  id: 'x',
  created: 0,
  upstreamModel: 'up',
  choices: [{ index: 0, text: 'hi', finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 2 },
});

async function* upstream(withUsage: boolean, failAfter?: Error): AsyncGenerator<CanonicalChunk> {
  yield { type: 'start', id: 's', created: 0, upstreamModel: 'up' };
  yield { type: 'delta', index: 0, role: 'assistant', text: 'a' };
  yield { type: 'delta', index: 0, text: 'b' };
  if (failAfter) throw failAfter;
  yield { type: 'delta', index: 0, finish_reason: 'stop' };
  if (withUsage) yield { type: 'usage', usage: { prompt_tokens: 9, completion_tokens: 2 } };
}

async function readAll(ctx: RequestContext): Promise<void> {
  assert.equal(ctx.result?.type, 'stream');
  for await (const _chunk of (ctx.result as { stream: AsyncIterable<CanonicalChunk> }).stream);
}

async function value(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, labels: Record<string, string>, metricName?: string): Promise<number> {
  const { values } = await metric.get();
  const hit = values.filter((v) => (metricName === undefined || v.metricName === metricName) && Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return hit.reduce((sum, v) => sum + v.value, 0);
}

/** What the meter recorded: counted requests by status, in flight, latency and TTFT observations, tokens. */
async function recorded(metrics: GatewayMetrics) {
  return {
    requests: await value(metrics.requests, { model: MODEL, endpoint: ENDPOINT }),
    inFlight: await value(metrics.inFlight, { model: MODEL }),
    latencyCount: await value(metrics.latency, { model: MODEL }, 'switchyard_request_duration_seconds_count'),
    ttftCount: await value(metrics.ttft, { model: MODEL }, 'switchyard_time_to_first_token_seconds_count'),
    tokensIn: await value(metrics.tokens, { model: MODEL, direction: 'in' }),
    tokensOut: await value(metrics.tokens, { model: MODEL, direction: 'out' }),
  };
}

describe('meter: one metrics update and one log line per request', () => {
  it('a JSON answer: counted 200 once, its usage, one line; in flight while it runs', async () => {
    const h = harness();
    const { ctx } = context(false);
    let inFlightDuring = -1;
    const next: Next = async () => {
      inFlightDuring = await value(h.metrics.inFlight, { model: MODEL });
      ctx.served = { model: MODEL, deploymentId: 'd1' };
      ctx.attempts = 1;
      ctx.result = { type: 'json', response: response() };
    };
    await runStage(ctx, h.stage, next);
    assert.equal(inFlightDuring, 1);
    assert.deepEqual(await recorded(h.metrics), { requests: 1, inFlight: 0, latencyCount: 1, ttftCount: 0, tokensIn: 7, tokensOut: 2 });
    assert.equal(await value(h.metrics.requests, { status: '200' }), 1);
    const lines = h.requestLines();
    assert.equal(lines.length, 1);
    assert.equal(h.lines.length, 1, 'nothing else is logged');
    const line = lines[0];
    assert.deepEqual(
      { reqId: line.reqId, model: line.model, deployment: line.deployment, endpoint: line.endpoint, stream: line.stream, status: line.status, promptTokens: line.promptTokens, completionTokens: line.completionTokens, attempts: line.attempts, error: line.error },
      { reqId: 'req-1', model: MODEL, deployment: 'd1', endpoint: ENDPOINT, stream: false, status: 200, promptTokens: 7, completionTokens: 2, attempts: 1, error: undefined },
    );
    assert.equal(typeof line.ms, 'number');
  });

  it('a stream read to its end: once, after the last chunk, with its usage and TTFT', async () => {
    const h = harness();
    const { ctx } = context(true);
    await runStage(ctx, h.stage, async () => respondWithStream(ctx, upstream(true)));
    assert.equal(h.requestLines().length, 0, 'not before the stream is read');
    assert.equal(await value(h.metrics.inFlight, { model: MODEL }), 1);
    await readAll(ctx);
    assert.deepEqual(await recorded(h.metrics), { requests: 1, inFlight: 0, latencyCount: 1, ttftCount: 1, tokensIn: 9, tokensOut: 2 });
    const lines = h.requestLines();
    assert.equal(lines.length, 1);
    assert.equal(lines[0].status, 200);
    assert.equal(lines[0].stream, true);
    assert.equal(typeof lines[0].ttftMs, 'number');
  });

  it('a stream cut short by the upstream: once, its status and code, the relayed tokens', async () => {
    const h = harness();
    const { ctx } = context(true);
    const lost = new GatewayError('upstream_error', 'connection lost', { code: 'upstream_connection_lost' });
    await runStage(ctx, h.stage, async () => respondWithStream(ctx, upstream(false, lost)));
    await assert.rejects(readAll(ctx), /connection lost/);
    const seen = await recorded(h.metrics);
    assert.equal(seen.requests, 1);
    assert.equal(await value(h.metrics.requests, { status: '502' }), 1);
    assert.equal(seen.inFlight, 0);
    assert.equal(seen.tokensOut, 2, 'the two text chunks relayed');
    assert.ok(seen.tokensIn > 0, 'the prompt estimate');
    const lines = h.requestLines();
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0].status, lines[0].error], [502, 'upstream_connection_lost']);
    assert.equal(h.lines.length, 1, 'an upstream failure is not a gateway bug: no internal-error line');
  });

  it('a stream broken by a gateway bug: the request line and one internal-error line with its cause', async () => {
    const h = harness();
    const { ctx } = context(true);
    await runStage(ctx, h.stage, async () => respondWithStream(ctx, upstream(false, new GatewayError('internal', 'renderer bug'))));
    await assert.rejects(readAll(ctx), /renderer bug/);
    assert.equal(h.requestLines().length, 1);
    const internal = h.lines.filter((l) => l.msg === 'internal error');
    assert.equal(internal.length, 1);
    assert.equal(internal[0].reqId, 'req-1');
    assert.match(JSON.stringify(internal[0].err), /renderer bug/);
  });

  it('a client gone before its stream was read: once, 499', async () => {
    const h = harness();
    const { ctx, cancel } = context(true);
    await runStage(ctx, h.stage, async () => respondWithStream(ctx, upstream(true)));
    cancel.abort(new Error('client disconnected'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await value(h.metrics.requests, { status: '499' }), 1);
    assert.equal((await recorded(h.metrics)).requests, 1);
    assert.equal(await value(h.metrics.inFlight, { model: MODEL }), 0);
    const lines = h.requestLines();
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0].status, lines[0].error], [499, 'client_disconnected']);
  });

  it('an error after the meter (a refusal, or the upstream failing): once, its status, no tokens', async () => {
    const h = harness();
    const { ctx } = context(false);
    const refuse: Next = async () => {
      throw new GatewayError('rate_limit', 'slow down', { code: 'rate_limit_exceeded' });
    };
    await assert.rejects(runStage(ctx, h.stage, refuse), /slow down/);
    assert.deepEqual(await recorded(h.metrics), { requests: 1, inFlight: 0, latencyCount: 1, ttftCount: 0, tokensIn: 0, tokensOut: 0 });
    assert.equal(await value(h.metrics.requests, { status: '429' }), 1);
    const lines = h.requestLines();
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0].status, lines[0].error, lines[0].promptTokens], [429, 'rate_limit_exceeded', undefined]);
  });

  it('many requests, each ending its own way: as many updates and lines as requests', async () => {
    const h = harness();
    const endings: ((ctx: RequestContext) => Next)[] = [
      (ctx) => async () => void (ctx.result = { type: 'json', response: response() }),
      () => async () => {
        throw new GatewayError('overloaded', 'busy');
      },
      (ctx) => async () => respondWithStream(ctx, upstream(true)),
    ];
    for (let i = 0; i < 9; i++) {
      const { ctx } = context(i % 3 === 2);
      await runStage(ctx, h.stage, endings[i % 3](ctx)).catch(() => {});
      if (ctx.result?.type === 'stream') await readAll(ctx);
    }
    assert.equal((await recorded(h.metrics)).requests, 9);
    assert.equal((await recorded(h.metrics)).inFlight, 0);
    assert.equal(h.requestLines().length, 9);
  });
});
