// The OpenAI Files and Batches endpoints, as a route table the gateway mounts.

import { create as contentDisposition } from 'content-disposition';
import { GatewayError } from '../api/errors.ts';
import type { ClientReply, ClientRoute } from '../api/routes.ts';
import type { BatchesService } from './batches.ts';
import type { FilesService } from './files/service.ts';
import { batchObject, fileObject } from './wire.ts';

const ID = '[A-Za-z0-9_-]+';

function limitOf(query: Record<string, string>, fallback: number, max: number): number {
  if (query.limit === undefined) return fallback;
  const n = Number(query.limit);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new GatewayError('invalid_request', `limit must be an integer from 1 to ${max}.`, { code: 'invalid_limit', param: 'limit' });
  return n;
}

function page<T extends { id: string }>(items: T[], limit: number, render: (x: T) => unknown): ClientReply {
  const shown = items.slice(0, limit);
  return {
    status: 200,
    body: { object: 'list', data: shown.map(render), first_id: shown[0]?.id ?? null, last_id: shown.at(-1)?.id ?? null, has_more: items.length > limit },
  };
}

export function fileRoutes(files: FilesService): ClientRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/v1\/files\/?$/,
      handler: async ({ request, principal, acceptBody }) => {
        acceptBody(files.maxUploadBytes, 'batch.max_file_bytes');
        return { status: 200, body: fileObject(await files.upload(request, principal)) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/files\/?$/,
      handler: async ({ principal, query }) => {
        const limit = limitOf(query, 10_000, 10_000);
        const order = query.order === 'asc' ? 'asc' : 'desc';
        if (query.order !== undefined && query.order !== 'asc' && query.order !== 'desc') {
          throw new GatewayError('invalid_request', 'order must be "asc" or "desc".', { code: 'invalid_order', param: 'order' });
        }
        const list = await files.list(principal, { purpose: query.purpose, after: query.after, limit: limit + 1, order });
        return page(list, limit, fileObject);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/files/(?<id>${ID})/?$`),
      handler: async ({ principal, params }) => ({ status: 200, body: fileObject(await files.get(params.id, principal)) }),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/files/(?<id>${ID})/?$`),
      handler: async ({ principal, params }) => {
        await files.remove(params.id, principal);
        return { status: 200, body: { id: params.id, object: 'file', deleted: true } };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/files/(?<id>${ID})/content/?$`),
      handler: async ({ principal, params }) => {
        const { file, stream } = await files.content(params.id, principal);
        return {
          status: 200,
          stream,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(file.bytes),
            // Any filename, in any script: an ASCII fallback plus the exact name as RFC 8187 UTF-8
            // (a lone surrogate, which UTF-8 cannot encode, becomes U+FFFD).
            'content-disposition': contentDisposition(file.filename.replace(/\p{Cs}/gu, '\ufffd')),
          },
        };
      },
    },
  ];
}

export function batchRoutes(batches: BatchesService): ClientRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/v1\/batches\/?$/,
      handler: async ({ principal, json }) => ({ status: 200, body: batchObject(await batches.create(await json(), principal)) }),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/batches\/?$/,
      handler: async ({ principal, query }) => {
        const limit = limitOf(query, 20, 100);
        return page(await batches.list(principal, query.after, limit + 1), limit, batchObject);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/batches/(?<id>${ID})/?$`),
      handler: async ({ principal, params }) => ({ status: 200, body: batchObject(await batches.get(params.id, principal)) }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/batches/(?<id>${ID})/cancel/?$`),
      handler: async ({ principal, params }) => ({ status: 200, body: batchObject(await batches.cancel(params.id, principal)) }),
    },
  ];
}
