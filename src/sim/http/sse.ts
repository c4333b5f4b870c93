// Server-sent events the way vLLM writes them: `data: <json>\n\n` per event, `data: [DONE]` last.
// Also where the drop-mid-stream fault strikes.

import type { ServerResponse } from 'node:http';

export class SseStream {
  private events = 0;

  /**
   * @param dropAfter destroy the connection after this many events (a fault), or -1 for never
   * @param onDrop called when the connection is dropped on purpose
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly dropAfter: number,
    private readonly onDrop: () => void,
  ) {}

  /** Sends the status and headers right away, as vLLM's streaming responses do. */
  open(): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    this.res.flushHeaders();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  send(json: string): void {
    if (this.closed) return;
    this.res.write(`data: ${json}\n\n`);
    if (++this.events === this.dropAfter) {
      this.res.destroy();
      this.onDrop();
    }
  }

  end(): void {
    if (this.closed) return;
    this.res.end('data: [DONE]\n\n');
  }
}
