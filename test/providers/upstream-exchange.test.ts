import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import { UpstreamExchange, type BodySink } from '../../src/providers/upstream-exchange.ts';

const call = (path = '/v1/chat/completions') => ({
  path,
  method: 'POST' as const,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A real upstream on 127.0.0.1 and a pool to it, torn down however the test ends. */
async function withUpstream(handler: Handler, test: (pool: Pool, seen: { connections: number; requests: string[] }) => Promise<void>): Promise<void> {
  const seen = { connections: 0, requests: [] as string[] };
  const server = createServer((req, res) => {
    seen.requests.push(req.url ?? '');
    handler(req, res);
  });
  server.on('connection', () => (seen.connections += 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    await within(test(pool, seen), 10_000, 'the test');
  } finally {
    await pool.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sink that records what the exchange does to it; `accept` decides each push's answer. */
function recorder(accept: (piece: Buffer) => boolean = () => true) {
  const settled = deferred();
  const pushed = new EventEmitter();
  const rec = {
    pieces: [] as Buffer[],
    ends: 0,
    fails: [] as unknown[],
    settled: settled.promise,
    text: () => Buffer.concat(rec.pieces).toString('utf8'),
    /** Resolves once the bytes received so far end with `tail`. */
    async received(tail: string) {
      while (!rec.text().endsWith(tail)) await once(pushed, 'push');
    },
    sink: {
      push(piece: Buffer) {
        rec.pieces.push(piece);
        pushed.emit('push');
        return accept(piece);
      },
      end() {
        rec.ends += 1;
        settled.resolve();
      },
      fail(error: unknown) {
        rec.fails.push(error);
        settled.resolve();
      },
    } satisfies BodySink,
  };
  return rec;
}

describe('UpstreamExchange (one undici dispatch: a status, then a collected or piped body)', () => {
  it('sends the request and collects a body written in several pieces', async () => {
    let received = '';
    await withUpstream(
      (req, res) => {
        req.setEncoding('utf8');
        req.on('data', (s: string) => (received += s));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"id":"c1",');
          setTimeout(() => {
            res.write('"object":"chat.completion",');
            setTimeout(() => res.end('"choices":[]}'), 10);
          }, 10);
        });
      },
      async (pool, seen) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        assert.equal(exchange.statusCode, 200);
        assert.deepEqual(JSON.parse((await exchange.body()).toString('utf8')), { id: 'c1', object: 'chat.completion', choices: [] });
        assert.deepEqual(seen.requests, ['/v1/chat/completions']);
        assert.equal(received, call().body);
      },
    );
  });

  it('speaks the controller protocol of undici itself: an interceptor is handed the exchange, not a wrapper of it', async () => {
    await withUpstream(
      (_req, res) => res.end('ok'),
      async (pool) => {
        const handed: Dispatcher.DispatchHandler[] = [];
        const intercepted = pool.compose((dispatch) => (options, handler) => {
          handed.push(handler);
          return dispatch(options, handler);
        });
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(intercepted, call()), 200);
        assert.equal((await exchange.body()).toString('utf8'), 'ok');
        assert.equal(handed.length, 1);
        assert.equal(handed[0], exchange, 'undici wrapped the exchange in an adapter');
      },
    );
  });

  it('skips an informational response and reports the final one', async () => {
    await withUpstream(
      (_req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        res.writeHead(201, { 'x-final': 'yes' });
        res.end('made');
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 201);
        assert.equal(exchange.headers()['x-final'], 'yes');
        assert.equal(exchange.headers().link, undefined);
        assert.equal((await exchange.body()).toString('utf8'), 'made');
      },
    );
  });

  it('exposes an error status, its headers (repeated ones as a list) and its body', async () => {
    const error = { error: { type: 'rate_limit', message: 'slow down' } };
    await withUpstream(
      (_req, res) => {
        res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json', 'x-trace': ['a', 'b'] });
        res.end(JSON.stringify(error));
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 429);
        assert.equal(exchange.statusCode, 429);
        const headers = exchange.headers();
        assert.equal(headers['retry-after'], '3');
        assert.equal(headers['content-type'], 'application/json');
        assert.deepEqual(headers['x-trace'], ['a', 'b']);
        assert.deepEqual(JSON.parse((await exchange.body()).toString('utf8')), error);
      },
    );
  });

  it('pipes pieces to a sink in order as they arrive and ends it once', async () => {
    const rec = recorder();
    const pieces = ['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n', 'data: 4\n\n'];
    await withUpstream(
      async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // Lockstep: each piece is written only once the sink holds the previous one, so the
        // pieces can only have reached it one by one, as they arrived.
        for (const piece of pieces) {
          res.write(piece);
          await within(rec.received(piece), 2000, `the sink receiving ${JSON.stringify(piece)}`);
          await delay(5);
        }
        res.end();
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        exchange.pipeTo(rec.sink);
        await within(rec.settled, 3000, 'the end of the body');
        await delay(20);
        assert.equal(rec.text(), pieces.join(''));
        assert.equal(rec.ends, 1);
        assert.deepEqual(rec.fails, []);
      },
    );
  });

  it('replays the pieces received before the sink came first, then streams the rest', async () => {
    const rec = recorder();
    const late = deferred();
    await withUpstream(
      async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('early-0;');
        res.write('early-1;');
        await late.promise;
        res.end('late;');
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        // Time for the early pieces to reach the exchange, which holds them until a sink comes.
        await delay(50);
        exchange.pipeTo(rec.sink);
        assert.equal(rec.text(), 'early-0;early-1;');
        assert.equal(rec.ends, 0);
        late.resolve();
        await within(rec.settled, 3000, 'the end of the body');
        assert.equal(rec.text(), 'early-0;early-1;late;');
        assert.equal(rec.ends, 1);
        assert.deepEqual(rec.fails, []);
      },
    );
  });

  it('replays a body already complete when the sink comes, then ends it', async () => {
    const rec = recorder();
    await withUpstream(
      (_req, res) => {
        res.writeHead(200);
        res.write('a;');
        res.end('b;');
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        await delay(50);
        exchange.pipeTo(rec.sink);
        assert.equal(rec.text(), 'a;b;');
        assert.equal(rec.ends, 1);
        assert.deepEqual(rec.fails, []);
      },
    );
  });

  const PIECE = 16 * 1024;
  const PIECES = 200;
  const large = Buffer.concat(Array.from({ length: PIECES }, (_, i) => Buffer.alloc(PIECE, i % 251)));
  const writeLarge: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < PIECES; i++) res.write(large.subarray(i * PIECE, (i + 1) * PIECE));
    res.end();
  };

  it('holds the transfer while the sink refuses pieces and finishes it after resume()', async () => {
    await withUpstream(writeLarge, async (pool) => {
      let live = false;
      let state = 'filling' as 'filling' | 'full' | 'drained';
      const refused = deferred();
      // Like the real sinks: once full, every push is refused until the reader drains it.
      const rec = recorder(() => {
        if (live && state === 'filling' && rec.pieces.length > 3) {
          state = 'full';
          refused.resolve();
        }
        return state !== 'full';
      });
      const exchange = new UpstreamExchange();
      assert.equal(await exchange.start(pool, call()), 200);
      exchange.pipeTo(rec.sink);
      live = true;
      await within(refused.promise, 3000, 'a refused push');
      const held = rec.pieces.length;
      await delay(100);
      assert.equal(rec.pieces.length, held, 'pieces pushed while the sink refused them');
      assert.equal(rec.ends, 0);
      state = 'drained';
      exchange.resume();
      await within(rec.settled, 5000, 'the end of the body');
      assert.equal(rec.ends, 1);
      assert.deepEqual(rec.fails, []);
      assert.ok(Buffer.concat(rec.pieces).equals(large), 'the body arrived whole and in order');
    });
  });

  it('holds the transfer when the sink refuses a piece replayed to it', async () => {
    await withUpstream(writeLarge, async (pool) => {
      let state = 'filling' as 'filling' | 'full' | 'drained';
      const rec = recorder(() => {
        if (state === 'filling') state = 'full';
        return state !== 'full';
      });
      const exchange = new UpstreamExchange();
      assert.equal(await exchange.start(pool, call()), 200);
      exchange.pipeTo(rec.sink);
      const held = rec.pieces.length;
      assert.ok(held > 0 && state === 'full', 'no piece was replayed, nothing to test');
      await delay(100);
      assert.equal(rec.pieces.length, held, 'pieces pushed while the sink refused them');
      state = 'drained';
      exchange.resume();
      await within(rec.settled, 5000, 'the end of the body');
      assert.equal(rec.ends, 1);
      assert.ok(Buffer.concat(rec.pieces).equals(large), 'the body arrived whole and in order');
    });
  });

  it('cancel() before the headers rejects start() at once, keeps the reason and aborts the connection', async () => {
    const arrived = deferred();
    const socketClosed = deferred();
    await withUpstream(
      (req) => {
        req.resume();
        req.socket.once('close', () => socketClosed.resolve());
        arrived.resolve();
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        const started = exchange.start(pool, call());
        started.catch(() => {});
        await within(arrived.promise, 2000, 'the request reaching the upstream');
        const reason = { timeout: 'first_token', ms: 10 };
        exchange.cancel(reason);
        exchange.cancel({ timeout: 'total', ms: 20 });
        await assert.rejects(within(started, 200, 'start() settling'), { name: 'ExchangeCancelled' });
        assert.equal(exchange.reason, reason);
        assert.equal(exchange.statusCode, 0);
        await within(socketClosed.promise, 2000, 'the upstream seeing its connection close');
      },
    );
  });

  it('cancel() before the connection exists never sends the request', async () => {
    await withUpstream(
      (_req, res) => res.end('ok'),
      async (pool, seen) => {
        const exchange = new UpstreamExchange();
        const started = exchange.start(pool, call('/cancelled'));
        started.catch(() => {});
        exchange.cancel('client left');
        await assert.rejects(started, { name: 'ExchangeCancelled' });
        assert.equal(exchange.reason, 'client left');
        const next = new UpstreamExchange();
        assert.equal(await next.start(pool, call('/next')), 200);
        assert.equal((await next.body()).toString('utf8'), 'ok');
        assert.deepEqual(seen.requests, ['/next']);
      },
    );
  });

  it('close() during a streamed body fails the sink once and drops the connection', async () => {
    const socketClosed = deferred();
    await withUpstream(
      (req, res) => {
        req.socket.once('close', () => socketClosed.resolve());
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const ticker = setInterval(() => res.write('data: tick\n\n'), 10);
        res.once('close', () => clearInterval(ticker));
      },
      async (pool) => {
        const rec = recorder();
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        exchange.pipeTo(rec.sink);
        await within(rec.received('tick\n\n'), 2000, 'a first piece');
        exchange.close();
        assert.equal(rec.fails.length, 1);
        assert.equal((rec.fails[0] as Error).name, 'ExchangeCancelled');
        await within(socketClosed.promise, 2000, 'the upstream seeing its connection close');
        await delay(30);
        assert.equal(rec.fails.length, 1);
        assert.equal(rec.ends, 0);
        assert.equal(exchange.reason, undefined);
      },
    );
  });

  it('close() after a complete body does nothing and the connection serves the next call', async () => {
    await withUpstream(
      (_req, res) => {
        res.write('one;');
        res.end('two;');
      },
      async (pool, seen) => {
        const rec = recorder();
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call('/first')), 200);
        exchange.pipeTo(rec.sink);
        await within(rec.settled, 2000, 'the end of the body');
        exchange.close();
        exchange.cancel('too late');
        assert.equal(rec.ends, 1);
        assert.deepEqual(rec.fails, []);
        assert.equal(exchange.reason, undefined);
        // undici hands a finished connection back to the pool only after a full turn of the event loop.
        await delay(10);

        const collected = new UpstreamExchange();
        assert.equal(await collected.start(pool, call('/second')), 200);
        assert.equal((await collected.body()).toString('utf8'), 'one;two;');
        collected.close();
        await delay(10);

        const next = new UpstreamExchange();
        assert.equal(await next.start(pool, call('/third')), 200);
        assert.equal((await next.body()).toString('utf8'), 'one;two;');
        assert.deepEqual(seen.requests, ['/first', '/second', '/third']);
        assert.equal(seen.connections, 1, 'a connection was dropped');
      },
    );
  });

  it('fails the sink, without ending it, when the connection is lost mid-body', async () => {
    const rec = recorder();
    await withUpstream(
      async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: partial\n\n');
        await within(rec.received('partial\n\n'), 2000, 'the first piece');
        res.socket?.destroy();
      },
      async (pool) => {
        const exchange = new UpstreamExchange();
        assert.equal(await exchange.start(pool, call()), 200);
        exchange.pipeTo(rec.sink);
        await within(rec.settled, 2000, 'the sink settling');
        await delay(20);
        assert.equal(rec.text(), 'data: partial\n\n');
        assert.equal(rec.ends, 0);
        assert.equal(rec.fails.length, 1);
        assert.ok(rec.fails[0] instanceof Error);
        assert.notEqual((rec.fails[0] as Error).name, 'ExchangeCancelled');
        await assert.rejects(exchange.body());
      },
    );
  });
});
