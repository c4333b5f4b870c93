// The batch stores over one SqlClient (SQLite or PostgreSQL, whichever openStore chose).

import type { BatchStore, DeadLetterStore, FileStore } from '../../batch/ports.ts';
import type { SqlClient } from '../sql.ts';
import { SqlBatchStore } from './batch-store.ts';
import { SqlDeadLetterStore } from './dlq-store.ts';
import { SqlFileStore } from './file-store.ts';

export interface BatchStores {
  files: FileStore;
  batches: BatchStore;
  deadLetters: DeadLetterStore;
}

export function batchStores(sql: SqlClient): BatchStores {
  return { files: new SqlFileStore(sql), batches: new SqlBatchStore(sql), deadLetters: new SqlDeadLetterStore(sql) };
}

export { SqlBatchStore, SqlDeadLetterStore, SqlFileStore };
