// `switchyard batch ...`: submit a JSONL file of requests as an OpenAI-compatible batch, follow it
// with a progress line, download its results. It speaks the gateway's public /v1/files and
// /v1/batches API like any OpenAI client, so it works against any replica. Auth comes from the
// environment, never argv (other users can read argv): SWITCHYARD_API_KEY (a virtual key, so the
// spend lands on its team), else SWITCHYARD_MASTER_KEY, else none (a loopback gateway without one).

import { basename } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { printList } from './table.ts';
import { BATCHABLE_PATHS } from '../api/endpoints.ts';
import { ENDPOINT_GUESSES, prepareUpload, uploadRefusal } from './batch-input.ts';
import { apiClient, GatewayError, poller, processIo, runAction, withGatewayUrl, type CliIo, type GatewayClient, type Json } from './gateway-client.ts';
import { formatDuration, ProgressReporter, type BatchCounts } from './progress.ts';

// The tests (and any caller) reach the input helpers through the command module, as before the split.
export { normaliseLine, prepareUpload } from './batch-input.ts';

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
const POLL_MS = 500;
/** How long `submit` without --wait waits for the gateway to accept or reject the file. */
const VALIDATION_WAIT_MS = 5_000;

/** What the batch commands need beyond the keys commands' io: terminal facts and Ctrl-C. */
export interface BatchIo extends CliIo {
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  columns?: number;
  /** Runs `handler` on Ctrl-C instead of exiting; returns the function that stops doing so. */
  onInterrupt(handler: () => void): () => void;
}

const batchProcessIo: BatchIo = {
  ...processIo,
  stdoutIsTTY: Boolean(process.stdout.isTTY),
  stderrIsTTY: Boolean(process.stderr.isTTY),
  get columns() {
    return process.stdout.columns; // read at each redraw: the terminal may have been resized
  },
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
};

// ---------------------------------------------------------------------------------------------
// Following a batch

const str = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
const countsOf = (batch: Json): BatchCounts => {
  const c = (batch.request_counts ?? {}) as Partial<BatchCounts>;
  return { total: c.total ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
};
export const isoSeconds = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000).toISOString().replace('.000Z', 'Z') : '-');

/** `errors.data[]` of a batch whose input was rejected, one line each. */
function inputErrors(batch: Json): string[] {
  const data = ((batch.errors as Json | null)?.data ?? []) as Json[];
  return data.map((e) => {
    const message = str(e.message);
    // The gateway's messages already start with "Line N:"; older ones may not.
    const where = typeof e.line === 'number' && e.line > 0 && !/^line \d+/i.test(message) ? `line ${e.line}: ` : '';
    return `  ${where}${message}${e.code ? ` (${str(e.code)})` : ''}`;
  });
}

/** Polls until the batch reaches a terminal status, drawing progress; 'interrupted' on Ctrl-C. */
async function follow(api: GatewayClient, id: string, io: BatchIo, json: boolean): Promise<Json | 'interrupted'> {
  const reporter = new ProgressReporter(json ? io.err : io.out, {
    tty: json ? io.stderrIsTTY : io.stdoutIsTTY,
    get columns() {
      return io.columns;
    },
    label: id,
  });
  const interrupt = new AbortController();
  const stopListening = io.onInterrupt(() => interrupt.abort());
  const poll = poller(api, `/v1/batches/${encodeURIComponent(id)}`);
  try {
    for (;;) {
      let batch: Json | undefined; // undefined: a transient failure, tried again at the next tick
      try {
        batch = await poll();
      } catch (err) {
        reporter.finish();
        // Giving up on following is not giving up on the batch; say so, or users resubmit it.
        throw new GatewayError(`${(err as Error).message}; the batch keeps running on the gateway, follow it again with: switchyard batch wait ${id}`, (err as GatewayError).status);
      }
      if (interrupt.signal.aborted) break;
      if (batch) {
        reporter.update(String(batch.status), countsOf(batch), io.now());
        if (TERMINAL.has(String(batch.status))) {
          reporter.finish();
          return batch;
        }
      }
      await delay(POLL_MS, undefined, { signal: interrupt.signal }).catch(() => {});
      if (interrupt.signal.aborted) break;
    }
    reporter.finish();
    return 'interrupted';
  } finally {
    stopListening();
  }
}

/** The batch once it has left `validating`, or as it is after a few seconds of validation. */
async function settleValidation(api: GatewayClient, batch: Json): Promise<Json> {
  const deadline = Date.now() + VALIDATION_WAIT_MS;
  while (batch.status === 'validating' && Date.now() < deadline) {
    await delay(POLL_MS / 2);
    batch = await api.json('GET', `/v1/batches/${encodeURIComponent(String(batch.id))}`);
  }
  return batch;
}

/** Downloads whichever result files the batch has; returns the lines to print about them. */
async function downloadResults(api: GatewayClient, batch: Json, prefix: string): Promise<string[]> {
  const said: string[] = [];
  for (const [field, suffix, what] of [
    ['output_file_id', 'output', 'result'],
    ['error_file_id', 'errors', 'failed request'],
  ] as const) {
    const fileId = batch[field];
    if (typeof fileId !== 'string' || fileId === '') continue;
    const dest = `${prefix}.${suffix}.jsonl`;
    const lines = await api.download(`/v1/files/${encodeURIComponent(fileId)}/content`, dest);
    said.push(`Wrote ${lines} ${what}${lines === 1 ? '' : 's'} to ${dest}`);
  }
  if (said.length === 0 && batch.status !== 'failed') said.push('The batch has no result files.');
  return said;
}

function summary(batch: Json): string[] {
  const { total, completed, failed } = countsOf(batch);
  const status = String(batch.status);
  const end = [batch.completed_at, batch.failed_at, batch.cancelled_at, batch.expired_at].find((t) => typeof t === 'number') as number | undefined;
  const took = end !== undefined && typeof batch.created_at === 'number' ? ` in ${formatDuration(end - batch.created_at)}` : '';
  if (status === 'failed') return [`Batch ${str(batch.id)} failed: the gateway rejected its input file:`, ...inputErrors(batch)];
  const notRun = total - completed - failed;
  const lines = [`Batch ${str(batch.id)} ${status}${took}: ${completed} of ${total} requests succeeded, ${failed} failed${notRun > 0 ? `, ${notRun} not run` : ''}.`];
  // Failed requests also wait in the dead-letter queue, where they can be replayed once fixed.
  if (failed > 0) lines.push(`Failed requests are kept in the dead-letter queue: switchyard dlq list --batch ${str(batch.id)}`);
  return lines;
}

/** Prints the end of a batch, downloads its results and sets the exit code: 0 only when it
 *  completed with every request succeeded. */
async function finish(api: GatewayClient, batch: Json, prefix: string, io: BatchIo, json: boolean): Promise<void> {
  const info = json ? io.err : io.out;
  info(summary(batch).join('\n') + '\n');
  for (const line of await downloadResults(api, batch, prefix)) info(line + '\n');
  if (json) io.out(JSON.stringify(batch, null, 2) + '\n');
  const ok = batch.status === 'completed' && countsOf(batch).failed === 0;
  io.setExitCode(ok ? 0 : 1);
}

/** A path as a shell word, so a printed command can be pasted back. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

async function waitAndFinish(api: GatewayClient, id: string, prefix: string, io: BatchIo, json: boolean): Promise<void> {
  const batch = await follow(api, id, io, json);
  if (batch === 'interrupted') {
    const out = shellWord(prefix);
    io.err(
      `\nStopped following batch ${id}; it keeps running on the gateway.\n` +
        `  follow it again:   switchyard batch wait ${id} --out ${out}\n` +
        `  check on it:       switchyard batch status ${id}\n` +
        `  fetch its results: switchyard batch results ${id} --out ${out}\n` +
        `  cancel it:         switchyard batch cancel ${id}\n`,
    );
    io.setExitCode(130);
    return;
  }
  await finish(api, batch, prefix, io, json);
}

// ---------------------------------------------------------------------------------------------
// Commands

interface Connection {
  url?: string;
  json?: boolean;
}

interface SubmitFlags extends Connection {
  model?: string;
  endpoint?: string;
  wait?: boolean;
  out?: string;
}

function endpointArg(value: string): string {
  if (!(BATCHABLE_PATHS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${BATCHABLE_PATHS.join(', ')}`);
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const withConnection = (cmd: Command) => withGatewayUrl(cmd).option('--json', 'print JSON on stdout (messages and progress go to stderr)');

async function submit(file: string, flags: SubmitFlags, io: BatchIo): Promise<void> {
  const info = flags.json ? io.err : io.out;
  const prepared = await prepareUpload(file, { endpoint: flags.endpoint, model: flags.model });
  try {
    const refusal = uploadRefusal(file, prepared);
    if (refusal) throw new Error(refusal);
    const api = apiClient(flags.url, io);
    let uploaded: Json;
    try {
      uploaded = await api.uploadFile(prepared.path, basename(file), 'batch');
    } catch (err) {
      throw err instanceof GatewayError && err.status ? new GatewayError(`the gateway refused ${file}: ${err.message}`, err.status) : err;
    }
    const batch = await api.json('POST', '/v1/batches', { input_file_id: uploaded.id, endpoint: prepared.endpoint, completion_window: '24h' });
    const id = String(batch.id);
    info(`Submitted batch ${id}: ${prepared.requests} requests to ${prepared.endpoint} (file ${str(uploaded.id)}).\n`);
    const prefix = flags.out ?? file.replace(/\.jsonl$/i, '');
    if (!flags.wait) {
      // A file the gateway rejects while validating (a model it does not serve, a url that does
      // not match) is worth hearing about now, not at the next `batch status`.
      const checked = await settleValidation(api, batch);
      if (flags.json) io.out(JSON.stringify(checked, null, 2) + '\n');
      if (checked.status === 'failed') {
        info(summary(checked).join('\n') + '\n');
        io.setExitCode(1);
      } else if (!flags.json) info(`Follow it with: switchyard batch wait ${id} --out ${shellWord(prefix)}\n`);
      return;
    }
    await waitAndFinish(api, id, prefix, io, Boolean(flags.json));
  } finally {
    await prepared.cleanup();
  }
}

function printStatus(batch: Json, io: BatchIo): void {
  const { total, completed, failed } = countsOf(batch);
  const rows: [string, unknown][] = [
    ['status', batch.status],
    ['endpoint', batch.endpoint],
    ['model', batch.model],
    ['requests', `${total} total, ${completed} succeeded, ${failed} failed`],
    ['input file', batch.input_file_id],
    ['output file', batch.output_file_id],
    ['error file', batch.error_file_id],
    ['created', isoSeconds(batch.created_at)],
    ['expires', isoSeconds(batch.expires_at)],
  ];
  for (const field of ['in_progress_at', 'finalizing_at', 'completed_at', 'failed_at', 'cancelling_at', 'cancelled_at', 'expired_at']) {
    if (typeof batch[field] === 'number') rows.push([field.replace(/_at$/, '').replace('_', ' '), isoSeconds(batch[field])]);
  }
  io.out(`${str(batch.id)}\n${rows.map(([k, v]) => `  ${k.padEnd(13)}${str(v)}`).join('\n')}\n`);
  const errors = inputErrors(batch);
  if (errors.length > 0) io.out(`errors:\n${errors.join('\n')}\n`);
}

export function registerBatchCommand(program: Command, io: BatchIo = batchProcessIo): void {
  const batch = program
    .command('batch')
    .description('submit JSONL files of requests as batches, follow them, download results (OpenAI Batch API; auth: $SWITCHYARD_API_KEY, else $SWITCHYARD_MASTER_KEY)');

  withConnection(
    batch
      .command('submit')
      .description('upload FILE.jsonl and start a batch; prints the batch id')
      .argument('<file>', 'JSONL: OpenAI batch lines {custom_id, method, url, body}, or bare request bodies (wrapped as custom_id line-<N>)')
      .option('--model <model>', 'model for bodies that name none (a model already in a body is kept)')
      .option('--endpoint <path>', `url for bare bodies and the batch (default: from the first line; bodies: ${ENDPOINT_GUESSES})`, endpointArg)
      .option('--wait', 'follow progress until the batch ends, then download results (exit 0 only if every request succeeded)')
      .option('--out <prefix>', 'with --wait: write <prefix>.output.jsonl and <prefix>.errors.jsonl (default: FILE without .jsonl)'),
  ).action(runAction(io, (file: string, flags: SubmitFlags) => submit(file, flags, io)));

  withConnection(
    batch
      .command('wait')
      .description('follow a running batch until it ends, then download its results (as submit --wait)')
      .argument('<id>', 'batch id (batch_...)')
      .option('--out <prefix>', 'write <prefix>.output.jsonl and <prefix>.errors.jsonl (default: the batch id)'),
  ).action(
    runAction(io, (id: string, flags: Connection & { out?: string }) => waitAndFinish(apiClient(flags.url, io), id, flags.out ?? id, io, Boolean(flags.json))),
  );

  withConnection(batch.command('status').description('show a batch: status, request counts, files, input errors').argument('<id>', 'batch id (batch_...)')).action(
    runAction(io, async (id: string, flags: Connection) => {
      const found = await apiClient(flags.url, io).json('GET', `/v1/batches/${encodeURIComponent(id)}`);
      if (flags.json) io.out(JSON.stringify(found, null, 2) + '\n');
      else printStatus(found, io);
    }),
  );

  withConnection(batch.command('list').description('list batches, newest first'))
    .option('--limit <n>', 'at most this many', positiveInt, 20)
    .option('--after <id>', 'start after this batch id (paging)')
    .action(
      runAction(io, async (flags: Connection & { limit: number; after?: string }) => {
        const query = new URLSearchParams({ limit: String(flags.limit) });
        if (flags.after) query.set('after', flags.after);
        const page = await apiClient(flags.url, io).json('GET', `/v1/batches?${query}`);
        const data = (page.data ?? []) as Json[];
        const printed = printList(io.out, flags.json, page, data, 'No batches.\n', [
          ['ID', (b) => b.id],
          ['STATUS', (b) => b.status],
          ['ENDPOINT', (b) => b.endpoint],
          ['MODEL', (b) => b.model],
          ['TOTAL', (b) => countsOf(b).total],
          ['DONE', (b) => countsOf(b).completed],
          ['FAILED', (b) => countsOf(b).failed],
          ['CREATED', (b) => isoSeconds(b.created_at)],
        ]);
        if (printed && page.has_more) io.out(`More: switchyard batch list --after ${str(page.last_id)}\n`);
      }),
    );

  withConnection(batch.command('cancel').description('cancel a batch; requests already running finish, finished results stay downloadable').argument('<id>', 'batch id (batch_...)')).action(
    runAction(io, async (id: string, flags: Connection) => {
      const cancelled = await apiClient(flags.url, io).json('POST', `/v1/batches/${encodeURIComponent(id)}/cancel`);
      if (flags.json) io.out(JSON.stringify(cancelled, null, 2) + '\n');
      else io.out(`Batch ${str(cancelled.id)} is ${str(cancelled.status)}.\n`);
    }),
  );

  withConnection(
    batch
      .command('results')
      .description('download the results of a finished batch')
      .argument('<id>', 'batch id (batch_...)')
      .option('--out <prefix>', 'write <prefix>.output.jsonl and <prefix>.errors.jsonl (default: the batch id)'),
  ).action(
    runAction(io, async (id: string, flags: Connection & { out?: string }) => {
      const api = apiClient(flags.url, io);
      const found = await api.json('GET', `/v1/batches/${encodeURIComponent(id)}`);
      if (!TERMINAL.has(String(found.status))) {
        const { total, completed, failed } = countsOf(found);
        throw new Error(`batch ${id} is still ${str(found.status)} (${completed + failed}/${total} finished); its results are written when it ends. Follow it with: switchyard batch wait ${id}`);
      }
      await finish(api, found, flags.out ?? id, io, Boolean(flags.json));
    }),
  );
}
