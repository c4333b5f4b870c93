// Every 500 is logged with its cause and the request id the client got, on each router that can
// answer one (the admin API, the client resources, and sendError itself), over real HTTP.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminRouter } from '../../src/server/admin-router.ts';
import { ClientRouter } from '../../src/server/client-router.ts';
import { ANONYMOUS } from '../../src/tenancy/principal.ts';

interface Logged {
  cause: unknown;
  requestId: string;
}

describe('internal errors', () => {
  const logged: Logged[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    const log = (cause: unknown, requestId: string) => logged.push({ cause, requestId });
    const admin = new AdminRouter(async () => {}, log);
    admin.mount([
      {
        method: 'GET',
        pattern: /^\/broken$/,
        handler: async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'url')");
        },
      },
    ]);
    const client = new ClientRouter(async () => ANONYMOUS, 1024, log);
    client.mount('/v1/things', [
      {
        method: 'POST',
        pattern: /^\/v1\/things$/,
        handler: async () => {
          throw new RangeError('Maximum call stack size exceeded');
        },
      },
    ]);
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path.startsWith('/admin/v1/')) void admin.handle(req, res, path, '');
      else void client.handle(req, res, path, '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('logs the cause with the request id the 500 carries, and tells the client nothing internal', async () => {
    const admin = await fetch(`${url}/admin/v1/broken`, { headers: { 'x-request-id': 'trace-me-42' } });
    assert.equal(admin.status, 500);
    assert.equal(admin.headers.get('x-request-id'), 'trace-me-42');
    const body = (await admin.json()) as { error: { message: string; type: string } };
    assert.equal(body.error.type, 'api_error');
    assert.doesNotMatch(body.error.message, /url|undefined/);

    const client = await fetch(`${url}/v1/things`, { method: 'POST' });
    assert.equal(client.status, 500);
    const generated = client.headers.get('x-request-id');
    assert.match(generated ?? '', /^[0-9a-f-]{36}$/);

    assert.equal(logged.length, 2);
    assert.equal(logged[0].requestId, 'trace-me-42');
    assert.ok(logged[0].cause instanceof TypeError);
    assert.equal(logged[1].requestId, generated);
    assert.ok(logged[1].cause instanceof RangeError);
  });

  it('logs nothing for errors that are the client’s (4xx)', async () => {
    const before = logged.length;
    const wrongMethod = await fetch(`${url}/admin/v1/broken`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(logged.length, before);
  });
});
