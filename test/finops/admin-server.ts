// A real HTTP server on 127.0.0.1 with the gateway's admin router and the FinOps route table
// behind a master key, over createFinops on a fresh SQLite store and in-process counters.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../../src/api/errors.ts';
import { createFinops, type CreateFinopsOptions, type Finops } from '../../src/finops/index.ts';
import { AdminRouter } from '../../src/server/admin-router.ts';
import { sendJson } from '../../src/server/respond.ts';
import { MemoryCounterStore } from '../../src/store/counters/memory.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { sqliteStore } from './support.ts';

export const MASTER_KEY = 'sk-finops-test-master';

export const quietLogger = { info: () => {}, warn: () => {}, error: () => {} };

export interface FinopsServer {
  url: string;
  finops: Finops;
  store: OpenedStore;
  close(): Promise<void>;
}

export async function startFinopsServer(config: CreateFinopsOptions['config'], now?: () => number): Promise<FinopsServer> {
  const store = await sqliteStore();
  const counters = new MemoryCounterStore({ now });
  const finops = await createFinops({ sql: store.sql, counters, config, logger: quietLogger, now });
  const router = new AdminRouter(async (headers) => {
    if (headers.authorization !== `Bearer ${MASTER_KEY}`) throw new GatewayError('authentication', 'Invalid API key.', { code: 'invalid_api_key' });
  });
  router.mount(finops.routes);
  const server = createServer((req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    void router.handle(req, res, path, q === -1 ? '' : raw.slice(q + 1)).then((handled) => {
      if (!handled) sendJson(res, 404, { error: { message: 'no such endpoint', type: 'not_found_error', param: null, code: 'unknown_endpoint' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    finops,
    store,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await finops.close();
      await counters.close();
      await store.close();
    },
  };
}

export async function call(base: string, method: string, path: string, body?: unknown, key: string | null = MASTER_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/admin/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
