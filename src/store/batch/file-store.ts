// File metadata and, for `database` storage, file contents as ordered text chunks.

import type { SqlClient, SqlExecutor } from '../sql.ts';
import type { FileListQuery, FileStore } from '../../batch/ports.ts';
import type { FilePurpose, FileRecord, FileStorageKind } from '../../batch/types.ts';

interface FileRow {
  id: string;
  purpose: string;
  filename: string;
  bytes: number;
  line_count: number;
  storage: string;
  owner_key_id: string | null;
  owner_team_id: string | null;
  created_at: number;
  [k: string]: unknown;
}

function toFile(r: FileRow): FileRecord {
  return {
    id: r.id,
    purpose: r.purpose as FilePurpose,
    filename: r.filename,
    bytes: Number(r.bytes),
    lineCount: Number(r.line_count),
    storage: r.storage as FileStorageKind,
    ownerKeyId: r.owner_key_id,
    ownerTeamId: r.owner_team_id,
    createdAt: Number(r.created_at),
  };
}

export async function insertFileRecord(tx: SqlExecutor, f: FileRecord): Promise<void> {
  await tx.run(
    'INSERT INTO files (id, purpose, filename, bytes, line_count, storage, owner_key_id, owner_team_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [f.id, f.purpose, f.filename, f.bytes, f.lineCount, f.storage, f.ownerKeyId, f.ownerTeamId, f.createdAt],
  );
}

export class SqlFileStore implements FileStore {
  constructor(private readonly sql: SqlClient) {}

  insert(f: FileRecord): Promise<void> {
    return insertFileRecord(this.sql, f);
  }

  async get(id: string): Promise<FileRecord | undefined> {
    const [row] = await this.sql.query<FileRow>('SELECT * FROM files WHERE id = ?', [id]);
    return row ? toFile(row) : undefined;
  }

  async list(q: FileListQuery): Promise<FileRecord[]> {
    const where: string[] = [];
    const params: (string | number | null)[] = [];
    if (q.ownerKeyId !== undefined) {
      where.push(q.ownerKeyId === null ? 'owner_key_id IS NULL' : 'owner_key_id = ?');
      if (q.ownerKeyId !== null) params.push(q.ownerKeyId);
    }
    if (q.purpose) {
      where.push('purpose = ?');
      params.push(q.purpose);
    }
    if (q.after) {
      where.push(q.order === 'desc' ? 'id < ?' : 'id > ?');
      params.push(q.after);
    }
    params.push(q.limit);
    const sql = `SELECT * FROM files ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
    return (await this.sql.query<FileRow>(sql, params)).map(toFile);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.sql.transaction(async (tx) => {
      await tx.run('DELETE FROM file_chunks WHERE file_id = ?', [id]);
      return tx.run('DELETE FROM files WHERE id = ?', [id]);
    })) > 0;
  }

  async appendChunk(fileId: string, seq: number, content: string): Promise<void> {
    await this.sql.run('INSERT INTO file_chunks (file_id, seq, content) VALUES (?, ?, ?)', [fileId, seq, content]);
  }

  async readChunks(fileId: string, fromSeq: number, limit: number): Promise<{ seq: number; content: string }[]> {
    const rows = await this.sql.query<{ seq: number; content: string }>(
      'SELECT seq, content FROM file_chunks WHERE file_id = ? AND seq >= ? ORDER BY seq LIMIT ?',
      [fileId, fromSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), content: r.content }));
  }

  async deleteChunks(fileId: string): Promise<void> {
    await this.sql.run('DELETE FROM file_chunks WHERE file_id = ?', [fileId]);
  }
}
