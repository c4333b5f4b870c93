// Follows a batch through the Batches API once a second until it ends, noting its status and
// request_counts over time; throughput figures come from these polls (1 s resolution, fine for a
// run of minutes), not from the batch's unix-second timestamps.

import { performance } from 'node:perf_hooks';
import type OpenAI from 'openai';

export interface Poll {
  /** performance.now() of the answer. */
  t: number;
  status: string;
  done: number;
  total: number;
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export async function followBatch(client: OpenAI, id: string, onPoll: (poll: Poll) => void, timeoutMs: number): Promise<{ polls: Poll[]; batch: OpenAI.Batch }> {
  const polls: Poll[] = [];
  const deadline = performance.now() + timeoutMs;
  let cancelled = false;
  for (;;) {
    const batch = await client.batches.retrieve(id);
    const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
    const poll = { t: performance.now(), status: batch.status, done: counts.completed + counts.failed, total: counts.total };
    polls.push(poll);
    onPoll(poll);
    if (TERMINAL.has(batch.status)) return { polls, batch };
    if (!cancelled && performance.now() > deadline) {
      // Bounded: a batch that cannot finish in time is cancelled and reported as such.
      console.log(`batch ${id} did not finish within ${timeoutMs / 1000} s; cancelling it`);
      await client.batches.cancel(id);
      cancelled = true;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Time the batch spent in each status, seconds (from the polls). */
export function secondsIn(polls: Poll[], status: string): number {
  let s = 0;
  for (let i = 0; i + 1 < polls.length; i++) if (polls[i].status === status) s += polls[i + 1].t - polls[i].t;
  return s / 1000;
}

/** Items per second while in progress, overall and by minute. */
export function throughput(polls: Poll[]): { overall: number; perMinute: number[] } {
  const total = polls.at(-1)?.total ?? 0;
  const first = polls.find((p) => p.status === 'in_progress');
  const end = polls.find((p) => first && p.t > first.t && (p.done >= total || p.status !== 'in_progress'));
  const perMinute: number[] = [];
  if (first && end) {
    for (let from = first.t; from < end.t; from += 60_000) {
      const a = [...polls].reverse().find((p) => p.t <= from) ?? first;
      const b = [...polls].reverse().find((p) => p.t <= Math.min(end.t, from + 60_000)) ?? end;
      if (b.t > a.t) perMinute.push(((b.done - a.done) * 1000) / (b.t - a.t));
    }
  }
  return {
    overall: first && end ? ((end.done - first.done) * 1000) / (end.t - first.t) : NaN,
    perMinute,
  };
}
