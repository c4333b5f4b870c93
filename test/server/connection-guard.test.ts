// The connection caps over real sockets: a full server makes room by closing the connection that
// has waited longest without a request, refuses with a JSON 503 only when every connection is busy,
// applies the same to one client address, and closes connections that never send a request.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { ConnectionGuard, defaultMaxConnections, type ConnectionLimits } from '../../src/server/connection-guard.ts';

interface Harness {
  url: string;
  port: number;
  guard: ConnectionGuard;
  /** Requests to /hold wait until this is called. */
  release(): void;
  /** Requests to /hold the server has received and not yet answered. */
  held(): number;
  close(): Promise<void>;
}

/** A real HTTP server wired to the guard the way the gateway wires it. */
async function serve(limits: ConnectionLimits): Promise<Harness> {
  const guard = new ConnectionGuard(limits);
  let releaseHeld: () => void = () => {};
  let held = new Promise<void>((resolve) => (releaseHeld = resolve));
  let holding = 0;
  const server: Server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000 }, (req, res) => {
    const socket = req.socket;
    if (!guard.requestStarted(socket)) {
      res.destroy();
      return;
    }
    res.on('close', () => guard.requestEnded(socket));
    if (req.url === '/hold') {
      holding += 1;
      void held.then(() => {
        holding -= 1;
        res.end('released');
      });
    }
    else res.end('ok');
  });
  server.on('connection', guard.accept);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    guard,
    release: () => {
      releaseHeld();
      held = new Promise<void>((resolve) => (releaseHeld = resolve));
    },
    held: () => holding,
    close: async () => {
      releaseHeld();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => {}); // the server may reset it: that is what is being tested
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** One request on a fresh connection, read raw: the status and body, whatever the framing. */
async function request(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const socket = await opened(port);
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  await closed(socket);
  return { status: Number(text.split(' ')[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('connection guard', () => {
  let h: Harness;
  const sockets: Socket[] = [];
  before(async () => {
    h = await serve({ maxConnections: 3, firstRequestTimeoutMs: 60_000 });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await h.close();
  });

  it('a full server closes the longest-waiting idle connection to let a request in', async () => {
    const silent = [];
    for (let i = 0; i < 3; i++) silent.push(await opened(h.port));
    sockets.push(...silent);
    // Partial headers count as waiting too: the slowloris case.
    silent[1].write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await until(() => h.guard.size === 3, 'three open connections');
    const firstClosed = closed(silent[0]);
    const answer = await request(h.port);
    assert.equal(answer.status, 200);
    await firstClosed;
    assert.ok(!silent[1].destroyed && !silent[2].destroyed, 'only the longest-waiting one was closed');
    const later = await opened(h.port);
    sockets.push(later);
    await until(() => h.guard.size === 3, 'full again');
    const slowClosed = closed(silent[1]);
    assert.equal((await request(h.port)).status, 200);
    await slowClosed; // the one sending its headers slowly had waited longest now
    assert.ok(!silent[2].destroyed && !later.destroyed);
    for (const s of [...silent, later]) s.destroy();
    await until(() => h.guard.size === 0, 'all closed');
  });

  it('refuses with a JSON 503 only when every connection is busy with a request', async () => {
    const busy = [request(h.port, '/hold'), request(h.port, '/hold'), request(h.port, '/hold')];
    // Busy means the server has the request, not merely the connection.
    await until(() => h.held() === 3, 'three requests held');
    const refused = await request(h.port);
    assert.equal(refused.status, 503);
    const body = JSON.parse(refused.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'too_many_connections');
    assert.match(body.error.message, /server\.max_connections/);
    h.release();
    for (const r of await Promise.all(busy)) assert.equal(r.status, 200);
    assert.equal((await request(h.port)).status, 200);
  });
});

describe('connection guard: per client address', () => {
  let h: Harness;
  before(async () => {
    h = await serve({ maxConnections: 100, maxPerClient: 2, firstRequestTimeoutMs: 60_000 });
  });
  after(() => h.close());

  it('applies the cap to one address: its own longest waiter makes room, all busy means a 503', async () => {
    const a = await opened(h.port);
    const b = await opened(h.port);
    await until(() => h.guard.size === 2, 'two open');
    const aClosed = closed(a);
    assert.equal((await request(h.port)).status, 200);
    await aClosed;
    b.destroy();
    await until(() => h.guard.size === 0, 'all closed');

    const busy = [request(h.port, '/hold'), request(h.port, '/hold')];
    await until(() => h.guard.size === 2, 'two busy');
    const refused = await request(h.port);
    assert.equal(refused.status, 503);
    assert.match(refused.body, /server\.max_connections_per_client/);
    h.release();
    await Promise.all(busy);
  });
});

describe('connection guard: first request timeout', () => {
  let h: Harness;
  before(async () => {
    h = await serve({ maxConnections: 100, firstRequestTimeoutMs: 300 });
  });
  after(() => h.close());

  it('closes a connection that sends nothing, and leaves one that made a request alone', async () => {
    const silent = await opened(h.port);
    const started = Date.now();
    await closed(silent);
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 5_000, `closed after ${waited} ms`);

    const active = await opened(h.port);
    active.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.ok(!active.destroyed, 'kept: it made a request');
    active.destroy();
  });
});

describe('defaultMaxConnections', () => {
  it('is half the open-file limit, at most 16,384, and 4,096 when unknown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-limits-'));
    const limits = (soft: string) => {
      const file = join(dir, `limits-${soft}`);
      writeFileSync(file, `Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            ${soft}                 1048576              files\n`);
      return file;
    };
    assert.equal(defaultMaxConnections(limits('1024')), 512);
    assert.equal(defaultMaxConnections(limits('1048576')), 16_384);
    assert.equal(defaultMaxConnections(limits('unlimited')), 16_384);
    assert.equal(defaultMaxConnections(join(dir, 'missing')), 4_096);
  });
});
