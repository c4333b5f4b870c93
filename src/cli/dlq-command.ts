// `switchyard dlq list|show|replay|purge`: the dead-letter queue (batch requests and webhooks that
// failed for good) through the gateway's admin API. Needs SWITCHYARD_MASTER_KEY, never from argv.
// Replay and purge act on explicit ids or on a filter; with neither they refuse rather than guess
// that "everything" was meant (purging everything takes an explicit --all).

import { InvalidArgumentError, type Command } from 'commander';
import { isoSeconds } from './batch-command.ts';
import { printList } from './table.ts';
import { adminClient, processIo, runAction, UsageError, withGatewayUrl, type CliIo, type Json } from './gateway-client.ts';

const KINDS = ['batch_item', 'webhook'] as const;
const INTO = ['original', 'new_batch'] as const;

interface Connection {
  url?: string;
  json?: boolean;
}

export interface FilterFlags {
  batch?: string;
  model?: string;
  error?: string;
  kind?: string;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** The filter flags as the API's field names, leaving out those not given. */
export function filterOf(flags: FilterFlags): Record<string, string> {
  const filter: Record<string, string> = {};
  if (flags.batch) filter.batch_id = flags.batch;
  if (flags.model) filter.model = flags.model;
  if (flags.error) filter.error_code = flags.error;
  if (flags.kind) filter.kind = flags.kind;
  return filter;
}

/** The body of POST /admin/v1/dlq/replay; a UsageError when it would select nothing definite. */
export function replayBody(ids: string[], flags: FilterFlags & { into?: string }): Json {
  const filter = filterOf(flags);
  const hasFilter = Object.keys(filter).length > 0;
  if (ids.length === 0 && !hasFilter) throw new UsageError('say what to replay: entry ids, or a filter (--batch, --model, --error, --kind)');
  if (ids.length > 0 && hasFilter) throw new UsageError('give entry ids or a filter, not both');
  return { ...(ids.length > 0 ? { ids } : { filter }), ...(flags.into ? { into: flags.into } : {}) };
}

/** The DELETE requests of a purge: one per id, or one with the filter (or all=true) as query. */
export function purgeRequests(ids: string[], flags: FilterFlags & { all?: boolean }): string[] {
  const filter = filterOf(flags);
  const hasFilter = Object.keys(filter).length > 0;
  const selectors = [ids.length > 0, hasFilter, Boolean(flags.all)].filter(Boolean).length;
  if (selectors === 0) throw new UsageError('say what to purge: entry ids, a filter (--batch, --model, --error, --kind), or --all');
  if (selectors > 1) throw new UsageError('give entry ids, a filter or --all, only one of them');
  if (ids.length > 0) return ids.map((id) => `/admin/v1/dlq/${encodeURIComponent(id)}`);
  return [`/admin/v1/dlq?${new URLSearchParams(flags.all ? { all: 'true' } : filter)}`];
}

const withConnection = (cmd: Command) => withGatewayUrl(cmd).option('--json', 'print JSON instead of text');

const withFilter = (cmd: Command) =>
  cmd
    .option('--batch <id>', 'entries of this batch')
    .option('--model <model>', 'entries for this model')
    .option('--error <code>', 'entries whose last error has this code (e.g. context_length_exceeded, upstream_error)')
    .option('--kind <kind>', `${KINDS.join(' or ')}`, oneOf(KINDS));

export function registerDlqCommand(program: Command, io: CliIo = processIo): void {
  const dlq = program
    .command('dlq')
    .description('inspect, replay and purge the dead-letter queue: batch requests and webhooks that failed for good (admin API; needs SWITCHYARD_MASTER_KEY)');

  withConnection(withFilter(dlq.command('list').description('list entries, newest first')))
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--after <id>', 'start after this entry id (paging)')
    .action(
      runAction(io, async (flags: Connection & FilterFlags & { limit: number; after?: string }) => {
        const query = new URLSearchParams({ ...filterOf(flags), limit: String(flags.limit), ...(flags.after ? { after: flags.after } : {}) });
        const page = await adminClient(flags.url, io).json('GET', `/admin/v1/dlq?${query}`);
        const data = (page.data ?? []) as Json[];
        const printed = printList(io.out, flags.json, page, data, 'The dead-letter queue has no such entries.\n', [
          ['ID', (e) => e.id],
          ['KIND', (e) => e.kind],
          ['BATCH', (e) => e.batch_id],
          ['CUSTOM_ID', (e) => e.custom_id],
          ['MODEL', (e) => e.model],
          ['ERROR', (e) => (e.error as Json | null)?.code],
          ['ATTEMPTS', (e) => e.attempts],
          ['CREATED', (e) => isoSeconds(e.created_at)],
        ]);
        if (printed && page.has_more) io.out(`More: switchyard dlq list --after ${String(page.last_id)} (with the same filter)\n`);
      }),
    );

  withGatewayUrl(dlq.command('show').description('print one entry as JSON: the request, its last error and every attempt').argument('<id>', 'entry id (dlq_...)')).action(
    runAction(io, async (id: string, flags: Connection) => {
      const entry = await adminClient(flags.url, io).json('GET', `/admin/v1/dlq/${encodeURIComponent(id)}`);
      io.out(JSON.stringify(entry, null, 2) + '\n');
    }),
  );

  withConnection(
    withFilter(
      dlq
        .command('replay')
        .description('send entries again: batch requests rejoin their batch (or a new one), webhooks are redelivered')
        .argument('[ids...]', 'entry ids (dlq_...); or select entries with a filter instead'),
    ),
  )
    .option('--into <where>', `batch requests go into the ${INTO.join(' batch or a ')} (gateway default: original)`, oneOf(INTO))
    .action(
      runAction(io, async (ids: string[], flags: Connection & FilterFlags & { into?: string }) => {
        const body = replayBody(ids, flags);
        const result = await adminClient(flags.url, io).json('POST', '/admin/v1/dlq/replay', body);
        const batches = (result.batches ?? []) as string[];
        const webhooks = Number(result.webhooks ?? 0);
        const replayed = Number(result.replayed ?? 0);
        const skipped = ((result.skipped ?? []) as { id: string; reason: string }[]).map((s) => `${s.id}: ${s.reason}`);
        if (skipped.length > 0) {
          io.err(`Not replayed:\n  ${skipped.join('\n  ')}\n`);
          io.setExitCode(1);
        }
        if (flags.json) return io.out(JSON.stringify(result, null, 2) + '\n');
        if (replayed === 0) return io.out(skipped.length > 0 ? 'Nothing was replayed.\n' : 'Nothing to replay: no entry matched.\n');
        const items = replayed - webhooks;
        const what = [
          items > 0 ? `${items} batch request${items === 1 ? '' : 's'}${batches.length > 0 ? ` into ${batches.join(', ')}` : ''}` : '',
          webhooks > 0 ? `${webhooks} webhook${webhooks === 1 ? '' : 's'}` : '',
        ].filter(Boolean);
        io.out(`Replayed ${replayed} entr${replayed === 1 ? 'y' : 'ies'}: ${what.join(' and ')}.\n`);
        for (const id of batches.slice(0, 5)) io.out(`Follow it with: switchyard batch wait ${id}\n`);
      }),
    );

  withConnection(
    withFilter(
      dlq
        .command('purge')
        .description('delete entries for good')
        .argument('[ids...]', 'entry ids (dlq_...); or select entries with a filter, or --all'),
    ),
  )
    .option('--all', 'delete every entry')
    .action(
      runAction(io, async (ids: string[], flags: Connection & FilterFlags & { all?: boolean }) => {
        const api = adminClient(flags.url, io);
        let purged = 0;
        const failures: string[] = [];
        // One id that is already gone should not stop the others from being deleted.
        for (const path of purgeRequests(ids, flags)) {
          try {
            const result = await api.json('DELETE', path);
            purged += typeof result.purged === 'number' ? result.purged : 1;
          } catch (err) {
            if (ids.length <= 1) throw err;
            failures.push(`${decodeURIComponent(path.split('/').at(-1)!)}: ${(err as Error).message}`);
          }
        }
        if (flags.json) io.out(JSON.stringify({ object: 'dlq.purge', purged }, null, 2) + '\n');
        else io.out(`Purged ${purged} entr${purged === 1 ? 'y' : 'ies'}.\n`);
        if (failures.length > 0) {
          io.err(`switchyard: not purged:\n  ${failures.join('\n  ')}\n`);
          io.setExitCode(1);
        }
      }),
    );
}
