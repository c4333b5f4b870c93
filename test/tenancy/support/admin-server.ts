// A real HTTP server with the gateway's admin router and the tenancy route table mounted, on
// 127.0.0.1, for the admin API and CLI tests. Extra routes (e.g. a budgets stub) can be mounted.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../../../src/api/errors.ts';
import type { AdminRoute } from '../../../src/api/routes.ts';
import { AdminRouter } from '../../../src/server/admin-router.ts';
import { sendJson } from '../../../src/server/respond.ts';
import { MemoryCounterStore } from '../../../src/store/counters/memory.ts';
import { createTenancy, type Tenancy } from '../../../src/tenancy/index.ts';
import { sqliteTenancy } from './fixtures.ts';

export const ADMIN_MASTER_KEY = 'sk-admin-test-master-key';

/** `now` is the one clock of the server's keys service and admin API (a test's CLI passes the same one). */
export async function startAdminServer(extraRoutes: AdminRoute[] = [], now?: () => number): Promise<{ url: string; tenancy: Tenancy; close: () => Promise<void> }> {
  const { opened } = await sqliteTenancy();
  const counters = new MemoryCounterStore();
  const tenancy = await createTenancy({ sql: opened.sql, counters, masterKey: ADMIN_MASTER_KEY, now });
  const router = new AdminRouter(async (headers) => {
    if (headers.authorization !== `Bearer ${ADMIN_MASTER_KEY}`) throw new GatewayError('authentication', 'Invalid API key.', { code: 'invalid_api_key' });
  });
  router.mount(tenancy.adminRoutes);
  router.mount(extraRoutes);
  const server = createServer((req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    void router.handle(req, res, path, q === -1 ? '' : raw.slice(q + 1)).then((handled) => {
      if (!handled) sendJson(res, 404, { error: { message: `No such endpoint: ${req.method} ${path}`, type: 'not_found_error', param: null, code: 'unknown_endpoint' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tenancy,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tenancy.close();
      await counters.close();
      await opened.close();
    },
  };
}
