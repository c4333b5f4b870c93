// Watches one SSE response as it arrives: counts content chunks, and for chunks stamped by the
// stub (their content is the wall-clock ms they were written) how long each took to arrive.
// Also the longest silence between content chunks, which is how a stalled stream shows.

const CONTENT = '"content":"';

/** Wall-clock ms with sub-ms precision, comparable with the stub's stamps (same machine). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export class StreamProbe {
  chunks = 0;
  done = false;
  /** Longest gap between two content chunks, ms. */
  maxGapMs = 0;
  firstChunkAt: number | undefined;
  private lastChunkAt: number | undefined;
  private carry = '';

  /** @param delays receives each stamped chunk's relay delay (arrival minus stamp), ms */
  constructor(private readonly delays: number[] | undefined) {}

  onData(data: Buffer): void {
    const now = wallClockMs();
    const text = this.carry + data.toString('utf8');
    let from = 0;
    for (;;) {
      const end = text.indexOf('\n\n', from);
      if (end === -1) break;
      this.onEvent(text.slice(from, end), now);
      from = end + 2;
    }
    this.carry = from === 0 ? text : text.slice(from);
  }

  private onEvent(event: string, now: number): void {
    if (event.includes('[DONE]')) {
      this.done = true;
      return;
    }
    const at = event.indexOf(CONTENT);
    if (at === -1) return;
    const start = at + CONTENT.length;
    const end = event.indexOf('"', start);
    if (end === start) return; // the empty first chunk that carries the role
    this.chunks += 1;
    if (this.lastChunkAt !== undefined) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastChunkAt);
    else this.firstChunkAt = now;
    this.lastChunkAt = now;
    if (this.delays) {
      const stamp = Number(event.slice(start, end));
      if (stamp > 1e12) this.delays.push(now - stamp);
    }
  }
}
