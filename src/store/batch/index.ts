// The batch stores over one SqlClient (SQLite or PostgreSQL, whichever openStore chose).

import type { SqlClient } from '../sql.ts';
import { SqlBatchStore } from './batch-store.ts';
import { SqlDeadLetterStore } from './dlq-store.ts';
import { SqlFileStore } from './file-store.ts';

export interface BatchStores {
  files: SqlFileStore;
  batches: SqlBatchStore;
  deadLetters: SqlDeadLetterStore;
}

export function batchStores(sql: SqlClient): BatchStores {
  return { files: new SqlFileStore(sql), batches: new SqlBatchStore(sql), deadLetters: new SqlDeadLetterStore(sql) };
}

export { SqlBatchStore, SqlDeadLetterStore, SqlFileStore };
export type { FinishedItem } from './batch-store.ts';
