// Batch ids read like OpenAI's (file-…, batch_…) and sort by creation time (see util/ids.ts).

import { timeSortableId } from '../util/ids.ts';

export const newFileId = (now?: number) => timeSortableId('file-', now);
export const newBatchId = (now?: number) => timeSortableId('batch_', now);
export const newItemId = (now?: number) => timeSortableId('batch_req_', now);
export const newDeadLetterId = (now?: number) => timeSortableId('dlq_', now);
