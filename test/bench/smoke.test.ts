// bench:smoke as a real (very short) run: BENCH_WRITE=0 prints the figures and leaves
// docs/BENCHMARKS.md byte for byte as it was; a bad knob stops the run with one line.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/processes.ts';

const BENCHMARKS = join(REPO_ROOT, 'docs/BENCHMARKS.md');

function runSmoke(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/smoke.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs fn and puts docs/BENCHMARKS.md back if it changed, so a failing run never leaves it rewritten. */
async function keepingBenchmarks<T>(fn: (before: string) => Promise<T>): Promise<T> {
  const before = readFileSync(BENCHMARKS, 'utf8');
  try {
    return await fn(before);
  } finally {
    if (readFileSync(BENCHMARKS, 'utf8') !== before) writeFileSync(BENCHMARKS, before);
  }
}

describe('bench:smoke', () => {
  it('BENCH_WRITE=0 prints the figures and leaves docs/BENCHMARKS.md unchanged', { timeout: 180_000 }, async () => {
    await keepingBenchmarks(async (before) => {
      const run = await runSmoke({ BENCH_WRITE: '0', BENCH_REQUESTS: '20', BENCH_CONCURRENCY: '4', BENCH_ROUNDS: '1' });
      assert.equal(readFileSync(BENCHMARKS, 'utf8'), before, 'docs/BENCHMARKS.md was rewritten');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /20 non-streaming chat requests \(max_tokens 16\) at concurrency 4, 1 alternating round per path/);
      assert.match(run.stdout, /\| through Switchyard \| \d+ \|/);
    });
  });

  it('a knob that is not a positive integer stops the run with one line naming it', { timeout: 60_000 }, async () => {
    await keepingBenchmarks(async (before) => {
      const run = await runSmoke({ BENCH_WRITE: '0', BENCH_REQUESTS: 'lots' });
      assert.equal(run.code, 2);
      assert.equal(run.stderr.trim(), 'bench:smoke: BENCH_REQUESTS must be a positive integer, got "lots"');
      assert.equal(readFileSync(BENCHMARKS, 'utf8'), before);
    });
  });
});
