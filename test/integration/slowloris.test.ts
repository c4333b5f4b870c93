// Slowloris against a real gateway process held to 1,024 open files (the limit the attack was
// first seen under): 1,000 connections that send their request headers a line at a time and
// reconnect whenever they are closed. Legitimate requests, each on a new connection, must keep
// succeeding with about their normal latency, and the gateway must stay below its file limit.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { openFileLimit } from '../../src/server/connection-guard.ts';
import { simModelConfig, startGateway, type RunningProcess } from '../support/processes.ts';

const GATEWAY_FILE_LIMIT = 1024;
/** Sockets this test process keeps for itself (legitimate clients, the runner, node internals). */
const OWN_RESERVE = 200;
const ATTACKERS = Math.min(1000, (openFileLimit() ?? 4096) - OWN_RESERVE);
/** Legitimate requests are measured over this long, with this pause between them: longer than the
 *  headers timeout, so the gateway is seen closing slow connections as well as making room. */
const MEASURE_MS = 12_000;
const PAUSE_MS = 40;
const MODEL = 'sim-llama-3.1-8b';
const BODY = JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });

/** One chat request on a connection of its own; resolves with its status and latency in ms. */
function legitRequest(url: string): Promise<{ status: number; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: hostname, port, path: '/v1/chat/completions', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        res.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.setTimeout(30_000, () => req.destroy());
    req.end(BODY);
  });
}

async function measure(url: string): Promise<{ statuses: number[]; p50: number; p99: number }> {
  const results: { status: number; ms: number }[] = [];
  const end = Date.now() + MEASURE_MS;
  while (Date.now() < end) {
    results.push(await legitRequest(url));
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { statuses: results.map((r) => r.status), p50: at(0.5), p99: at(0.99) };
}

/** Connections that never finish their headers: a line every second, reconnecting when closed. */
class SlowLoris {
  private readonly sockets = new Set<Socket>();
  private running = true;
  private ticker: NodeJS.Timeout | undefined;
  opened = 0;
  closedByServer = 0;
  /** Longest any slow connection stayed open, in ms. */
  longestLife = 0;

  constructor(private readonly port: number, private readonly host: string) {}

  start(count: number): void {
    for (let i = 0; i < count; i++) this.open();
    this.ticker = setInterval(() => {
      for (const s of this.sockets) s.write(`x-slow-${this.opened % 97}: a\r\n`);
    }, 1_000);
  }

  get openNow(): number {
    return this.sockets.size;
  }

  private open(): void {
    if (!this.running) return;
    let openedAt = 0;
    const socket = connect(this.port, this.host, () => {
      openedAt = performance.now();
      this.opened += 1;
      socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    });
    socket.on('error', () => {});
    socket.on('data', () => {}); // a refusal or a 408; read and ignore
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (!this.running) return;
      if (openedAt > 0) this.longestLife = Math.max(this.longestLife, performance.now() - openedAt);
      this.closedByServer += 1;
      setTimeout(() => this.open(), 1_000).unref();
    });
  }

  stop(): void {
    this.running = false;
    clearInterval(this.ticker);
    for (const s of this.sockets) s.destroy();
  }
}

describe('slowloris', () => {
  let gateway: RunningProcess;
  let loris: SlowLoris | undefined;

  before(async () => {
    gateway = await startGateway({ config: simModelConfig({ replicas: 1, timeScale: 0 }), fileLimit: GATEWAY_FILE_LIMIT });
  });
  after(async () => {
    loris?.stop();
    await gateway?.stop();
  });

  it(`legitimate requests keep succeeding with normal latency under ${ATTACKERS} slow connections`, async (t) => {
    for (let i = 0; i < 20; i++) await legitRequest(gateway.url); // warm up
    const baseline = await measure(gateway.url);
    assert.deepEqual(new Set(baseline.statuses), new Set([200]));

    const { hostname, port } = new URL(gateway.url);
    loris = new SlowLoris(Number(port), hostname);
    loris.start(ATTACKERS);
    const deadline = Date.now() + 20_000;
    while (loris.opened < ATTACKERS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(loris.opened >= ATTACKERS, `the attack is on: ${loris.opened} connections opened`);

    let peakFds = 0;
    const sampler = setInterval(() => {
      try {
        peakFds = Math.max(peakFds, readdirSync(`/proc/${gateway.child.pid}/fd`).length);
      } catch {
        // not Linux, or the process is gone
      }
    }, 200);
    const attacked = await measure(gateway.url);
    clearInterval(sampler);
    loris.stop();

    t.diagnostic(`legit latency without attack: p50 ${baseline.p50.toFixed(1)} ms, p99 ${baseline.p99.toFixed(1)} ms (${baseline.statuses.length} requests)`);
    t.diagnostic(`legit latency under attack:   p50 ${attacked.p50.toFixed(1)} ms, p99 ${attacked.p99.toFixed(1)} ms (${attacked.statuses.length} requests)`);
    t.diagnostic(`attack: ${loris.opened} connections opened, ${loris.closedByServer} closed by the gateway (longest open ${(loris.longestLife / 1000).toFixed(1)} s); gateway peak fds ${peakFds} of ${GATEWAY_FILE_LIMIT}`);

    const failed = attacked.statuses.filter((s) => s !== 200);
    assert.equal(failed.length, 0, `legitimate requests failed under attack: ${JSON.stringify(failed.slice(0, 10))}`);
    // Generous bounds: the machine is shared, but a locked-out client waits seconds, not milliseconds.
    assert.ok(attacked.p50 < baseline.p50 * 5 + 50, `p50 under attack ${attacked.p50.toFixed(1)} ms vs ${baseline.p50.toFixed(1)} ms`);
    assert.ok(attacked.p99 < Math.max(1_000, baseline.p99 * 5), `p99 under attack ${attacked.p99.toFixed(1)} ms vs ${baseline.p99.toFixed(1)} ms`);
    // None outlives the 10 s headers timeout by much (Node checks it every second).
    assert.ok(loris.longestLife < 15_000, `a slow connection stayed open ${Math.round(loris.longestLife)} ms`);
    if (peakFds > 0) assert.ok(peakFds < GATEWAY_FILE_LIMIT - 50, `the gateway kept clear of its file limit (peak ${peakFds})`);

    const afterwards = await legitRequest(gateway.url);
    assert.equal(afterwards.status, 200);
  });
});
