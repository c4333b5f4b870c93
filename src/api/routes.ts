// Route tables a capability hands the server: admin routes under /admin/v1/ and client resources
// outside the inference pipeline (files, batches). The server implements them; capabilities only
// describe them, so they need not know the HTTP server.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Principal } from './principal.ts';

export type AdminMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface AdminRequest {
  /** Named groups of the route's pattern. */
  params: Record<string, string>;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface AdminResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface AdminRoute {
  method: AdminMethod;
  /** Matched against the path after /admin/v1 (e.g. /keys/abc); named groups become params. */
  pattern: RegExp;
  handler(req: AdminRequest): Promise<AdminResponse>;
}

export interface ClientCall {
  principal: Principal;
  params: Record<string, string>;
  query: Record<string, string>;
  /** The raw request, for handlers that stream the body (uploads): call acceptBody first. */
  request: IncomingMessage;
  /**
   * Before streaming the body: a 413 at once when its declared length is over `limit` (named by
   * `setting` in the message); otherwise sends the 100 Continue a client may be waiting for.
   */
  acceptBody(limit: number, setting: string): void;
  /** The body as JSON (400 when it is not). */
  json(): Promise<unknown>;
}

export type ClientReply = { status: number; body: unknown } | { status: number; stream: Readable; headers: Record<string, string> };

export interface ClientRoute {
  method: 'GET' | 'POST' | 'DELETE';
  /** Matched against the whole path; named groups become params. */
  pattern: RegExp;
  handler(call: ClientCall): Promise<ClientReply>;
}
