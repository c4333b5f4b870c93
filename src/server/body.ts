import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../api/errors.ts';

/** Reads the request body up to `limit` bytes; past it, answers 413 without reading the rest. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new GatewayError('request_too_large', `The request body exceeds the gateway's limit of ${limit} bytes (server.max_body_bytes).`, { code: 'request_too_large' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/** Reads a JSON body up to `limit` bytes: undefined when there is none, a 400 when it is not JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError('invalid_request', `The request body is not valid JSON (${(err as Error).message}).`, { code: 'invalid_json' });
  }
}
