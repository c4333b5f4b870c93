// The overhead benchmark's load driver, a process of its own (pinned to the core the contenders do
// not use). It takes jobs over IPC from bench/overhead/run.ts and answers with measurements.
// Latency runs from the moment a request is written to the moment its last byte is read, in
// performance.now() (µs resolution); open-loop runs also report how late each request left.

import { performance } from 'node:perf_hooks';
import type { DriverMessage, HoldResult, Job, LoadResult, Percentiles, Target } from './driver-protocol.ts';
import { HttpConnection, type ResponseHandlers } from './http-connection.ts';
import { StreamProbe, wallClockMs } from './stream-probe.ts';

const STREAM_CHUNKS = 100;
const MAX_CONNECTIONS = 8_000;
const DRAIN_MS = 10_000;

export function summarize(values: number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted[sorted.length - 1], mean: sum / sorted.length };
}

function requestBytes(target: Target): Buffer {
  const body = Buffer.from(target.body);
  const headers = Object.entries({ host: '127.0.0.1', 'content-type': 'application/json', ...target.headers, 'content-length': String(body.length) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`POST ${target.path} HTTP/1.1\r\n${headers}\r\n`), body]);
}

/** Keep-alive connections to one port, most recently used first (keeps few connections hot). */
class ConnectionPool {
  private readonly idle: HttpConnection[] = [];
  open = 0;

  constructor(private readonly port: number) {}

  take(): HttpConnection | undefined {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) if (c.usable) return c;
    if (this.open >= MAX_CONNECTIONS) return undefined;
    this.open += 1;
    return new HttpConnection(this.port);
  }

  give(c: HttpConnection): void {
    if (c.usable) this.idle.push(c);
    else this.open -= 1;
  }

  closeAll(): void {
    for (const c of this.idle.splice(0)) c.close();
  }
}

/** Measurements of the requests that started inside the measured window. */
class Recorder {
  readonly latencies: number[] = [];
  readonly sendLags: number[] = [];
  readonly chunkDelays: number[] = [];
  readonly firstChunks: number[] = [];
  completed = 0;
  total = 0;
  errors = 0;
  non2xx = 0;
  incomplete = 0;
  inFlight = 0;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {}

  measured(sentAt: number): boolean {
    return sentAt >= this.from && sentAt < this.to;
  }

  result(stream: boolean, openLoop: boolean): LoadResult {
    return {
      rps: this.completed / ((this.to - this.from) / 1000),
      completed: this.completed,
      total: this.total,
      errors: this.errors,
      non2xx: this.non2xx,
      latency: summarize(this.latencies),
      sendLag: openLoop ? summarize(this.sendLags) : undefined,
      chunkDelay: stream && this.chunkDelays.length > 0 ? summarize(this.chunkDelays) : undefined,
      firstChunk: stream ? summarize(this.firstChunks) : undefined,
      incompleteStreams: stream ? this.incomplete : undefined,
    };
  }
}

/** Sends one request on `c`; calls `done` when it has ended either way. */
function exchange(c: HttpConnection, bytes: Buffer, stream: boolean, rec: Recorder, scheduledAt: number | undefined, done: () => void): void {
  const sentAt = performance.now();
  const measured = rec.measured(sentAt);
  const probe = stream ? new StreamProbe(measured ? rec.chunkDelays : undefined) : undefined;
  rec.inFlight += 1;
  const handlers: ResponseHandlers = {
    onData: probe ? (data) => probe.onData(data) : undefined,
    onEnd(status) {
      rec.inFlight -= 1;
      rec.total += 1;
      if (measured) {
        rec.completed += 1;
        rec.latencies.push(performance.now() - sentAt);
        if (scheduledAt !== undefined) rec.sendLags.push(sentAt - scheduledAt);
        if (status < 200 || status >= 300) rec.non2xx += 1;
        else if (probe) {
          if (!probe.done || probe.chunks !== STREAM_CHUNKS) rec.incomplete += 1;
          if (probe.firstChunkAt !== undefined) rec.firstChunks.push(probe.firstChunkAt - (performance.timeOrigin + sentAt));
        }
      }
      done();
    },
    onError() {
      rec.inFlight -= 1;
      if (measured) rec.errors += 1;
      done();
    },
  };
  c.send(bytes, handlers);
}

async function drain(rec: Recorder): Promise<void> {
  const until = performance.now() + DRAIN_MS;
  while (rec.inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
}

async function runRate(job: Extract<Job, { mode: 'rate' }>): Promise<LoadResult> {
  const bytes = requestBytes(job.target);
  const pool = new ConnectionPool(job.target.port);
  const start = performance.now();
  const rec = new Recorder(start + job.warmupMs, start + job.warmupMs + job.durationMs);
  const intervalMs = 1000 / job.rate;
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= rec.to) return resolve();
      // Every request due by now leaves now, stamped with when it was due.
      while (start + issued * intervalMs <= now) {
        const scheduledAt = start + issued * intervalMs;
        issued += 1;
        const c = pool.take();
        if (!c) {
          if (rec.measured(now)) rec.errors += 1;
          continue;
        }
        exchange(c, bytes, job.stream, rec, scheduledAt, () => pool.give(c));
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  await drain(rec);
  pool.closeAll();
  return rec.result(job.stream, true);
}

async function runClosed(job: Extract<Job, { mode: 'closed' }>): Promise<LoadResult> {
  const bytes = requestBytes(job.target);
  const start = performance.now();
  const rec = new Recorder(start + job.warmupMs, start + job.warmupMs + job.durationMs);
  const loops = Array.from({ length: job.concurrency }, async () => {
    let c: HttpConnection | undefined;
    while (performance.now() < rec.to) {
      if (!c || !c.usable) c = new HttpConnection(job.target.port);
      const conn = c;
      await new Promise<void>((resolve) => exchange(conn, bytes, job.stream, rec, undefined, resolve));
    }
    c?.close();
  });
  await Promise.all(loops);
  return rec.result(job.stream, false);
}

async function runHold(job: Extract<Job, { mode: 'hold' }>): Promise<HoldResult> {
  const bytes = requestBytes(job.target);
  const probes: StreamProbe[] = [];
  const connections: HttpConnection[] = [];
  let completed = 0;
  let refused = 0;
  let errors = 0;
  let firstError: string | undefined;
  let open = 0;
  const answered = new Set<StreamProbe>();
  const started = wallClockMs();
  let lastClosed = started;
  const allEnded = new Promise<void>((resolve) => {
    let opened = 0;
    const end = () => {
      open -= 1;
      lastClosed = wallClockMs();
      if (opened === job.streams && open === 0) resolve();
    };
    const openSome = () => {
      const batch = Math.max(1, Math.round(job.openPerSecond / 100));
      for (let i = 0; i < batch && opened < job.streams; i++) {
        opened += 1;
        open += 1;
        const probe = new StreamProbe(undefined);
        const c = new HttpConnection(job.target.port);
        probes.push(probe);
        connections.push(c);
        c.send(bytes, {
          onData: (data) => probe.onData(data),
          onEnd: (status) => {
            if (status !== 200) refused += 1;
            else {
              answered.add(probe);
              if (probe.done && probe.chunks === STREAM_CHUNKS) completed += 1;
            }
            c.close();
            end();
          },
          onError: (err) => {
            firstError ??= `${err.message} after ${probe.chunks} chunks`;
            if (probe.chunks > 0) answered.add(probe);
            else errors += 1;
            end();
          },
        });
      }
      if (opened < job.streams) setTimeout(openSome, 10);
    };
    openSome();
  });
  await Promise.race([allEnded, new Promise((r) => setTimeout(r, job.timeoutMs))]);
  for (const c of connections) c.close();
  // Whatever was neither refused nor failed to connect either finished on time or stalled
  // (including streams still open at the timeout).
  for (const p of probes) if (p.chunks > 0) answered.add(p);
  const slow = [...answered].filter((p) => p.maxGapMs > job.stallMs).length;
  const stalled = Math.max(probes.length - completed - refused - errors, 0) + slow;
  const gapStats = summarize([...answered].map((p) => p.maxGapMs));
  return { opened: probes.length, completed, refused, stalled, errors, firstError, maxGapMs: gapStats.max, gapP99Ms: gapStats.p99, heldMs: lastClosed - started };
}

function reply(message: DriverMessage): void {
  process.send?.(message);
}

process.on('message', (job: Job) => {
  const run = job.mode === 'rate' ? runRate(job) : job.mode === 'closed' ? runClosed(job) : runHold(job);
  run.then(
    (result) => reply({ type: 'result', result }),
    (err: unknown) => reply({ type: 'failed', error: String((err as Error)?.stack ?? err) }),
  );
});
reply({ type: 'ready' });
