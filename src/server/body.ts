// Request bodies: read up to a limit, parsed as JSON at most once, refused early and politely.
// - A declared Content-Length over the limit is a 413 before a byte of the body is read; a client
//   that sent `Expect: 100-continue` gets it instead of the 100, and the connection closes.
// - A client that writes its whole body before reading (most HTTP libraries) would see its write
//   fail if the socket closed under it, never the 413; so after a 413 the rest of the body is read
//   and discarded for up to LINGER_MS, then the connection is cut if the body still has not ended.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../api/errors.ts';
import { parseJson } from '../api/json.ts';

/** Longest a refused body is read and discarded, so the client can finish writing and read its 413. */
export const LINGER_MS = 30_000;

const CONTINUE = Symbol('switchyard.pendingContinue');
const DISCARDING = Symbol('switchyard.discarding');
type AwaitingContinue = IncomingMessage & { [CONTINUE]?: ServerResponse };

/**
 * For the server's 'checkContinue' event: the 100 is sent once a body reader accepts the body.
 * Until then the answer closes the connection: a client still holding its body back leaves the
 * connection owing a body, so it cannot carry another request.
 */
export function awaitContinue(req: IncomingMessage, res: ServerResponse): void {
  (req as AwaitingContinue)[CONTINUE] = res;
  res.setHeader('connection', 'close');
}

function tooLarge(limit: number, setting: string): GatewayError {
  return new GatewayError('request_too_large', `The request body exceeds the gateway's limit of ${limit} bytes (${setting}).`, { code: 'request_too_large' });
}

/** Reads and throws away the rest of a refused body for a bounded time, then cuts the connection. */
export function discardBody(req: IncomingMessage): void {
  const marked = req as IncomingMessage & { [DISCARDING]?: true };
  if (req.complete || req.readableEnded || marked[DISCARDING]) return;
  marked[DISCARDING] = true;
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Checks the declared length against `limit` before anything is read: a 413 at once when it is
 * over (sent instead of 100 Continue to a client waiting for one); otherwise sends the 100 the
 * client may be waiting for. Call before reading a body by other means than readBody (uploads).
 */
export function acceptBody(req: IncomingMessage, limit: number, setting: string): void {
  const pending = (req as AwaitingContinue)[CONTINUE];
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    // A client waiting for the 100 sends nothing more; anyone else is already writing its body.
    if (!pending) discardBody(req);
    throw tooLarge(limit, setting);
  }
  if (pending) {
    (req as AwaitingContinue)[CONTINUE] = undefined;
    pending.removeHeader('connection');
    pending.writeContinue();
  }
}

/** Reads the request body up to `limit` bytes; past it, a 413 (the rest is discarded, see above). */
export function readBody(req: IncomingMessage, limit: number, setting = 'server.max_body_bytes'): Promise<Buffer> {
  acceptBody(req, limit, setting);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      settled = true;
      req.off('data', onData);
      discardBody(req);
      reject(tooLarge(limit, setting));
    };
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    // The client went away mid-body; nobody will read the answer, but the request must end cleanly.
    const incomplete = () => {
      if (settled) return;
      settled = true;
      reject(new GatewayError('invalid_request', 'The client closed the connection before the request body was complete.', { code: 'incomplete_body' }));
    };
    req.on('error', incomplete);
    req.on('close', incomplete);
  });
}

/** Reads a JSON body up to `limit` bytes: undefined when there is none, a 400 when it is not JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number, setting?: string): Promise<unknown> {
  const raw = await readBody(req, limit, setting);
  if (raw.length === 0) return undefined;
  return parseJson(raw);
}
