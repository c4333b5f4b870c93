// Batch tables (versions 300-399): files and their chunks, batches, batch items (the durable job
// queue), and the dead-letter queue. Portable SQL only (see ../sql.ts). Append only.
// Times: *_at columns are unix seconds (as the OpenAI API shows them); *_ms columns epoch ms.

import type { Migration } from '../migrations.ts';

export const BATCH_MIGRATIONS: Migration[] = [
  {
    version: 300,
    name: 'batch files',
    sql: `CREATE TABLE files (
      id TEXT PRIMARY KEY,
      purpose TEXT NOT NULL,
      filename TEXT NOT NULL,
      bytes BIGINT NOT NULL,
      line_count BIGINT NOT NULL,
      storage TEXT NOT NULL,
      owner_key_id TEXT,
      owner_team_id TEXT,
      created_at BIGINT NOT NULL
    );
    CREATE INDEX files_owner_created ON files (owner_key_id, created_at);
    CREATE TABLE file_chunks (
      file_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      content TEXT NOT NULL,
      PRIMARY KEY (file_id, seq)
    )`,
  },
  {
    version: 301,
    name: 'batches and their items',
    sql: `CREATE TABLE batches (
      id TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      endpoint TEXT NOT NULL,
      input_file_id TEXT NOT NULL,
      completion_window TEXT NOT NULL,
      metadata TEXT,
      owner_key_id TEXT,
      owner_team_id TEXT,
      owner_key_name TEXT,
      model TEXT,
      errors TEXT,
      output_file_id TEXT,
      error_file_id TEXT,
      total BIGINT NOT NULL,
      completed BIGINT NOT NULL,
      failed BIGINT NOT NULL,
      input_tokens BIGINT NOT NULL,
      cached_tokens BIGINT NOT NULL,
      output_tokens BIGINT NOT NULL,
      created_at BIGINT NOT NULL,
      in_progress_at BIGINT,
      expires_at BIGINT NOT NULL,
      finalizing_at BIGINT,
      completed_at BIGINT,
      failed_at BIGINT,
      expired_at BIGINT,
      cancelling_at BIGINT,
      cancelled_at BIGINT,
      lease_token TEXT,
      lease_expires_ms BIGINT
    );
    CREATE INDEX batches_status ON batches (status);
    CREATE INDEX batches_owner_created ON batches (owner_key_id, created_at);
    CREATE TABLE batch_items (
      id TEXT PRIMARY KEY,
      batch_id TEXT NOT NULL,
      line BIGINT NOT NULL,
      custom_id TEXT NOT NULL,
      model TEXT NOT NULL,
      body TEXT NOT NULL,
      state TEXT NOT NULL,
      attempts BIGINT NOT NULL,
      next_attempt_ms BIGINT NOT NULL,
      lease_token TEXT,
      lease_expires_ms BIGINT,
      status_code BIGINT,
      response TEXT,
      error_code TEXT,
      error_message TEXT,
      request_id TEXT,
      history TEXT,
      prompt_tokens BIGINT,
      cached_tokens BIGINT,
      completion_tokens BIGINT,
      finished_ms BIGINT
    );
    CREATE UNIQUE INDEX batch_items_batch_line ON batch_items (batch_id, line);
    CREATE INDEX batch_items_claim ON batch_items (model, state, next_attempt_ms);
    CREATE INDEX batch_items_batch_state ON batch_items (batch_id, state);
    CREATE INDEX batch_items_leases ON batch_items (state, lease_expires_ms)`,
  },
  {
    version: 302,
    name: 'dead-letter queue',
    sql: `CREATE TABLE dlq_entries (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      batch_id TEXT,
      item_id TEXT,
      custom_id TEXT,
      model TEXT,
      webhook TEXT,
      owner_key_id TEXT,
      error_code TEXT NOT NULL,
      error_message TEXT NOT NULL,
      status_code BIGINT,
      attempts BIGINT NOT NULL,
      history TEXT NOT NULL,
      payload TEXT NOT NULL,
      created_ms BIGINT NOT NULL,
      replayed_ms BIGINT,
      replay_count BIGINT NOT NULL
    );
    CREATE INDEX dlq_created ON dlq_entries (created_ms);
    CREATE INDEX dlq_batch ON dlq_entries (batch_id);
    CREATE UNIQUE INDEX dlq_item ON dlq_entries (item_id)`,
  },
];
