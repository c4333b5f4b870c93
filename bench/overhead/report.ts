// Turns the overhead benchmark's measurements into the docs/BENCHMARKS.md section: method, one
// table per load kind, the ratios against nginx and Portkey, and every target met or missed.

import { PACED_MS, HOLD_MS } from './contenders.ts';
import type { HoldResult, LoadResult } from './driver-protocol.ts';
import type { Measured } from './harness.ts';
import { analysis } from './analysis.ts';

export interface LoadPoint {
  key: string;
  label: string;
  kind: 'json' | 'paced' | 'burst';
  /** Offered rate (requests or streams per second); absent at saturation. */
  rate?: number;
}

export interface Results {
  settings: {
    warmupMs: number;
    durationMs: number;
    saturationConcurrency: number;
    holdStreams: number;
    holdOpenPerSecond: number;
  };
  contenders: { id: string; label: string }[];
  points: { point: LoadPoint; byContender: Map<string, Measured<LoadResult>> }[];
  holds: Map<string, Measured<HoldResult>>;
  notes: string[];
  totalMinutes: number;
  /** Average CPU of processes outside the benchmark during the run, in cores. */
  otherCpuShare: number;
}

const SUBJECT = 'switchyard-on';
// NaN crosses the driver's IPC channel as null.
const ms = (v: number | null | undefined, digits = 2) => (typeof v !== 'number' || Number.isNaN(v) ? '—' : v.toFixed(digits));
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const mib = (bytes: number) => `${int(bytes / 2 ** 20)} MiB`;
const cpuPerRequestUs = (m: Measured<LoadResult>) => (m.cpuMs * 1000) / Math.max(1, m.result.total);

function point(results: Results, key: string) {
  return results.points.find((p) => p.point.key === key);
}

function labelOf(results: Results, id: string): string {
  return results.contenders.find((c) => c.id === id)?.label ?? id;
}

function jsonTable(results: Results): string[] {
  const rows = ['| contender | offered req/s | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | CPU µs/req | errors |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const { point: p, byContender } of results.points.filter((x) => x.point.kind === 'json' && x.point.rate !== undefined)) {
    const base = byContender.get('direct')?.result.latency;
    for (const c of results.contenders) {
      const m = byContender.get(c.id);
      if (!m) continue;
      const r = m.result;
      const isBase = c.id === 'direct';
      rows.push(
        `| ${c.label} | ${int(p.rate!)} | ${int(r.rps)} | ${ms(r.latency.p50, 3)} | ${ms(r.latency.p99, 3)} | ${isBase || !base ? '—' : ms(r.latency.p50 - base.p50, 3)} | ${isBase || !base ? '—' : ms(r.latency.p99 - base.p99, 3)} | ${isBase ? '—' : int(cpuPerRequestUs(m))} | ${r.errors + r.non2xx} |`,
      );
    }
  }
  return rows;
}

function peakRss(results: Results, id: string): number {
  let peak = 0;
  for (const p of results.points) peak = Math.max(peak, p.byContender.get(id)?.peakRssBytes ?? 0);
  return peak;
}

function saturationTable(results: Results, key: string, unit: 'req' | 'stream'): string[] {
  const p = point(results, key);
  if (!p) return [];
  const streams = unit === 'stream';
  const rows = [
    `| contender | max ${streams ? 'streams' : 'req'}/s${streams ? ' | chunks/s' : ''} | p50 ms | p99 ms | CPU µs/${unit} | contender CPU (% of a core) | peak RSS | errors |`,
    `|---|---:|${streams ? '---:|' : ''}---:|---:|---:|---:|---:|---:|`,
  ];
  for (const c of results.contenders) {
    const m = p.byContender.get(c.id);
    if (!m) continue;
    const r = m.result;
    const isBase = c.id === 'direct';
    rows.push(
      `| ${c.label} | ${int(r.rps)}${streams ? ` | ${int(r.rps * 100)}` : ''} | ${ms(r.latency.p50, 3)} | ${ms(r.latency.p99, 3)} | ${isBase ? '—' : int(cpuPerRequestUs(m))} | ${isBase ? '—' : `${int((100 * m.cpuMs) / m.wallMs)} %`} | ${isBase ? '—' : mib(peakRss(results, c.id))} | ${r.errors + r.non2xx + (r.incompleteStreams ?? 0)} |`,
    );
  }
  return rows;
}

function streamTable(results: Results): string[] {
  const rows = [
    '| contender | streams/s | chunk delay p50 ms | p99 ms | added p50 ms | added p99 ms | added p99, % of cadence | first chunk p50 ms | CPU µs/stream | incomplete or failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { point: p, byContender } of results.points.filter((x) => x.point.kind === 'paced')) {
    const base = byContender.get('direct')?.result.chunkDelay;
    for (const c of results.contenders) {
      const m = byContender.get(c.id);
      if (!m) continue;
      const r = m.result;
      const d = r.chunkDelay;
      const isBase = c.id === 'direct';
      const added99 = d && base ? d.p99 - base.p99 : NaN;
      rows.push(
        `| ${c.label} | ${int(p.rate!)} | ${ms(d?.p50, 3)} | ${ms(d?.p99, 3)} | ${isBase || !base || !d ? '—' : ms(d.p50 - base.p50, 3)} | ${isBase ? '—' : ms(added99, 3)} | ${isBase ? '—' : `${ms((100 * added99) / PACED_MS, 1)} %`} | ${ms(r.firstChunk?.p50, 3)} | ${isBase ? '—' : int(cpuPerRequestUs(m))} | ${r.errors + r.non2xx + (r.incompleteStreams ?? 0)} |`,
      );
    }
  }
  return rows;
}

function holdTable(results: Results): string[] {
  if (results.holds.size === 0) return [];
  const rows = ['| contender | streams opened | completed | refused (non-200) | stalled | connection errors | longest gap ms | gap p99 ms | peak RSS |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const [id, m] of results.holds) {
    const h = m.result;
    rows.push(`| ${labelOf(results, id)} | ${int(h.opened)} | ${int(h.completed)} | ${int(h.refused)} | ${int(h.stalled)} | ${int(h.errors)} | ${ms(h.maxGapMs, 0)} | ${ms(h.gapP99Ms, 0)} | ${mib(m.peakRssBytes)} |`);
  }
  return rows;
}

function verdict(ok: boolean, missedBy: string): string {
  return ok ? '**met**' : `**missed** (${missedBy})`;
}

function targets(results: Results): string[] {
  const lines: string[] = [];
  const at1000 = point(results, 'json@1000');
  const subject = at1000?.byContender.get(SUBJECT)?.result.latency;
  const base = at1000?.byContender.get('direct')?.result.latency;
  if (subject && base) {
    const a50 = subject.p50 - base.p50;
    const a99 = subject.p99 - base.p99;
    lines.push(`- Added p50 at 1,000 req/s ≤ 0.3 ms: ${ms(a50, 3)} ms, ${verdict(a50 <= 0.3, `by ${ms(a50 - 0.3, 3)} ms`)}`);
    lines.push(`- Added p99 at 1,000 req/s ≤ 2 ms: ${ms(a99, 3)} ms, ${verdict(a99 <= 2, `by ${ms(a99 - 2, 3)} ms`)}`);
  }
  const sat = point(results, 'json@max');
  const rps = (id: string) => sat?.byContender.get(id)?.result.rps;
  const own = rps(SUBJECT);
  const nginx = rps('nginx');
  const portkey = rps('portkey');
  if (own !== undefined && nginx !== undefined) {
    const ratio = own / nginx;
    lines.push(`- Max req/s ≥ 0.5× nginx: ${int(own)} / ${int(nginx)} = **${ratio.toFixed(2)}×**, ${verdict(ratio >= 0.5, `by ${(0.5 - ratio).toFixed(2)}×`)}`);
  }
  if (own !== undefined && portkey !== undefined) {
    const ratio = own / portkey;
    lines.push(`- Max req/s ≥ 1.5× Portkey's gateway: ${int(own)} / ${int(portkey)} = **${ratio.toFixed(2)}×**, ${verdict(ratio >= 1.5, `by ${(1.5 - ratio).toFixed(2)}×`)}`);
  }
  for (const p of results.points.filter((x) => x.point.kind === 'paced')) {
    const d = p.byContender.get(SUBJECT)?.result.chunkDelay;
    const b = p.byContender.get('direct')?.result.chunkDelay;
    if (!d || !b) continue;
    const share = (100 * (d.p99 - b.p99)) / PACED_MS;
    lines.push(`- Streaming relay adds ≤ 5 % to the ${PACED_MS} ms chunk cadence at ${int(p.point.rate!)} streams/s (added p99 per-chunk delay): ${ms(share, 1)} %, ${verdict(share <= 5, `by ${ms(share - 5, 1)} points`)}`);
  }
  const hold = results.holds.get(SUBJECT);
  if (hold) {
    const gib = hold.peakRssBytes / 2 ** 30;
    lines.push(
      `- ${int(hold.result.opened)} open streams under 1 GB RSS: peak ${mib(hold.peakRssBytes)}, ${verdict(hold.peakRssBytes < 1e9, `by ${(gib - 1e9 / 2 ** 30).toFixed(2)} GiB`)}; ${hold.result.stalled + hold.result.refused + hold.result.errors === 0 ? 'no stream stalled or failed' : `${int(hold.result.stalled)} streams stalled, ${int(hold.result.refused + hold.result.errors)} failed`}`,
    );
  }
  return lines;
}

function ratios(results: Results): string[] {
  const lines: string[] = [];
  for (const key of ['json@max', 'burst@max']) {
    const p = point(results, key);
    const own = p?.byContender.get(SUBJECT);
    if (!p || !own) continue;
    for (const peer of ['nginx', 'portkey']) {
      const other = p.byContender.get(peer);
      // A peer that failed most requests has no rate or cost to compare with.
      if (!other || other.result.non2xx + other.result.errors > other.result.completed / 2) continue;
      lines.push(
        `- ${key === 'json@max' ? 'Non-streaming' : 'Streaming'}, Switchyard ON / ${peer === 'nginx' ? 'nginx' : 'Portkey'}: max rate **${(own.result.rps / other.result.rps).toFixed(2)}×**, CPU per ${key === 'json@max' ? 'request' : 'stream'} **${(cpuPerRequestUs(own) / cpuPerRequestUs(other)).toFixed(2)}×**`,
      );
    }
  }
  return lines;
}

/** Peers that failed a whole load kind are named, so their rows are not read as figures. */
function failureNotes(results: Results): string[] {
  const notes: string[] = [];
  for (const c of results.contenders) {
    const streamed = results.points.filter((p) => p.point.kind !== 'json').map((p) => p.byContender.get(c.id)?.result).filter((r) => r !== undefined);
    const failed = streamed.reduce((n, r) => n + r.non2xx + r.errors, 0);
    const total = streamed.reduce((n, r) => n + r.completed + r.errors, 0);
    if (total > 0 && failed >= total / 2) notes.push(`${c.label} failed ${int(failed)} of ${int(total)} streaming requests; its streaming rows measure error responses, not a relay.${c.id === 'portkey' ? ` Its log shows \`TypeError: immutable\` in \`updateHeaders\` on Node ${process.version}, a known issue of its Node build (Portkey-AI/gateway issues 1389 and 1550); both versions on the npm registry reachable here (1.9.8 and 1.15.2) fail the same way.` : ''}`);
  }
  return notes;
}

export function renderReport(results: Results): string {
  const s = results.settings;
  const names = results.contenders.map((c) => c.label).join('; ');
  return [
    `Contenders, each its own process on 127.0.0.1 in front of the same stub upstream: ${names}. The stub is a minimal OpenAI-compatible server answering at once (a fixed 281-byte completion, or a stream of 100 chunks either back to back or one every ${PACED_MS} ms). All contenders run for the whole benchmark and take turns at every load point, starting with a different one each time, so drift hits all alike.`,
    '',
    `**Method.** The contenders are pinned to core 1 (taskset); the load driver (a raw-socket HTTP/1.1 client, keep-alive, in its own process), the stub and the orchestrator share core 0. Latency is measured by the driver from writing a request to reading its last byte (µs resolution); *added* latency is the contender's percentile minus the direct path's at the same load. Fixed rates are open loop (requests leave on a 1 ms timer whatever the responses do); saturation is closed loop with ${s.saturationConcurrency} connections. Each point: ${s.warmupMs / 1000} s warm-up, then ${s.durationMs / 1000} s measured. Before every measurement the harness waits until all contenders are idle (under 10 % of a core), so one working off an overload does not slow the next. CPU per request = the contender's CPU time (user + system, /proc, whole job including warm-up) divided by the requests it served; RSS is sampled every 250 ms. Switchyard ON: master key set, requests carry a virtual key whose key and team have RPM, TPM and concurrency limits (high enough never to refuse), key, team and global budgets (reserve and settle on every request, priced models), the usage ledger in SQLite (batched), request log at the default \`info\` level to a file. OFF: no key, so no limits and no budgets; metrics, request log and ledger as usual. nginx: 1 worker, \`proxy_pass\` to an upstream block with \`keepalive 1024\`, HTTP/1.1, \`proxy_buffering off\`, buffered access log. Portkey: \`@portkey-ai/gateway\` started with its own \`start-server.js --headless\`, provider \`openai\` with \`x-portkey-custom-host\`. Streaming chunk delay: each paced chunk carries the wall-clock time the stub wrote it; the driver subtracts it from the time it read it. Whole run: ${results.totalMinutes.toFixed(1)} min; processes outside the benchmark used ${(100 * results.otherCpuShare).toFixed(0)} % of a core on average meanwhile${results.otherCpuShare > 0.1 ? ' (**contended**: another workload shared the machine, so absolute figures are pessimistic; every contender ran under the same conditions, in turn)' : ''}.`,
    '',
    '**Run it**: `npm run bench:overhead` (about 8 minutes; needs Linux, 2+ cores for the pinning, nginx from Debian — installed by the harness when run as root — and npm access: Portkey\'s gateway is installed on first use into the git-ignored `bench/overhead/.peers/`, never as a Switchyard dependency). Shorter runs: `BENCH_DURATION_MS`, `BENCH_WARMUP_MS`, `BENCH_RATES`, `BENCH_STREAM_RATES`, `BENCH_SATURATION_CONCURRENCY`, `BENCH_HOLD_STREAMS`, `BENCH_HOLD` (contenders for the open-streams test, or `none`), `BENCH_CONTENDERS`; `BENCH_WRITE=0` leaves this file alone, `BENCH_KEEP_LOGS=1` keeps every process\'s log. Before/after a change: `BENCH_BASELINE_DIR=<another checkout, with node_modules>` and `switchyard-baseline` in `BENCH_CONTENDERS` run that checkout\'s ON gateway beside this one. Profile the hot path with `tsx bench/overhead/profile.ts [json|burst]`.',
    '',
    '**Non-streaming, fixed offered rates**',
    '',
    ...jsonTable(results),
    '',
    `**Non-streaming, saturation** (closed loop, ${s.saturationConcurrency} connections). Peak RSS is the highest sample over all load points (not the open-streams test).`,
    '',
    ...saturationTable(results, 'json@max', 'req'),
    '',
    `**Streaming, fixed rates of new streams** (100 chunks, one every ${PACED_MS} ms, so each stream lasts about ${(PACED_MS * 100) / 1000} s; ${int(PACED_MS > 0 ? 1000 / PACED_MS : 0)} chunks/s per open stream). Chunk delay is per chunk, stub write to driver read.`,
    '',
    ...streamTable(results),
    '',
    `**Streaming, saturation** (closed loop, ${s.saturationConcurrency} connections, 100 chunks written back to back per stream).`,
    '',
    ...saturationTable(results, 'burst@max', 'stream'),
    '',
    `**${int(s.holdStreams)} concurrent open streams** (opened at ${int(s.holdOpenPerSecond)}/s, each its own client connection, 100 chunks one every ${HOLD_MS} ms, so held about ${(HOLD_MS * 100) / 1000} s). A stream counts as stalled when more than 2 s passed between two of its chunks or it did not finish.`,
    '',
    ...holdTable(results),
    '',
    '**Ratios**',
    '',
    ...ratios(results),
    '',
    '**Targets** (issue: 2-core machine, keys + limits + ledger ON)',
    '',
    ...targets(results),
    '',
    ...analysis(results),
    ...[...results.notes, ...failureNotes(results)].flatMap((n) => ['', `Note: ${n}`]),
  ].join('\n');
}
