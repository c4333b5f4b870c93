// Writes a finished batch's output and error files and ends it. Every item is in exactly one of
// them: succeeded items in the output file, everything else in the error file. The finalizer holds
// a renewable lease on the batch; if it dies, another takes over and writes fresh files (a file is
// published only with the batch's final status, in one transaction).

import type { BatchStore } from './ports.ts';
import type { FilesService } from './files/service.ts';
import type { BatchRecord, FileRecord } from './types.ts';
import { outputLine } from './wire.ts';

const PAGE = 500;

export interface FinalizeDeps {
  batches: BatchStore;
  files: FilesService;
  leaseMs: number;
}

function finalStatus(b: BatchRecord): 'completed' | 'cancelled' | 'expired' {
  if (b.cancellingAt !== null) return 'cancelled';
  if (b.expiredAt !== null) return 'expired';
  return 'completed';
}

export async function finalizeBatch(deps: FinalizeDeps, batchId: string, token: string): Promise<boolean> {
  const { batches, files } = deps;
  const batch = await batches.claimFinalization(batchId, token, Date.now(), deps.leaseMs);
  if (!batch) return false;
  let lastRenew = Date.now();
  const renew = async () => {
    if (Date.now() - lastRenew < deps.leaseMs / 3) return;
    lastRenew = Date.now();
    await batches.extendBatchLease(batchId, token, Date.now() + deps.leaseMs);
  };
  const lines = async function* (succeeded: boolean) {
    let after = 0;
    for (;;) {
      const page = await batches.finishedItems(batchId, after, PAGE, succeeded ? 'succeeded' : 'unsuccessful');
      for (const item of page) yield outputLine(item);
      if (page.length < PAGE) return;
      after = page[page.length - 1].line;
      await renew();
      // Let interactive requests in between pages: SQLite reads block the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  const owner = { keyId: batch.owner.keyId, teamId: batch.owner.teamId };
  const written: FileRecord[] = [];
  try {
    const output = await files.writeGenerated('batch_output', `${batchId}_output.jsonl`, owner, lines(true));
    written.push(output);
    const errors = await files.writeGenerated('batch_output', `${batchId}_error.jsonl`, owner, lines(false));
    written.push(errors);
    const ok = await batches.completeFinalization(
      batchId,
      token,
      finalStatus(batch),
      { output: output.lineCount > 0 ? output : null, error: errors.lineCount > 0 ? errors : null },
      Date.now(),
    );
    // Files that were not published (empty, or the claim was lost) are removed again.
    for (const f of written) if (!ok || f.lineCount === 0) await files.discardContent(f);
    return ok;
  } catch (err) {
    for (const f of written) await files.discardContent(f).catch(() => {});
    throw err;
  }
}
