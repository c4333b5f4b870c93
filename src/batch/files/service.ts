// The Files API behind /v1/files: multipart uploads streamed to storage while every line is
// checked, metadata in the store, downloads streamed back. A key sees only its own files; the
// master key (and a loopback gateway without one) sees all.

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { GatewayError } from '../../api/errors.ts';
import type { FileStore } from '../ports.ts';
import type { Principal } from '../../tenancy/principal.ts';
import { newFileId } from '../ids.ts';
import type { FilePurpose, FileRecord } from '../types.ts';
import { BatchFileChecker, LineSplitter, LineTooLongError } from './jsonl.ts';
import type { FileContents } from './storage.ts';

export interface FilesServiceOptions {
  files: FileStore;
  contents: FileContents;
  maxFileBytes: number;
  maxLines: number;
  /** Longest single request line accepted. */
  maxLineBytes: number;
}

export function mayAccess(principal: Principal, ownerKeyId: string | null): boolean {
  return principal.isMaster || (principal.keyId !== null && principal.keyId === ownerKeyId);
}

const notFound = (id: string) => new GatewayError('not_found', `No file with id ${id} (or it belongs to another key).`, { code: 'file_not_found', param: 'file_id' });

/** Room for the multipart framing and the purpose field around the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export class FilesService {
  constructor(private readonly options: FilesServiceOptions) {}

  /** The largest upload body that can hold a file within max_file_bytes: larger declared bodies are refused unread. */
  get maxUploadBytes(): number {
    return this.options.maxFileBytes + MULTIPART_OVERHEAD_BYTES;
  }

  /** Receives `multipart/form-data` with `purpose=batch` and `file`; answers 400 naming each bad line. */
  async upload(req: IncomingMessage, principal: Principal): Promise<FileRecord> {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(contentType)) {
      req.resume();
      throw new GatewayError('invalid_request', 'Upload files as multipart/form-data with the fields purpose=batch and file.', { code: 'invalid_content_type' });
    }
    const { maxFileBytes } = this.options;
    let parser: busboy.Busboy;
    try {
      // Clients (browsers, undici's FormData, the SDKs) send the filename as raw UTF-8 bytes.
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fields: 8, fileSize: maxFileBytes, fieldSize: 64 * 1024 } });
    } catch (err) {
      req.resume();
      throw new GatewayError('invalid_request', `The multipart body cannot be read (${(err as Error).message}).`, { code: 'invalid_multipart' });
    }
    const fields = new Map<string, string>();
    let stored: Promise<{ record: FileRecord; checker: BatchFileChecker; truncated: boolean }> | undefined;
    const finished = new Promise<void>((resolve, reject) => {
      parser.on('field', (name, value) => fields.set(name, value));
      parser.on('file', (name, stream, info) => {
        if (name !== 'file' || stored) {
          stream.resume();
          return;
        }
        stored = this.receive(stream, info.filename || 'upload.jsonl', principal);
        // Keep the promise observed: its failure is reported after the body is consumed.
        stored.catch(() => {});
      });
      parser.on('close', resolve);
      parser.on('error', (err: Error) => reject(new GatewayError('invalid_request', `The multipart body cannot be read (${err.message}).`, { code: 'invalid_multipart' })));
    });
    req.pipe(parser);
    await finished;
    if (!stored) throw new GatewayError('invalid_request', 'The upload has no `file` field: send the JSONL file as the multipart field named file.', { code: 'missing_file', param: 'file' });
    const { record, checker, truncated } = await stored;
    const purpose = fields.get('purpose');
    const reject = async (error: GatewayError) => {
      await this.options.contents.writer.remove(record.id).catch(() => {});
      throw error;
    };
    if (truncated) return reject(new GatewayError('request_too_large', `The file exceeds ${maxFileBytes} bytes (batch.max_file_bytes); split it into smaller batches.`, { code: 'file_too_large', param: 'file' }));
    if (purpose !== 'batch') {
      return reject(new GatewayError('invalid_request', `purpose must be "batch" (the only purpose Switchyard stores files for); got ${purpose === undefined ? 'none' : `"${purpose}"`}.`, { code: 'invalid_purpose', param: 'purpose' }));
    }
    if (checker.problemCount > 0) {
      return reject(new GatewayError('invalid_request', `The batch input file has ${checker.problemCount} invalid line(s): ${checker.summary()}.`, { code: 'invalid_file', param: 'file' }));
    }
    if (checker.requestLines === 0) return reject(new GatewayError('invalid_request', 'The file has no request lines.', { code: 'empty_file', param: 'file' }));
    await this.options.files.insert(record);
    return record;
  }

  private async receive(stream: Readable & { truncated?: boolean }, filename: string, principal: Principal) {
    const id = newFileId();
    const checker = new BatchFileChecker(this.options.maxLines);
    const splitter = new LineSplitter(this.options.maxLineBytes);
    let lineTooLong: LineTooLongError | undefined;
    const checked = async function* () {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (!lineTooLong) {
          try {
            for (const { line, text } of splitter.push(chunk)) checker.check(line, text);
          } catch (err) {
            if (!(err instanceof LineTooLongError)) throw err;
            lineTooLong = err;
          }
        }
        yield chunk;
      }
      const last = lineTooLong ? undefined : splitter.end();
      if (last) checker.check(last.line, last.text);
    };
    const bytes = await this.options.contents.writer.write(id, checked());
    if (lineTooLong) checker.reject(lineTooLong.line, `longer than ${this.options.maxLineBytes} bytes`);
    const record: FileRecord = {
      id,
      purpose: 'batch',
      filename,
      bytes,
      lineCount: checker.requestLines,
      storage: this.options.contents.writer.kind,
      ownerKeyId: principal.keyId,
      ownerTeamId: principal.teamId,
      createdAt: Math.floor(Date.now() / 1000),
    };
    return { record, checker, truncated: stream.truncated === true };
  }

  async get(id: string, principal: Principal): Promise<FileRecord> {
    const file = await this.options.files.get(id);
    if (!file || !mayAccess(principal, file.ownerKeyId)) throw notFound(id);
    return file;
  }

  async list(principal: Principal, query: { purpose?: string; after?: string; limit: number; order: 'asc' | 'desc' }): Promise<FileRecord[]> {
    return this.options.files.list({ ...query, ownerKeyId: principal.isMaster ? undefined : principal.keyId });
  }

  async remove(id: string, principal: Principal): Promise<void> {
    const file = await this.get(id, principal);
    await this.options.files.delete(id);
    await this.options.contents.storageOf(file.storage).remove(id);
  }

  async content(id: string, principal: Principal): Promise<{ file: FileRecord; stream: Readable }> {
    const file = await this.get(id, principal);
    return { file, stream: this.options.contents.storageOf(file.storage).read(id) };
  }

  /** Writes a file the gateway produced (batch output or errors); the caller records it. */
  async writeGenerated(purpose: FilePurpose, filename: string, owner: { keyId: string | null; teamId: string | null }, lines: AsyncIterable<string>): Promise<FileRecord> {
    const id = newFileId();
    let count = 0;
    const counted = async function* () {
      for await (const l of lines) {
        count += 1;
        yield l;
      }
    };
    const bytes = await this.options.contents.writer.write(id, counted());
    return { id, purpose, filename, bytes, lineCount: count, storage: this.options.contents.writer.kind, ownerKeyId: owner.keyId, ownerTeamId: owner.teamId, createdAt: Math.floor(Date.now() / 1000) };
  }

  /** Records a file written with writeGenerated outside a batch's finalization (a replay's input). */
  record(file: FileRecord): Promise<void> {
    return this.options.files.insert(file);
  }

  /** Removes content written for a file that was never recorded (a finalizer that lost its claim). */
  discardContent(record: FileRecord): Promise<void> {
    return this.options.contents.storageOf(record.storage).remove(record.id);
  }

  /** The lines of a stored file, one at a time. */
  readStream(file: FileRecord): Readable {
    return this.options.contents.storageOf(file.storage).read(file.id);
  }
}
