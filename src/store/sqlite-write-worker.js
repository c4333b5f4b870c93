// Worker thread behind SqliteBackgroundWriter: its own better-sqlite3 connection to the gateway's
// database file, running batches of writes (one transaction each) off the event loop, where a
// commit, and above all a WAL checkpoint's fsync, would stall every request for 10-60 ms.
// Plain JavaScript on purpose: the worker starts with no TypeScript loader (execArgv: []), and
// this file must load however the gateway was started (dist/ under node, or the sources under tsx).

import { parentPort, workerData } from 'node:worker_threads';
import { clearInterval, setInterval } from 'node:timers';
import Database from 'better-sqlite3';

const CHECKPOINT_INTERVAL_MS = 10_000;

const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('foreign_keys = ON');

/** Prepared statements by SQL text; callers reuse a small set of shapes. */
const statements = new Map();
function statement(sql) {
  let s = statements.get(sql);
  if (!s) {
    s = db.prepare(sql);
    statements.set(sql, s);
  }
  return s;
}

function normalise(params) {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

// The main connection leaves checkpointing to this one (wal_autocheckpoint = 0 there); commits here
// checkpoint automatically, and this timer covers a WAL grown by the main connection's own writes.
const checkpoints = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy: the next tick tries again
  }
}, CHECKPOINT_INTERVAL_MS);
checkpoints.unref();

parentPort.on('message', (message) => {
  if (message.type === 'close') {
    clearInterval(checkpoints);
    db.close();
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  const { id, writes } = message;
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const w of writes) statement(w.sql).run(...normalise(w.params));
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    parentPort.postMessage({ type: 'done', id });
  } catch (err) {
    parentPort.postMessage({ type: 'failed', id, error: err instanceof Error ? err.message : String(err) });
  }
});
