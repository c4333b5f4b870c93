// One measured scenario: a fresh gateway over the replicas, interactive traffic from a warm-up to
// the end, a baseline without batch work, then one batch uploaded, created and followed to its end,
// then a tail without batch work again. Every interactive request is tagged with the phase it was
// sent in; the host, the gateway's own metrics and its view of the deployments are kept per phase.
// Optionally the interactive load takes a break in the middle of the batch (batch alone on the
// replicas) and comes back before it ends, to measure both of the gateway's batch ceilings and the
// switch from one to the other.

import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import OpenAI, { toStreamingFile } from 'openai';
import { startGateway, type RunningProcess } from '../../test/support/processes.ts';
import type { SimFleet } from '../routing/fleet.ts';
import { DeploymentSampler } from './deployments.ts';
import { readGateway, ttftPercentileBoundMs } from './gateway-metrics.ts';
import { HostMonitor } from './host.ts';
import { InteractiveLoad, type InteractiveShape } from './interactive.ts';
import { followBatch, type Poll } from './progress.ts';
import type { GatewayPhase } from './report.ts';
import { checkOutput, type OutputCheck } from './verify.ts';

export interface ScenarioOptions {
  label: string;
  fleet: SimFleet;
  model: string;
  policy: string;
  /** The gateway's `batch:` settings beyond its defaults. */
  batchConfig: Record<string, number>;
  /** After `besideS` seconds in progress beside interactive traffic, stop sending interactive
   *  requests until `resumeAtFraction` of the items are done, then send them again. */
  interactiveBreak?: { besideS: number; resumeAtFraction: number };
  input: { path: string; lines: number };
  interactive: InteractiveShape;
  /** Interactive requests straight to the replicas (investigation), not through the gateway. */
  direct: boolean;
  warmupS: number;
  baselineS: number;
  afterS: number;
  timeoutS: number;
  seed: number;
  /** Gateway data directory (store and files), removed by the caller. */
  dataDir: string;
  /** Check the output file line by line at the end. */
  checkOutput: boolean;
  log(msg: string): void;
}

export interface ScenarioResult {
  options: ScenarioOptions;
  load: InteractiveLoad;
  polls: Poll[];
  batch: OpenAI.Batch;
  uploadSeconds: number;
  totalSeconds: number;
  monitor: HostMonitor;
  gateway: Map<string, GatewayPhase>;
  concurrency: DeploymentSampler;
  output?: OutputCheck;
  /** performance.now() when the interactive load came back after its break. */
  resumedAt?: number;
  /** Batch progress by scenario phase, one mark per poll. */
  marks: PhaseMark[];
}

export interface PhaseMark {
  t: number;
  phase: string;
  done: number;
}

/** Batch items/s over the polls that fell in `phase`. */
export function itemsPerSecondIn(marks: PhaseMark[], phase: string): number {
  let items = 0;
  let ms = 0;
  for (let i = 0; i + 1 < marks.length; i++) {
    if (marks[i].phase !== phase) continue;
    items += marks[i + 1].done - marks[i].done;
    ms += marks[i + 1].t - marks[i].t;
  }
  return ms > 0 ? (items * 1000) / ms : NaN;
}

/** Phase names of the interactive break (the batch status otherwise). */
export const ALONE = 'in_progress, no interactive traffic';
export const RESUMED = 'in_progress, interactive traffic back';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The running gateway, so an interrupted benchmark can stop it. */
export let activeGateway: RunningProcess | undefined;

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const gw = await startGateway({
    // Data in the caller's temp dir (a later --data-dir wins), so the store and files go with it.
    args: ['--data-dir', o.dataDir],
    config: {
      log_level: 'warn',
      models: [
        {
          name: o.model,
          deployments: o.fleet.urls.map((url, i) => ({ id: `replica-${i}`, provider: 'openai-compatible', engine: 'vllm', url: `${url}/v1` })),
          routing: { policy: o.policy },
        },
      ],
      ...(Object.keys(o.batchConfig).length === 0 ? {} : { batch: o.batchConfig }),
    },
  });
  activeGateway = gw;
  try {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'bench-no-key', maxRetries: 0, timeout: 600_000 });
    const monitor = new HostMonitor(gw.child.pid ?? -1, o.fleet.pids);
    const gateway = new Map<string, GatewayPhase>();
    let lastReading = await readGateway(gw.url);
    let readings = Promise.resolve();
    // Readings in order, each closing the phase that just ended.
    const closeGatewayPhase = (ended: string) => {
      readings = readings.then(async () => {
        const r = await readGateway(gw.url);
        gateway.set(ended, { lagP99Ms: r.lagP99Ms, lagMaxMs: r.lagMaxMs, ttftP50Ms: ttftPercentileBoundMs(lastReading, r, 50), ttftP99Ms: ttftPercentileBoundMs(lastReading, r, 99) });
        lastReading = r;
      });
    };
    let phase = 'warm-up';
    const setPhase = (next: string) => {
      if (next === phase) return;
      monitor.phase(next);
      closeGatewayPhase(phase);
      o.log(`${o.label}: ${next}`);
      phase = next;
    };
    monitor.phase(phase);
    const load = new InteractiveLoad(o.direct ? o.fleet.urls : [gw.url], o.model, o.interactive, o.seed, () => phase);
    const concurrency = new DeploymentSampler(gw.url, () => phase, () => (o.direct ? 0 : load.open));
    load.start();
    await sleep(o.warmupS * 1000);
    setPhase('baseline');
    await sleep(o.baselineS * 1000);

    setPhase('upload');
    const uploadStart = performance.now();
    const file = await client.files.create({ file: toStreamingFile(createReadStream(o.input.path), 'batch.jsonl', { type: 'application/jsonl' }), purpose: 'batch' });
    const uploadSeconds = (performance.now() - uploadStart) / 1000;
    const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const createdAt = performance.now();
    setPhase(created.status);
    let lastLog = performance.now();
    const marks: PhaseMark[] = [];
    let inProgressSince: number | undefined;
    let breakState: 'before' | 'on' | 'over' = 'before';
    let resumedAt: number | undefined;
    const { polls, batch } = await followBatch(
      client,
      created.id,
      (p) => {
        let next = p.status;
        if (p.status === 'in_progress' && o.interactiveBreak) {
          inProgressSince ??= p.t;
          if (breakState === 'before' && p.t - inProgressSince >= o.interactiveBreak.besideS * 1000) {
            load.pause();
            breakState = 'on';
          } else if (breakState === 'on' && p.done >= o.interactiveBreak.resumeAtFraction * p.total) {
            load.start();
            resumedAt = performance.now();
            breakState = 'over';
          }
          if (breakState === 'on') next = ALONE;
          else if (breakState === 'over') next = RESUMED;
        }
        if (breakState === 'on' && p.status !== 'in_progress') {
          load.start();
          breakState = 'over';
        }
        setPhase(next);
        marks.push({ t: p.t, phase: next, done: p.done });
        if (performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          o.log(`${o.label}: ${p.status} ${p.done}/${p.total}, gateway RSS peak so far ${(monitor.peakRss / 2 ** 20).toFixed(0)} MB`);
        }
      },
      o.timeoutS * 1000,
    );
    const totalSeconds = (performance.now() - createdAt) / 1000;
    o.log(`${o.label}: batch ${batch.status} after ${totalSeconds.toFixed(0)} s: ${JSON.stringify(batch.request_counts)}`);
    if (o.afterS > 0) {
      setPhase('after');
      await sleep(o.afterS * 1000);
    }
    setPhase('download + check');
    await load.close();
    const output = o.checkOutput && batch.output_file_id ? await checkOutput(client, batch.output_file_id, o.input.lines) : undefined;
    monitor.stop();
    concurrency.stop();
    closeGatewayPhase(phase);
    await readings;
    return { options: o, load, polls, batch, uploadSeconds, totalSeconds, monitor, gateway, concurrency, output, resumedAt, marks };
  } finally {
    activeGateway = undefined;
    await gw.stop();
  }
}
