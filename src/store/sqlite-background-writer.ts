// Batched writes to the SQLite file on a worker thread (src/store/sqlite-write-worker.js), so the
// event loop never waits on a commit or a WAL checkpoint. Each call is one transaction; calls run
// in order. Used by the usage ledger, whose flushes grow with traffic; rare writes (keys, budgets,
// admin) stay on the main connection.

import { Worker } from 'node:worker_threads';
import type { SqlValue } from './sql.ts';

export interface SqlWrite {
  sql: string;
  params: readonly SqlValue[];
}

type WorkerReply = { type: 'done'; id: number } | { type: 'failed'; id: number; error: string } | { type: 'closed' };

export class SqliteBackgroundWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(path: string) {
    this.worker = new Worker(new URL('./sqlite-write-worker.js', import.meta.url), { workerData: { path }, execArgv: [] });
    this.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'closed') return;
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === 'done') waiter?.resolve();
      else waiter?.reject(new Error(reply.error));
      this.updateRef();
    });
    this.worker.on('error', (err: Error) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`SQLite writer thread exited (${code})`)));
    // Idle, it must not keep the process alive.
    this.worker.unref();
  }

  /** Runs the writes in one transaction on the writer thread; rejects (and rolls back) on any error. */
  transaction(writes: readonly SqlWrite[]): Promise<void> {
    if (this.closing) return Promise.reject(new Error('SQLite writer is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage({ id, writes });
    });
  }

  /** Waits for the writes already sent, then closes the thread's connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.failure) return;
      this.worker.ref();
      const closed = new Promise<void>((resolve) => {
        const onMessage = (reply: WorkerReply) => {
          if (reply.type === 'closed') resolve();
        };
        this.worker.on('message', onMessage);
        this.worker.once('exit', () => resolve());
      });
      // Messages are handled in order, so every transaction sent before this one finishes first.
      this.worker.postMessage({ type: 'close' });
      await closed;
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private updateRef(): void {
    if (this.pending.size > 0 || this.closing) this.worker.ref();
    else this.worker.unref();
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
