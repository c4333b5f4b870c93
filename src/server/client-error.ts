// Requests Node's HTTP parser refuses before any handler sees them (a malformed request line, an
// unknown method, headers over the size limit, a request that took too long to arrive) are
// answered in the JSON error shape of the endpoint they were aimed at, as every other error is.

import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError } from '../api/errors.ts';
import { edgeForPath } from '../api/edges.ts';

interface ParserError extends Error {
  code?: string;
  /** What the parser had read of the request when it failed (Node sets it for parse errors). */
  rawPacket?: Buffer;
}

function errorFor(err: ParserError): GatewayError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new GatewayError('invalid_request', `The request line and headers are larger than the gateway accepts (${maxHeaderSize} bytes); send fewer or shorter headers.`, {
        status: 431,
        code: 'headers_too_large',
      });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new GatewayError(
        'invalid_request',
        'The request took too long to arrive: its headers within server.headers_timeout_ms, or the whole request within server.request_timeout_ms.',
        { status: 408, code: 'request_timeout' },
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new GatewayError('request_too_large', 'The chunk extensions of the request body are too large.', { code: 'request_too_large' });
    case 'HPE_INVALID_METHOD':
      return new GatewayError('invalid_request', 'Unknown HTTP method; this gateway serves GET, POST, PATCH, PUT, DELETE, HEAD and OPTIONS.', { code: 'invalid_method' });
    default:
      return new GatewayError('invalid_request', `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}: ${err.message}).`, { code: 'malformed_request' });
  }
}

/** The path of the request line, when the parser got that far, to pick the error shape. */
function pathOf(raw: Buffer | undefined): string {
  if (!raw) return '/';
  const line = raw.subarray(0, 512).toString('latin1');
  return /^[A-Z]+ (\/[^\s?]*)/.exec(line)?.[1] ?? '/';
}

/** The server's 'clientError' handler: a JSON answer with the right status, then the connection closes. */
export function answerClientError(err: ParserError, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // Nothing can be said on a connection the client reset, or in the middle of another response.
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const error = errorFor(err);
  const body = JSON.stringify(edgeForPath(pathOf(err.rawPacket)).renderError(error));
  const head = `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + body, () => socket.destroy());
}
