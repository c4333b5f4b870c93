// Writes usage records to the ledger off the request path.
//
// record() is synchronous and O(1): it appends to a bounded ring buffer and returns. A timer
// flushes the buffer every flushIntervalMs (default 200 ms, as in the config), and a full batch triggers a flush at
// once, each flush one transaction of multi-row INSERTs. Guarantees:
//   - a request never waits for the database;
//   - a clean shutdown (close()) writes everything recorded before it;
//   - a crash loses at most what was recorded since the last successful flush (about one
//     flush interval), plus whatever a database outage had queued;
//   - memory is bounded: when the queue is full the OLDEST records are dropped and counted
//     (stats().dropped), because the newest records matter most for budgets and alerts.
// A failed write keeps its records at the front of the queue and is retried on the next tick.

import type { UsageLedger, UsageRecord } from './ports.ts';
import { RingBuffer } from './ring-buffer.ts';

export interface RecorderOptions {
  flushIntervalMs?: number;
  maxQueue?: number;
  batchSize?: number;
  logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Called with the number of records dropped (queue full, or recorded after close). */
  onDrop?: (count: number) => void;
}

export interface RecorderStats {
  queued: number;
  written: number;
  dropped: number;
  failedFlushes: number;
}

export class UsageRecorder {
  private readonly queue: RingBuffer<UsageRecord>;
  private readonly batchSize: number;
  private readonly timer: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private kickScheduled = false;
  private closed = false;
  private written = 0;
  private dropped = 0;
  private failedFlushes = 0;

  constructor(
    private readonly ledger: UsageLedger,
    private readonly options: RecorderOptions = {},
  ) {
    this.queue = new RingBuffer(options.maxQueue ?? 50_000);
    this.batchSize = options.batchSize ?? 500;
    this.timer = setInterval(() => this.flushQuietly(), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  /** Queues one record; never blocks and never throws. */
  record(r: UsageRecord): void {
    if (this.closed) {
      this.drop(1);
      return;
    }
    if (this.queue.push(r) !== undefined) this.drop(1);
    if (this.queue.length >= this.batchSize && !this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        this.flushQuietly();
      });
    }
  }

  /** Writes everything queued so far (and anything queued meanwhile); rejects when a write fails. */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.drain());
    this.chain = run.catch(() => {});
    return run;
  }

  /** Stops the timer and writes what is left. Records arriving later are dropped and counted. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    clearInterval(this.timer);
    try {
      await this.flush();
    } catch (err) {
      this.options.logger?.error({ err, lost: this.queue.length }, 'usage ledger: final flush failed; these records are lost');
    } finally {
      this.closed = true;
    }
  }

  stats(): RecorderStats {
    return { queued: this.queue.length, written: this.written, dropped: this.dropped, failedFlushes: this.failedFlushes };
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.batchSize);
      try {
        await this.ledger.insertBatch(batch);
        this.written += batch.length;
      } catch (err) {
        this.failedFlushes += 1;
        const lost = this.queue.unshiftAll(batch);
        if (lost > 0) this.drop(lost);
        throw err;
      }
    }
  }

  private flushQuietly(): void {
    if (this.queue.length === 0) return;
    this.flush().catch((err: unknown) => {
      this.options.logger?.warn({ err, queued: this.queue.length }, 'usage ledger: flush failed; retrying on the next tick');
    });
  }

  private drop(n: number): void {
    this.dropped += n;
    this.options.onDrop?.(n);
  }
}
