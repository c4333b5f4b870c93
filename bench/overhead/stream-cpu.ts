// Micro-benchmark of the streaming relay's CPU cost: one gateway (keys + limits + budgets +
// ledger ON unless BENCH_TENANCY=0) in front of the stub upstream's burst stream (100 content
// chunks back to back), driven closed loop; reports the gateway's CPU (/proc, user + system) per
// stream and per content chunk. Short and repeatable, for before/after comparisons of the relay;
// the full comparison with other proxies is `npm run bench:overhead`.
//
//   tsx bench/overhead/stream-cpu.ts
//   BENCH_STREAM_MS (measured, default 5000), BENCH_WARMUP_MS (default 2000),
//   BENCH_CONCURRENCY (default 16), BENCH_ROUNDS (default 3; the minimum is reported too),
//   BENCH_PIN=1 pins gateway to core 1 and stub + driver to core 0.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStub, startSwitchyard } from './contenders.ts';
import { Driver, measure } from './harness.ts';

/**
 * Content chunks per stub stream (BENCH_STUB_CHUNKS, read by the stub too; default 100, as in
 * bench:overhead). µs/chunk divides the CPU per stream by it, as bench:overhead does, so it includes
 * the per-request costs; run with two lengths for the marginal cost of one chunk.
 */
const CHUNKS_PER_STREAM = Number(process.env.BENCH_STUB_CHUNKS ?? 100);

const durationMs = Number(process.env.BENCH_STREAM_MS ?? 5_000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pin = process.env.BENCH_PIN === '1';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-stream-cpu-'));
const stub = await startStub(dir, pin ? 0 : undefined);
const driver = await Driver.start(pin ? 0 : undefined);
const gateway = await startSwitchyard({ tenancy: process.env.BENCH_TENANCY !== '0', cpu: pin ? 1 : undefined, dir, stub });
const perChunk: number[] = [];
try {
  const target = gateway.target('burst');
  for (let round = 0; round < rounds; round++) {
    // Warm-up is part of the driver's job, so CPU is divided by every stream served (`total`).
    const { result, cpuMs } = await measure(gateway, () => driver.run({ mode: 'closed', target, stream: true, concurrency, warmupMs, durationMs }));
    const failed = result.errors + result.non2xx;
    const usPerStream = (cpuMs * 1000) / result.total;
    perChunk.push(usPerStream / CHUNKS_PER_STREAM);
    console.log(
      `round ${round + 1}: ${result.total} streams (${result.rps.toFixed(0)}/s), gateway CPU ${cpuMs.toFixed(0)} ms, ` +
        `${usPerStream.toFixed(0)} µs/stream, ${(usPerStream / CHUNKS_PER_STREAM).toFixed(2)} µs/chunk, failed ${failed}`,
    );
  }
  const sorted = [...perChunk].sort((a, b) => a - b);
  console.log(`µs/chunk: min ${sorted[0].toFixed(2)}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}`);
} finally {
  driver.stop();
  await gateway.stop();
  await stub.stop();
  rmSync(dir, { recursive: true, force: true });
}
