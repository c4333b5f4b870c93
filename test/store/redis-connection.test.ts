// The Redis link against a real redis-server of the test's own, taken away and brought back:
// nothing waits on a dead or stalled Redis, every failure names REDIS_URL, and after a reconnect the
// counters work again, subscriptions are made again and each channel resyncs.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisCounterStore } from '../../src/store/counters/redis.ts';
import { RedisConnection, RedisUnavailableError, redactRedisUrl } from '../../src/store/redis-connection.ts';
import { RedisInvalidationBus } from '../../src/tenancy/invalidation.ts';
import { freePort, requireRedisServer, startRedisServer, type RedisServer } from '../support/redis-server.ts';

const check = { key: 'c', limit: 100, amount: 1, windowMs: 60_000 };
/** A command refused at once takes microseconds; this bound only absorbs a loaded CI machine. */
const FAST_MS = 500;

const servers: RedisServer[] = [];
after(async () => {
  for (const s of servers) await s.kill();
});

async function start(port: number): Promise<RedisServer> {
  const server = await startRedisServer(port);
  servers.push(server);
  return server;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failure(p: Promise<unknown>): Promise<{ err: RedisUnavailableError; ms: number }> {
  const started = performance.now();
  const err = await p.then(
    () => assert.fail('expected the operation to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RedisUnavailableError, `a RedisUnavailableError, got ${String(err)}`);
  return { err, ms: performance.now() - started };
}

describe('RedisConnection', () => {
  it('fails fast while Redis is unreachable, naming REDIS_URL, and counts again once it is back', async (t) => {
    if (!requireRedisServer(t)) return;
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const connection = new RedisConnection({ url });
    const counters = new RedisCounterStore({ connection, prefix: 'sy-test:conn:' });
    try {
      await connection.firstAttempt(5_000);
      assert.deepEqual([connection.current.commands, connection.current.subscriptions], [false, false]);
      assert.match(connection.current.error ?? '', /ECONNREFUSED/);

      const down = await failure(counters.consume([check]));
      assert.ok(down.ms < FAST_MS, `refused in ${down.ms.toFixed(0)} ms`);
      assert.equal(down.err.message, `Redis at REDIS_URL (${url}) is unreachable: connect ECONNREFUSED 127.0.0.1:${port}`);
      assert.equal(down.err.outageReported, true);
      assert.equal(counters.generation, 0);

      let server = await start(port);
      await waitFor(() => connection.current.commands && connection.current.subscriptions, 'the reconnect');
      const counted = await counters.consume([check]);
      assert.ok(counted.ok && counted.values[0] === 1, 'counting again');
      assert.equal(counters.generation, 0, 'first connection: nothing could have been lost');

      await server.kill();
      await waitFor(() => !connection.current.commands, 'the loss being noticed');
      const again = await failure(counters.adjust('c', 1, { windowMs: 60_000 }));
      assert.ok(again.ms < FAST_MS, `refused in ${again.ms.toFixed(0)} ms`);
      assert.match(again.err.message, /^Redis at REDIS_URL \(redis:\/\/127\.0\.0\.1:\d+\) is unreachable: /);

      server = await start(port);
      await waitFor(() => connection.current.commands, 'the second reconnect');
      assert.equal(counters.generation, 1, 'a Redis that came back may have restarted empty');
      assert.equal(await counters.get('c', { windowMs: 60_000 }), 0, 'it did: the counter is gone');
    } finally {
      await connection.close();
    }
  });

  it('a Redis that stops answering fails a command within the command timeout, then fails fast until it answers', async (t) => {
    if (!requireRedisServer(t)) return;
    const port = await freePort();
    const server = await start(port);
    const connection = new RedisConnection({ url: server.url, commandTimeoutMs: 500 });
    const counters = new RedisCounterStore({ connection, prefix: 'sy-test:stall:' });
    try {
      await connection.firstAttempt(5_000);
      assert.ok((await counters.consume([check])).ok);
      server.child.kill('SIGSTOP');
      const stalled = await failure(counters.consume([check]));
      assert.ok(stalled.ms < 3_000, `gave up after ${stalled.ms.toFixed(0)} ms`);
      await waitFor(() => !connection.current.commands, 'the stalled connection being torn down');
      const next = await failure(counters.consume([check]));
      assert.ok(next.ms < FAST_MS, `then refused in ${next.ms.toFixed(0)} ms`);
      server.child.kill('SIGCONT');
      await waitFor(() => connection.current.commands, 'the reconnect');
      assert.ok((await counters.consume([check])).ok);
    } finally {
      server.child.kill('SIGCONT');
      await connection.close();
    }
  });

  it('subscribes again after Redis comes back and resyncs each channel, since messages sent meanwhile are lost', async (t) => {
    if (!requireRedisServer(t)) return;
    const port = await freePort();
    const connection = new RedisConnection({ url: `redis://127.0.0.1:${port}` });
    const bus = new RedisInvalidationBus({ connection, channel: 'sy-test:resync' });
    const received: unknown[] = [];
    let resyncs = 0;
    const other = () => {
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      return client;
    };
    try {
      const started = performance.now();
      await bus.start((msg) => received.push(msg), () => (resyncs += 1));
      assert.ok(performance.now() - started < 5_000, 'start does not wait on a dead Redis');
      assert.equal(resyncs, 0);

      let server = await start(port);
      await waitFor(() => resyncs === 1, 'the resync after the first subscription');
      let publisher = other();
      await publisher.publish('sy-test:resync', JSON.stringify({ type: 'key', id: 'k1' }));
      await waitFor(() => received.length === 1, 'a message from another replica');
      publisher.disconnect();

      await server.kill();
      await waitFor(() => !connection.current.subscriptions && !connection.current.commands, 'the loss being noticed');
      await assert.rejects(bus.publish({ type: 'key', id: 'k2' }), /Redis at REDIS_URL .* is unreachable/);
      server = await start(port);
      await waitFor(() => resyncs === 2, 'a resync once subscribed again');
      publisher = other();
      await publisher.publish('sy-test:resync', JSON.stringify({ type: 'key', id: 'k3' }));
      await waitFor(() => received.length === 2, 'messages arriving again');
      publisher.disconnect();
      assert.deepEqual(received, [
        { type: 'key', id: 'k1' },
        { type: 'key', id: 'k3' },
      ]);
    } finally {
      await bus.close();
      await connection.close();
    }
  });

  it('never shows a password', () => {
    assert.equal(redactRedisUrl('redis://user:s3cret@redis.internal:6380/2'), 'redis://user:***@redis.internal:6380/2');
    assert.equal(redactRedisUrl('not a url'), 'an unparseable URL');
  });
});
