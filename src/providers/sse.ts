// Incremental Server-Sent Events parser: bytes in, events out, no buffering beyond one event.

export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * The parser as a plain object: the relay feeds it each body piece and gets that piece's complete
 * events back synchronously, so a piece holding many events (a burst) costs one async step, not
 * one per event.
 */
export class SseDecoder {
  private readonly decoder = new TextDecoder();
  /** The unfinished line carried over from the previous piece. */
  private rest = '';
  private event: string | null = null;
  private data: string[] = [];

  /** Complete events in this piece, in order (often none or one; many in a burst). */
  push(piece: Uint8Array | string, out: SseEvent[] = []): SseEvent[] {
    const text = this.rest + (typeof piece === 'string' ? piece : this.decoder.decode(piece, { stream: true }));
    // Scan by index and slice each line once, instead of re-slicing the remaining buffer per line.
    let start = 0;
    let newline: number;
    while ((newline = text.indexOf('\n', start)) !== -1) {
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.line(text, start, end, out);
      start = newline + 1;
    }
    this.rest = start === 0 ? text : text.slice(start);
    return out;
  }

  /** The stream ended: a last event not followed by a blank line still counts. */
  end(out: SseEvent[] = []): SseEvent[] {
    const tail = this.rest + this.decoder.decode();
    this.rest = '';
    if (tail.length > 0 && tail.startsWith('data:')) this.data.push(tail.slice(5).trimStart());
    if (this.data.length > 0) out.push({ event: this.event, data: this.data.join('\n') });
    this.event = null;
    this.data = [];
    return out;
  }

  private line(text: string, start: number, end: number, out: SseEvent[]): void {
    if (start === end) {
      if (this.data.length === 1) out.push({ event: this.event, data: this.data[0] });
      else if (this.data.length > 1) out.push({ event: this.event, data: this.data.join('\n') });
      this.event = null;
      if (this.data.length > 0) this.data = [];
      return;
    }
    if (text.charCodeAt(start) === 58 /* ':' comment */) return;
    const colon = text.indexOf(':', start);
    const fieldEnd = colon === -1 || colon > end ? end : colon;
    let valueStart = fieldEnd === end ? end : fieldEnd + 1;
    if (valueStart < end && text.charCodeAt(valueStart) === 32) valueStart += 1;
    const fieldLength = fieldEnd - start;
    if (fieldLength === 4 && text.startsWith('data', start)) this.data.push(text.slice(valueStart, end));
    else if (fieldLength === 5 && text.startsWith('event', start)) this.event = text.slice(valueStart, end);
  }
}

/** Splits an upstream body into SSE events as they arrive. */
export async function* parseSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new SseDecoder();
  for await (const piece of body) yield* decoder.push(piece);
  yield* decoder.end();
}

/** Encodes one SSE event; `event` is omitted for OpenAI-style streams. */
export function encodeSse(data: string, event?: string): string {
  return event ? `event: ${event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}
