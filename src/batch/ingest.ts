// Validating a batch: reads its input file line by line, checks every line against the batch
// (endpoint, served and allowed models), and turns lines into queued items in chunks. Durable: the
// ingester holds a renewable lease on the batch, and a batch whose ingester died is ingested again
// by whichever replica sees it first (items are idempotent per line).

import type { BatchStore } from './ports.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { FilesService } from './files/service.ts';
import { BatchFileChecker, jsonlLines } from './files/jsonl.ts';
import { newItemId } from './ids.ts';
import type { BatchRecord, BatchValidationError, NewItem } from './types.ts';

export interface IngestDeps {
  batches: BatchStore;
  files: FilesService;
  /** Whether the gateway serves this model at all. */
  serves(model: string): boolean;
  mayUseModel(principal: Principal, model: string): Promise<boolean>;
  maxLines: number;
  maxLineBytes: number;
  leaseMs: number;
  logger: { warn(obj: object, msg?: string): void };
}

const CHUNK = 250;
const RELEASE_STEP = 500;
/** Lets requests in between: a large batch is ingested in small synchronous steps (SQLite writes block). */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));
const MAX_ERRORS = 100;

export function ownerPrincipal(batch: Pick<BatchRecord, 'owner'>): Principal {
  const { keyId, teamId, keyName } = batch.owner;
  return { keyId, teamId, isMaster: keyId === null, keyName: keyName ?? undefined };
}

export async function ingestBatch(deps: IngestDeps, batchId: string, token: string): Promise<void> {
  const { batches } = deps;
  if (!(await batches.claimValidation(batchId, token, Date.now(), deps.leaseMs))) return;
  const batch = await batches.get(batchId);
  if (!batch) return;
  const principal = ownerPrincipal(batch);
  const errors: BatchValidationError[] = [];
  let errorCount = 0;
  const fail = (line: number, code: string, message: string, param: string | null) => {
    errorCount += 1;
    if (errors.length < MAX_ERRORS) errors.push({ code, message: `Line ${line}: ${message}`, param, line });
  };
  const modelVerdicts = new Map<string, string | null>();
  const checkModel = async (model: string): Promise<string | null> => {
    let verdict = modelVerdicts.get(model);
    if (verdict === undefined) {
      if (!deps.serves(model)) verdict = `model "${model}" is not served by this gateway`;
      else if (!(await deps.mayUseModel(principal, model))) verdict = `this key may not use model "${model}"`;
      else verdict = null;
      modelVerdicts.set(model, verdict);
    }
    return verdict;
  };

  let lastRenew = Date.now();
  let chunk: NewItem[] = [];
  let total = 0;
  try {
    const file = await deps.files.get(batch.inputFileId, { keyId: null, teamId: null, isMaster: true });
    // The file was checked when it was uploaded; check again anyway, it is the source of truth.
    const checker = new BatchFileChecker(deps.maxLines, 0);
    for await (const { line, text } of jsonlLines(deps.files.readStream(file), deps.maxLineBytes)) {
      const parsed = checker.check(line, text);
      if (checker.overLimit) {
        fail(line, 'too_many_requests', `the file has more than ${deps.maxLines} requests (batch.max_lines)`, null);
        break;
      }
      if (!parsed) continue;
      if ('message' in parsed) {
        fail(line, parsed.code, parsed.message, parsed.param);
        continue;
      }
      if (parsed.url !== batch.endpoint) {
        fail(line, 'invalid_url', `url ${parsed.url} does not match the batch endpoint ${batch.endpoint}`, 'url');
        continue;
      }
      const modelProblem = await checkModel(parsed.model);
      if (modelProblem) {
        fail(line, 'model_not_found', modelProblem, 'body.model');
        continue;
      }
      if (errorCount > 0) continue; // the batch will fail: stop writing items, keep collecting errors
      total += 1;
      chunk.push({ id: newItemId(), line, customId: parsed.customId, model: parsed.model, body: JSON.stringify(parsed.body) });
      if (chunk.length >= CHUNK) {
        await batches.insertItems(batchId, chunk);
        chunk = [];
        await yieldToRequests();
        if (Date.now() - lastRenew > deps.leaseMs / 3) {
          if (!(await batches.extendBatchLease(batchId, token, Date.now() + deps.leaseMs))) return; // cancelled, or taken over
          lastRenew = Date.now();
        }
      }
    }
    if (errorCount === 0 && total === 0) fail(0, 'empty_file', 'the input file has no request lines', 'input_file_id');
  } catch (err) {
    fail(0, 'invalid_file', `the input file cannot be read (${(err as Error).message})`, 'input_file_id');
  }
  if (errorCount > 0) {
    await batches.failValidation(batchId, token, errors, Date.now());
    return;
  }
  if (chunk.length > 0) await batches.insertItems(batchId, chunk);
  const models = [...modelVerdicts.keys()];
  if (await batches.startBatch(batchId, token, total, models.length === 1 ? models[0] : null, Date.now())) {
    // Released in steps (each rewrites its rows, bodies and all: 2,000 at a time held the event loop
    // tens of ms on a slow core); if this process dies midway, the housekeeping sweep releases the rest.
    while ((await batches.releasePending(batchId, RELEASE_STEP, Date.now())) > 0) await yieldToRequests();
    return;
  }
  // Cancelled while validating: what was ingested ends as cancelled; the finalizer writes it out.
  const now = await batches.get(batchId);
  if (now?.status === 'cancelling') {
    await batches.setTotal(batchId, total);
    await batches.cancelStragglers(Date.now());
  } else {
    deps.logger.warn({ batchId, status: now?.status }, 'batch ingest lost its claim before it finished');
  }
}
