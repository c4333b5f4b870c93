// Where file contents live. Both kinds stream: an upload is written as it arrives and a download
// is read as it is sent, so a 100,000-line file never sits whole in memory.
//   directory: one file per id under a directory (local disk, or a volume shared by replicas);
//   database:  ordered text chunks in the store, so replicas sharing PostgreSQL share files too.
// Batch files are JSONL, i.e. UTF-8 text, which is why chunks can be TEXT on both backends.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import type { FileStore } from '../ports.ts';
import type { FileStorageKind } from '../types.ts';

export interface FileContentStorage {
  readonly kind: FileStorageKind;
  /** Stores everything the source yields under the id; leaves nothing behind if it fails. Returns bytes written. */
  write(fileId: string, source: AsyncIterable<Buffer | string>): Promise<number>;
  read(fileId: string): Readable;
  remove(fileId: string): Promise<void>;
}

const SAFE_ID = /^[A-Za-z0-9_-]+$/;

export class DirectoryStorage implements FileContentStorage {
  readonly kind = 'directory' as const;

  constructor(private readonly directory: string) {}

  private pathOf(fileId: string): string {
    // Ids are generated here, but never let one name a path outside the directory.
    if (!SAFE_ID.test(fileId)) throw new Error(`invalid file id ${fileId}`);
    return join(this.directory, `${fileId}.jsonl`);
  }

  async write(fileId: string, source: AsyncIterable<Buffer | string>): Promise<number> {
    await mkdir(this.directory, { recursive: true });
    const target = this.pathOf(fileId);
    const partial = `${target}.part`;
    let bytes = 0;
    const counted = async function* () {
      for await (const chunk of source) {
        bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        yield chunk;
      }
    };
    try {
      await pipeline(counted(), createWriteStream(partial));
      await rename(partial, target);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return bytes;
  }

  read(fileId: string): Readable {
    return createReadStream(this.pathOf(fileId));
  }

  async remove(fileId: string): Promise<void> {
    await rm(this.pathOf(fileId), { force: true });
  }
}

const CHUNK_CHARS = 256 * 1024;
const CHUNKS_PER_READ = 8;

export class DatabaseStorage implements FileContentStorage {
  readonly kind = 'database' as const;

  constructor(private readonly files: FileStore) {}

  async write(fileId: string, source: AsyncIterable<Buffer | string>): Promise<number> {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let seq = 0;
    let bytes = 0;
    try {
      for await (const chunk of source) {
        bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
        while (pending.length >= CHUNK_CHARS) {
          await this.files.appendChunk(fileId, seq++, pending.slice(0, CHUNK_CHARS));
          pending = pending.slice(CHUNK_CHARS);
        }
      }
      pending += decoder.end();
      if (pending.length > 0) await this.files.appendChunk(fileId, seq++, pending);
    } catch (err) {
      await this.files.deleteChunks(fileId).catch(() => {});
      throw err;
    }
    return bytes;
  }

  read(fileId: string): Readable {
    const files = this.files;
    return Readable.from(
      (async function* () {
        let next = 0;
        for (;;) {
          const chunks = await files.readChunks(fileId, next, CHUNKS_PER_READ);
          for (const c of chunks) yield Buffer.from(c.content, 'utf8');
          if (chunks.length < CHUNKS_PER_READ) return;
          next = chunks[chunks.length - 1].seq + 1;
        }
      })(),
      { objectMode: false },
    );
  }

  remove(fileId: string): Promise<void> {
    return this.files.deleteChunks(fileId);
  }
}

/** Reads with whichever storage a file was written to; writes with the configured one. */
export class FileContents {
  constructor(
    readonly writer: FileContentStorage,
    private readonly byKind: Record<FileStorageKind, FileContentStorage>,
  ) {}

  storageOf(kind: FileStorageKind): FileContentStorage {
    return this.byKind[kind];
  }
}
