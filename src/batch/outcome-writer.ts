// Collects item outcomes and writes them in batches (one transaction per flush), off the request
// path: a 100,000-item batch is a few hundred transactions, not 100,000.

export interface OutcomeWriterOptions<T> {
  write(outcomes: T[]): Promise<unknown>;
  flushIntervalMs: number;
  batchSize: number;
  onError(err: unknown, count: number): void;
}

export class OutcomeWriter<T> {
  private pending: T[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: OutcomeWriterOptions<T>) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  add(outcome: T): void {
    this.pending.push(outcome);
    if (this.pending.length >= this.options.batchSize) void this.flush();
  }

  get size(): number {
    return this.pending.length;
  }

  /** Writes what is pending; resolves when it (and every earlier flush) is written. */
  flush(): Promise<void> {
    const take = this.pending;
    if (take.length === 0) return this.chain;
    this.pending = [];
    this.chain = this.chain.then(async () => {
      try {
        await this.options.write(take);
      } catch (err) {
        // The leases of what could not be written expire and the items run again: nothing is lost.
        this.options.onError(err, take.length);
      }
    });
    return this.chain;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
