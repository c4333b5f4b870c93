// The processes the overhead benchmark compares, each started on 127.0.0.1 and pinned to the
// contenders' core: the stub upstream itself (direct), Switchyard with tenancy and FinOps on and
// off, nginx (proxy_pass with upstream keep-alive) and Portkey's open-source gateway.
// Each knows how a request for a scenario reaches the stub through it (path, headers, model).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Target } from './driver-protocol.ts';
import { processTree } from './proc-stats.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STUB = fileURLToPath(new URL('./stub-upstream.ts', import.meta.url));
const NODE_FLOOR = fileURLToPath(new URL('./node-floor-proxy.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;

/** json: one small completion; burst: 100 chunks at once; paced: every PACED_MS; hold: every HOLD_MS. */
export type Scenario = 'json' | 'burst' | 'paced' | 'hold';
export const PACED_MS = Number(process.env.BENCH_PACED_MS ?? 10);
export const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 300);
const PACE_PATH: Record<Scenario, string> = { json: '', burst: '', paced: `/pace/${PACED_MS}`, hold: `/pace/${HOLD_MS}` };
const MODEL: Record<Scenario, string> = { json: 'bench', burst: 'bench', paced: 'bench-paced', hold: 'bench-hold' };

export function requestBody(scenario: Scenario, model = MODEL[scenario]): string {
  const body: Record<string, unknown> = { model, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }], max_tokens: 16 };
  if (scenario !== 'json') body.stream = true;
  return JSON.stringify(body);
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** The contender's processes (for CPU and RSS), read again each time (nginx may respawn workers). */
  pids(): number[];
  target(scenario: Scenario): Target;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs argv under `taskset -c <cpu>` when a core is given (taskset execs, so the pid is the program's). */
function pinned(cpu: number | undefined, argv: string[]): [string, string[]] {
  return cpu === undefined ? [argv[0], argv.slice(1)] : ['taskset', ['-c', String(cpu), ...argv]];
}

function logFile(dir: string, name: string): { path: string; fd: number } {
  const path = join(dir, `${name}.log`);
  return { path, fd: openSync(path, 'a') };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, child: ChildProcess, log: string): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before it was ready:\n${readFileSync(log, 'utf8').slice(-4000)}`);
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${START_TIMEOUT_MS} ms:\n${readFileSync(log, 'utf8').slice(-4000)}`);
}

async function answers(url: string): Promise<true | undefined> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status < 500 ? true : undefined;
  } catch {
    return undefined;
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
}

export interface StubUpstream {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export async function startStub(dir: string, cpu: number | undefined): Promise<StubUpstream> {
  const log = logFile(dir, 'stub');
  const [cmd, args] = pinned(cpu, [process.execPath, '--import', 'tsx', STUB, '0']);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', log.fd, log.fd] });
  const port = await waitFor('stub upstream', () => Number(/ready (\d+)/.exec(readFileSync(log.path, 'utf8'))?.[1]) || undefined, child, log.path);
  return { port, pid: child.pid!, stop: stopper(child) };
}

/** The stub itself, for the baseline every other contender is compared with. */
export function direct(stub: StubUpstream): Contender {
  return {
    id: 'direct',
    label: 'direct to the stub',
    pids: () => [stub.pid],
    target: (s) => ({ port: stub.port, path: `${PACE_PATH[s]}/v1/chat/completions`, headers: {}, body: requestBody(s) }),
    stop: async () => {},
  };
}

/** node:http + undici passing bytes through: what any Node gateway pays before doing anything. */
export async function startNodeFloor(dir: string, stub: StubUpstream, cpu: number | undefined): Promise<Contender> {
  const log = logFile(dir, 'node-floor');
  const [cmd, args] = pinned(cpu, [process.execPath, '--import', 'tsx', NODE_FLOOR, String(stub.port)]);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', log.fd, log.fd] });
  const port = await waitFor('Node floor proxy', () => Number(/ready (\d+)/.exec(readFileSync(log.path, 'utf8'))?.[1]) || undefined, child, log.path);
  return {
    id: 'node-floor',
    label: 'bare Node proxy (node:http + undici, no features)',
    pids: () => [child.pid!],
    target: (s) => ({ port, path: `${PACE_PATH[s]}/v1/chat/completions`, headers: {}, body: requestBody(s) }),
    stop: stopper(child),
  };
}

export interface SwitchyardOptions {
  /** Master key, a virtual key with RPM/TPM/concurrency limits, key/team/global budgets and prices. */
  tenancy: boolean;
  cpu: number | undefined;
  dir: string;
  stub: StubUpstream;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Extra environment (profiling experiments, e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /** A second ON contender in the same run, told apart by id (A/B experiments with node flags). */
  variant?: string;
  /**
   * Another checkout of Switchyard (with its node_modules) to run instead of this one: the ON
   * gateway at an earlier commit, measured beside this one in the same run (before/after a change).
   */
  baseline?: { root: string; label: string };
}

const MASTER_KEY = 'sk-bench-master-0123456789';
const HUGE = 1_000_000_000;

function switchyardConfig(stub: StubUpstream, tenancy: boolean) {
  const deployment = (pace: string) => [{ provider: 'openai-compatible', engine: 'vllm', url: `http://127.0.0.1:${stub.port}${pace}/v1`, model: 'bench' }];
  const models = (['json', 'paced', 'hold'] as const).map((s) => ({ name: MODEL[s], deployments: deployment(PACE_PATH[s]) }));
  const price = { input_per_1m: 0.1, output_per_1m: 0.4 };
  return {
    models,
    finops: tenancy
      ? {
          prices: Object.fromEntries(models.map((m) => [m.name, price])),
          budgets: [{ id: 'bench-global', scope: 'global', period: 'monthly', limit_usd: HUGE }],
        }
      : undefined,
  };
}

async function admin(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/admin/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`POST /admin/v1${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** A team and a virtual key with every limit set (high enough never to refuse), and key and team budgets. */
async function provisionTenant(url: string): Promise<string> {
  const limits = { rpm: HUGE, tpm: HUGE, max_concurrent: 100_000 };
  const team = await admin(url, '/teams', { name: 'bench-team', ...limits });
  const key = await admin(url, '/keys', { name: 'bench-key', team_id: team.id, models: Object.values(MODEL), ...limits });
  await admin(url, '/budgets', { id: 'bench-team', scope: 'team', scope_id: team.id, period: 'monthly', limit_usd: HUGE });
  await admin(url, '/budgets', { id: 'bench-key', scope: 'key', scope_id: key.id, period: 'monthly', limit_usd: HUGE });
  return key.key as string;
}

export async function startSwitchyard(options: SwitchyardOptions): Promise<Contender> {
  const id = options.baseline ? 'switchyard-baseline' : options.variant ? 'switchyard-variant' : options.tenancy ? 'switchyard-on' : 'switchyard-off';
  const work = mkdtempSync(join(options.dir, `${id}-`));
  const configFile = join(work, 'switchyard.yaml');
  writeFileSync(configFile, stringify(switchyardConfig(options.stub, options.tenancy)));
  const log = logFile(options.dir, id);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LOG_LEVEL;
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (options.tenancy) env.SWITCHYARD_MASTER_KEY = MASTER_KEY;
  else delete env.SWITCHYARD_MASTER_KEY;
  Object.assign(env, options.env);
  const argv = [process.execPath, ...(options.nodeFlags ?? []), '--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', join(work, 'data'), '--config', configFile];
  const [cmd, args] = pinned(options.cpu, argv);
  const child = spawn(cmd, args, { cwd: options.baseline?.root ?? REPO_ROOT, env, stdio: ['ignore', log.fd, log.fd] });
  const url = await waitFor(`Switchyard (${id})`, () => /listening on (http:\/\/\S+)/.exec(readFileSync(log.path, 'utf8'))?.[1], child, log.path);
  const port = Number(new URL(url).port);
  const key = options.tenancy ? await provisionTenant(url) : undefined;
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return {
    id,
    label: options.baseline
      ? `Switchyard ON at ${options.baseline.label}`
      : options.variant
      ? `Switchyard ON, variant: ${options.variant}`
      : options.tenancy
        ? 'Switchyard, keys + limits + budgets + ledger ON'
        : 'Switchyard, OFF (no key, no limits, no budgets)',
    pids: () => [child.pid!],
    target: (s) => ({ port, path: '/v1/chat/completions', headers, body: requestBody(s) }),
    stop: stopper(child),
  };
}

function nginxConf(dir: string, port: number, upstreamPort: number): string {
  // One worker, as Switchyard and Portkey are one process each; keep-alive on both sides;
  // proxy_buffering off so SSE chunks are relayed as they come; access log buffered.
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 30000; }
http {
  access_log ${dir}/nginx-access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream stub {
    server 127.0.0.1:${upstreamPort};
    keepalive 1024;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }
}
`;
}

export async function startNginx(nginx: string, dir: string, stub: StubUpstream, cpu: number | undefined): Promise<Contender> {
  const work = mkdtempSync(join(dir, 'nginx-'));
  const port = await freePort();
  writeFileSync(join(work, 'nginx.conf'), nginxConf(work, port, stub.port));
  const log = logFile(dir, 'nginx');
  const [cmd, args] = pinned(cpu, [nginx, '-p', work, '-c', join(work, 'nginx.conf'), '-g', 'daemon off;']);
  const child = spawn(cmd, args, { stdio: ['ignore', log.fd, log.fd] });
  await waitFor('nginx', () => answers(`http://127.0.0.1:${port}/v1/models`), child, log.path);
  return {
    id: 'nginx',
    label: 'nginx proxy_pass (1 worker, keep-alive)',
    pids: () => processTree(child.pid!),
    target: (s) => ({ port, path: `${PACE_PATH[s]}/v1/chat/completions`, headers: {}, body: requestBody(s) }),
    stop: async () => {
      // The master stops its workers on SIGQUIT after they finish; SIGTERM is the fast way.
      await stopper(child)();
    },
  };
}

export async function startPortkey(entry: string, version: string, dir: string, stub: StubUpstream, cpu: number | undefined): Promise<Contender> {
  const port = await freePort();
  const log = logFile(dir, 'portkey');
  const [cmd, args] = pinned(cpu, [process.execPath, entry, `--port=${port}`, '--headless']);
  const child = spawn(cmd, args, { stdio: ['ignore', log.fd, log.fd] });
  await waitFor("Portkey's gateway", () => answers(`http://127.0.0.1:${port}/`), child, log.path);
  return {
    id: 'portkey',
    label: `Portkey gateway ${version} (Node, as shipped)`,
    pids: () => [child.pid!],
    target: (s) => ({
      port,
      path: '/v1/chat/completions',
      // Portkey's way to reach any OpenAI-compatible server: the openai provider with a custom host.
      headers: { authorization: 'Bearer sk-bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `http://127.0.0.1:${stub.port}${PACE_PATH[s]}/v1` },
      body: requestBody(s, 'bench'),
    }),
    stop: stopper(child),
  };
}
