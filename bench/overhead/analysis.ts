// The "why" beside the overhead benchmark's numbers: where Switchyard's time goes, computed from
// this run where it can be (the bare Node proxy is the floor any Node gateway stands on), and what
// the CPU profiles (bench/overhead/profile.ts) showed while the hot path was being worked on.

import type { LoadResult } from './driver-protocol.ts';
import type { Measured } from './harness.ts';
import type { Results } from './report.ts';

const cpuUs = (m: Measured<LoadResult> | undefined) => (m ? (m.cpuMs * 1000) / Math.max(1, m.result.total) : NaN);
const f0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');

/** ON against the baseline checkout's ON (BENCH_BASELINE_DIR), when one ran: the before/after of a change. */
function beforeAfter(results: Results): string[] {
  const baseline = results.contenders.find((c) => c.id === 'switchyard-baseline');
  if (!baseline) return [];
  const at = (key: string, id: string) => results.points.find((p) => p.point.key === key)?.byContender.get(id);
  const direct = (key: string, pct: 'p50' | 'p99') => at(key, 'direct')?.result.latency[pct] ?? NaN;
  const added = (key: string, id: string, pct: 'p50' | 'p99') => (at(key, id)?.result.latency[pct] ?? NaN) - direct(key, pct);
  const chunkAdded = (key: string, id: string) => (at(key, id)?.result.chunkDelay?.p99 ?? NaN) - (at(key, 'direct')?.result.chunkDelay?.p99 ?? NaN);
  const rows: [string, (id: string) => number, (v: number) => string][] = [
    ['CPU µs per request at saturation', (id) => cpuUs(at('json@max', id)), f0],
    ['max req/s', (id) => at('json@max', id)?.result.rps ?? NaN, f0],
    ['added p50 ms at 1,000 req/s', (id) => added('json@1000', id, 'p50'), (v) => v.toFixed(3)],
    ['added p99 ms at 1,000 req/s', (id) => added('json@1000', id, 'p99'), (v) => v.toFixed(3)],
    ['CPU µs per 100-chunk stream at saturation', (id) => cpuUs(at('burst@max', id)), f0],
    ['max streams/s', (id) => at('burst@max', id)?.result.rps ?? NaN, f0],
    ['added p99 chunk delay ms at 50 streams/s', (id) => chunkAdded('paced@50', id), (v) => v.toFixed(3)],
  ];
  return [
    `**Before and after** (this checkout's ON gateway against \`${baseline.label}\`, run alternately in this same run):`,
    '',
    `| figure | before (${baseline.label.replace('Switchyard ON at ', '')}) | after | after / before |`,
    '|---|---:|---:|---:|',
    ...rows.map(([name, value, fmt]) => {
      const before = value('switchyard-baseline');
      const after = value('switchyard-on');
      return `| ${name} | ${fmt(before)} | ${fmt(after)} | ${Number.isFinite(after / before) ? `${(after / before).toFixed(2)}×` : '—'} |`;
    }),
    '',
  ];
}

export function analysis(results: Results): string[] {
  const at = (key: string, id: string) => results.points.find((p) => p.point.key === key)?.byContender.get(id);
  const on = cpuUs(at('json@max', 'switchyard-on'));
  const off = cpuUs(at('json@max', 'switchyard-off'));
  const floor = cpuUs(at('json@max', 'node-floor'));
  const nginx = cpuUs(at('json@max', 'nginx'));
  // Half of nginx's maximum rate on one core leaves this much CPU per request.
  const budgetAtHalfNginx = 1e6 / (0.5 * (at('json@max', 'nginx')?.result.rps ?? NaN));
  const base = at('json@1000', 'direct')?.result.latency.p50 ?? NaN;
  const floorAdded = (at('json@1000', 'node-floor')?.result.latency.p50 ?? NaN) - base;
  const onAdded = (at('json@1000', 'switchyard-on')?.result.latency.p50 ?? NaN) - base;
  const floorChunk = cpuUs(at('burst@max', 'node-floor')) / 100;
  const onChunk = cpuUs(at('burst@max', 'switchyard-on')) / 100;
  return [
    ...beforeAfter(results),
    '**What the profile shows** (`tsx bench/overhead/profile.ts`, keys + limits + ledger ON, closed loop; figures in this list come from this run unless marked as profiling runs)',
    '',
    `- *The floor.* A bare Node proxy (node:http in, one undici pool out, no parsing) costs ${f0(floor)} µs of CPU per request and adds ${f2(floorAdded)} ms at p50 at 1,000 req/s; nginx costs ${f0(nginx)} µs. The p50 target of 0.3 ms is about the floor of Node's HTTP stack on this machine, and half of nginx's maximum rate leaves ${f0(budgetAtHalfNginx)} µs per request on one core, ${f2(budgetAtHalfNginx / floor)}× what the bare proxy spends relaying bytes and nothing else. Neither target is within reach of one Node process doing a gateway's work without restructuring the request path.`,
    `- *Switchyard above the floor.* ON costs ${f0(on)} µs per request (${f0(on - floor)} µs more than the bare proxy; p50 ${f2(onAdded)} ms added), OFF ${f0(off)} µs, so keys, limits and budgets account for ${f0(on - off)} µs. No single function dominates the profile: undici and the socket writes about a quarter, garbage collection 5–9 %, then a long tail of 1–3 % items — the eight-stage chain of the request kernel, zod validation, JSON parse and render, counters and x-ratelimit headers, budget reserve and settle, prom-client's label hashing, the request log (written in pieces of 8 KiB or more since one write per line cost ~8 % of the gateway's time at 1,000 req/s).`,
    '- *The p99.* Garbage collection sets the tail now (`BENCH_SWITCHYARD_NODE_FLAGS=--trace-gc BENCH_KEEP_LOGS=1`): young-generation scavenges pause 1.5–4 ms each, several a second at 1,000 req/s (roughly 80 KB allocated per request in profiling runs; `BENCH_ALLOC=1 tsx bench/overhead/profile.ts` lists the allocation sites), and old-generation mark-compacts pause 7–26 ms every few seconds once enough short-lived request state has been promoted. Two stalls were removed on the way: the ledger\'s SQLite flush on the event loop (12–19 ms per 1,000 rows, 40–60 ms with a WAL checkpoint), and SQLite\'s busy handler sleeping on the event loop whenever a write on the main connection (the batch worker\'s housekeeping, every second) met the ledger writer thread\'s commit: p99 at 1,000 req/s was 74 ms with keys ON in the run before that fix, 3–13 ms in quick runs since. The bare Node proxy\'s own p99 moves between 1 and 20 ms from run to run on this machine, so single runs of this point are noisy.',
    `- *Streaming.* The upstream is read through undici's dispatch API: each body piece goes from the socket parser straight into the stream decoder, which splits it into events and JSON-parses each once, synchronously; the chunks queue there for the reader, and pass two more plain async iterators with OpenAI-format upstreams and clients (the kernel's one stream wrapper, whose end ends the request for every stage's onEnd handler; the edge render) and leave in one socket write per tick; the chunk's text is rendered from a template. ${f2(onChunk)} µs of CPU per chunk at saturation (per-request costs included; JSON.parse of the upstream chunk is the largest single item in profiling runs) against ${f2(floorChunk)} µs for the bare proxy. Paced, every chunk also pays its own wake-up, read and write.`,
    '',
    '**Changed on the hot path for this benchmark** (each measured with `profile.ts` and the quick runs of this harness):',
    '',
    '- the usage ledger commits on a SQLite writer thread (own connection, one transaction per batch) with checkpoints there, never on the event loop; five fixed INSERT shapes instead of a new prepared statement per batch size;',
    '- the AsyncLocalStorage behind SQLite\'s nesting check is switched off while no transaction runs: enabled, Node 20 hooks every promise, which cost ~15 % of throughput;',
    '- the request log line skips pino\'s credential redaction (it holds no secrets; same output), and log lines leave in writes of 8 KiB or more (flushed every second and at exit) instead of one write per line; the upstream call is cancelled through an EventEmitter instead of a second AbortController, and the request itself carries a small RequestCancel instead of an AbortController (~3 % of the CPU per request); limit counter keys and scope labels are built once per identity; budget period keys once per period; seeded budget periods skip an await; the alert check allocates nothing when no threshold is newly crossed; one headers object per response; the limit stage\'s abort safety net is registered for streams only (on every JSON request it kept ~1.5 KB alive past young-generation collections: 250–290 KB promoted per scavenge at 1,000 req/s, 55–65 KB after);',
    '- upstream responses are read through undici\'s dispatch API with Switchyard\'s own handler instead of `pool.request()`, whose Node Readable body (stream state, events, an async iterator and an async resource per response) was the largest cost per relayed chunk: CPU per 100-chunk stream at saturation fell from 1,353 to 744 µs in quick runs of this harness (streams/s 725 → 1,356); the decoder pauses the transfer while more than 1,024 chunks wait for a slow client;',
    '- the request kernel (`src/pipeline/`): one end-of-request event replaces the meter\'s hook, stream-end observers and two module WeakMaps, stages keep state in slots of the context (one array) and their response headers in it, so a request allocates fewer closures and map entries; undici is driven through its controller-based handler protocol (undici 8 needs Node 22, so 7.x adapts it, at a few µs per request);',
    '- the main SQLite connection never waits for the write lock inside SQLite (whose busy handler sleeps on the calling thread): a busy write fails at once and is retried after an asynchronous pause;',
    '- correctness under load: upstream pools were capped at 512 connections (the 513th concurrent stream waited unseen inside undici until another ended); they are now sized by `max_concurrency`, unbounded without it. The listen backlog is 4,096 (Node\'s 511 reset about 5 % of 5,000 streams opened at 1,000/s).',
    '',
    '**Next**, in order of expected gain: one process per core (limits and budgets then need the shared Redis counters that several replicas already use); an allocation diet for the collector pauses that set the p99 (fewer promise layers per request, fewer objects that live across a scavenge). Tried and not kept: `--max-semi-space-size=64`, and `--single-threaded-gc` for a gateway pinned to one core (in A/B runs of this harness, `BENCH_VARIANT_FLAGS`, its paced-stream p99 was better each time, 22–48 % of cadence against 58–90 %, but its maximum JSON rate was up in one run and down in another).',
  ];
}
