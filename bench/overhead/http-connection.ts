// One keep-alive HTTP/1.1 client connection over a raw socket, for the overhead benchmark's
// driver. A general client (undici, node:http) costs the driver more CPU per request than the
// proxies it measures; this one writes prebuilt request bytes and parses only what it must:
// the status line, Content-Length or chunked framing, and Connection: close.

import { connect, type Socket } from 'node:net';

export interface ResponseHandlers {
  /** Body bytes as they arrive (chunked framing already removed). */
  onData?(data: Buffer): void;
  onEnd(status: number): void;
  onError(err: Error): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

type BodyState = { kind: 'length'; remaining: number } | { kind: 'chunked'; remaining: number; afterChunk: boolean };

export class HttpConnection {
  private readonly socket: Socket;
  private pending: Buffer | undefined;
  private handlers: ResponseHandlers | undefined;
  private status = 0;
  private body: BodyState | undefined;
  private closeAfter = false;
  /** False once the socket closed or the server asked to close; a new connection is needed. */
  usable = true;

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new Error(err.code ?? err.message)));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  get busy(): boolean {
    return this.handlers !== undefined;
  }

  send(request: Buffer, handlers: ResponseHandlers): void {
    this.handlers = handlers;
    this.status = 0;
    this.body = undefined;
    this.closeAfter = false;
    this.socket.write(request);
  }

  close(): void {
    this.usable = false;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.usable = false;
    const handlers = this.handlers;
    this.handlers = undefined;
    handlers?.onError(err);
  }

  private onData(data: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = undefined;
    while (buf.length > 0 && this.handlers) {
      if (!this.body) {
        const end = buf.indexOf(HEADER_END);
        if (end === -1) break;
        this.readHead(buf.toString('latin1', 0, end));
        buf = buf.subarray(end + 4);
        if (this.body!.kind === 'length' && this.body!.remaining === 0) this.finish();
        continue;
      }
      const consumed = this.readBody(buf);
      if (consumed < 0) break;
      buf = buf.subarray(consumed);
    }
    if (buf.length > 0) this.pending = Buffer.from(buf);
  }

  private readHead(head: string): void {
    this.status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (length) this.body = { kind: 'length', remaining: Number(length[1]) };
    else if (lower.includes('\r\ntransfer-encoding: chunked')) this.body = { kind: 'chunked', remaining: -1, afterChunk: false };
    else this.body = { kind: 'length', remaining: 0 };
    this.closeAfter = lower.includes('\r\nconnection: close');
  }

  /** Consumes body bytes from buf; returns how many, or -1 when more bytes are needed. */
  private readBody(buf: Buffer): number {
    const body = this.body!;
    if (body.kind === 'length') {
      const take = Math.min(body.remaining, buf.length);
      if (take > 0) this.handlers!.onData?.(buf.subarray(0, take));
      body.remaining -= take;
      if (body.remaining === 0) this.finish();
      return take;
    }
    {
      if (body.afterChunk) {
        if (buf.length < 2) return -1;
        body.afterChunk = false;
        return 2; // the CRLF closing a chunk's data
      }
      if (body.remaining <= 0) {
        const eol = buf.indexOf(CRLF);
        if (eol === -1) return -1;
        const size = parseInt(buf.toString('latin1', 0, eol), 16);
        if (size === 0) {
          // Last chunk: no trailers are sent by any contender, so the final CRLF follows.
          if (buf.length < eol + 4) return -1;
          this.finish();
          return eol + 4;
        }
        body.remaining = size;
        return eol + 2;
      }
      const take = Math.min(body.remaining, buf.length);
      this.handlers!.onData?.(buf.subarray(0, take));
      body.remaining -= take;
      if (body.remaining === 0) body.afterChunk = true;
      return take;
    }
  }

  private finish(): void {
    const handlers = this.handlers!;
    this.handlers = undefined;
    this.body = undefined;
    if (this.closeAfter) this.close();
    handlers.onEnd(this.status);
  }
}
