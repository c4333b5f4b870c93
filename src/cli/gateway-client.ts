// The CLI's HTTP client for a running gateway: the public /v1 API (files, batches) and the admin
// /admin/v1 API (dead-letter queue). Every command that talks to a gateway goes through here, so
// they all find it the same way (--url, else $SWITCHYARD_URL, else loopback), authenticate the same
// way (a key from the environment, never argv: other users can read argv) and explain a failure
// the same way (the gateway's own message, plus a hint when a missing key is the likely cause).

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';
import { request, type Dispatcher } from 'undici';
import type { Json } from './table.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** Consecutive failed polls tolerated (a gateway restarting, a proxy hiccup) before giving up. */
const POLL_RETRIES = 10;

export type { Json } from './table.ts';

/** Where a command writes, and what it reads from its environment (injectable for tests). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  setExitCode(code: number): void;
  now(): number;
}

/** The real process: stdout, stderr, environment and exit code. */
export const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  setExitCode: (code) => (process.exitCode = code),
  now: Date.now,
};

/** A gateway answer that was not a success, or no answer at all (then `status` is undefined). */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A command line that cannot work; reported like commander's own usage errors. */
export class UsageError extends Error {}

export class GatewayClient {
  constructor(
    readonly base: string,
    private readonly key: string | undefined,
    /** Said on a 401 when no key was sent: which variable to set. */
    private readonly keyHint: string,
  ) {}

  private async send(method: string, path: string, init: { body?: Readable | string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Dispatcher.ResponseData> {
    const timeout = init.timeoutMs ?? 30_000;
    try {
      return await request(`${this.base.replace(/\/+$/, '')}${path}`, {
        method: method as Dispatcher.HttpMethod,
        headers: { accept: 'application/json', ...(this.key ? { authorization: `Bearer ${this.key}` } : {}), ...init.headers },
        body: init.body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const e = err as { code?: string; cause?: { code?: string }; message: string };
      throw new GatewayError(`cannot reach the gateway at ${this.base} (${e.code ?? e.cause?.code ?? e.message}); is \`switchyard serve\` running? Use --url to point elsewhere.`);
    }
  }

  private async failure(res: Dispatcher.ResponseData): Promise<GatewayError> {
    const text = await res.body.text();
    let message = text.slice(0, 500);
    try {
      const error = (JSON.parse(text) as { error?: { message?: unknown } }).error;
      if (typeof error?.message === 'string') message = error.message;
    } catch {
      // not JSON (a proxy's error page?): the start of the text says enough
    }
    const hint = res.statusCode === 401 && !this.key ? ` (${this.keyHint})` : '';
    return new GatewayError(`${res.statusCode}: ${message}${hint}`, res.statusCode);
  }

  async json(method: string, path: string, body?: unknown): Promise<Json> {
    const res = await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (res.statusCode >= 300) throw await this.failure(res);
    const text = await res.body.text();
    try {
      return text ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new GatewayError(`${this.base} answered ${path} with a non-JSON body; is it a Switchyard gateway?`, res.statusCode);
    }
  }

  /** POST /v1/files as multipart/form-data, streaming the file from disk (it may be hundreds of
   *  MB), with an exact content-length so no chunked encoding is needed. */
  async uploadFile(file: string, filename: string, purpose: string): Promise<Json> {
    const boundary = `switchyard-${randomBytes(16).toString('hex')}`;
    const safeName = filename.replace(/["\r\n]/g, '_');
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: application/jsonl\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const size = (await stat(file)).size;
    async function* parts() {
      yield head;
      yield* createReadStream(file);
      yield tail;
    }
    const res = await this.send('POST', '/v1/files', {
      body: Readable.from(parts(), { objectMode: false }),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) },
      timeoutMs: 600_000,
    });
    if (res.statusCode >= 300) throw await this.failure(res);
    return (await res.body.json()) as Json;
  }

  /** Streams a response body to `dest` (via a temporary name, so a broken download never leaves
   *  a truncated file that looks complete). Returns the number of lines written. */
  async download(path: string, dest: string): Promise<number> {
    const res = await this.send('GET', path, { timeoutMs: 600_000 });
    if (res.statusCode >= 300) throw await this.failure(res);
    let lines = 0;
    let last = 0x0a;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        for (const byte of chunk) if (byte === 0x0a) lines++;
        if (chunk.length > 0) last = chunk[chunk.length - 1];
        done(null, chunk);
      },
    });
    const partial = `${dest}.partial`;
    try {
      await pipeline(res.body, counter, createWriteStream(partial));
      await rename(partial, dest);
    } catch (err) {
      await rm(partial, { force: true });
      throw new GatewayError(`downloading ${path} to ${dest} failed: ${(err as Error).message}`);
    }
    return last === 0x0a ? lines : lines + 1;
  }
}

const isHttpUrl = (text: string) => URL.canParse(text) && ['http:', 'https:'].includes(new URL(text).protocol);
const URL_EXPECTED = `expected the gateway's http:// or https:// URL, e.g. ${DEFAULT_URL}`;

/** The option parser of --url. */
export function gatewayUrlArg(value: string): string {
  if (!isHttpUrl(value)) throw new InvalidArgumentError(URL_EXPECTED);
  return value;
}

/** --url (already checked), else $SWITCHYARD_URL, else loopback. */
export function gatewayBaseUrl(url: string | undefined, env: NodeJS.ProcessEnv): string {
  if (url) return url;
  const fromEnv = env.SWITCHYARD_URL;
  if (!fromEnv) return DEFAULT_URL;
  if (!isHttpUrl(fromEnv)) throw new UsageError(`SWITCHYARD_URL is "${fromEnv}": ${URL_EXPECTED}`);
  return fromEnv;
}

const baseUrl = (url: string | undefined, io: CliIo) => gatewayBaseUrl(url, io.env);

/** A client for the public /v1 API. A virtual key comes first, so the spend lands on its team; the
 *  master key also works; with neither, only a loopback gateway without a master key answers. */
export function apiClient(url: string | undefined, io: CliIo): GatewayClient {
  const key = io.env.SWITCHYARD_API_KEY || io.env.SWITCHYARD_MASTER_KEY || undefined;
  return new GatewayClient(baseUrl(url, io), key, 'set SWITCHYARD_API_KEY to a virtual key, or SWITCHYARD_MASTER_KEY');
}

/** A client for the /admin/v1 API, which only the master key opens. */
export function adminClient(url: string | undefined, io: CliIo): GatewayClient {
  return new GatewayClient(baseUrl(url, io), io.env.SWITCHYARD_MASTER_KEY || undefined, "set SWITCHYARD_MASTER_KEY to the gateway's master key");
}

/** Adds the --url option, worded the same on every command that talks to a gateway. */
export const withGatewayUrl = (cmd: Command) => cmd.option('--url <url>', `gateway URL (default: $SWITCHYARD_URL or ${DEFAULT_URL})`, gatewayUrlArg);

/** A GET to repeat in a poll loop. A transient failure (no answer, 429, 5xx) resolves to undefined
 *  so the loop just tries again at its next tick, since a gateway restarting or a proxy hiccup
 *  should not abandon a long wait; more than `retries` in a row, or any other failure, throws. */
export function poller(api: GatewayClient, path: string, retries = POLL_RETRIES): () => Promise<Json | undefined> {
  let failures = 0;
  return async () => {
    try {
      const answer = await api.json('GET', path);
      failures = 0;
      return answer;
    } catch (err) {
      const transient = err instanceof GatewayError && (err.status === undefined || err.status === 429 || err.status >= 500);
      if (transient && ++failures <= retries) return undefined;
      throw err;
    }
  };
}

/** Runs a subcommand, turning failures into one line on stderr and exit code 1. */
export function runAction<A extends unknown[]>(io: CliIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      const command = args.at(-1) as Command | undefined;
      // A bad value found while running (not by an option parser) is still a usage error.
      if ((err instanceof UsageError || err instanceof InvalidArgumentError) && typeof command?.error === 'function') command.error(`error: ${err.message}`);
      if (err instanceof CommanderError) throw err;
      io.err(`switchyard: ${(err as Error).message}\n`);
      io.setExitCode(1);
    }
  };
}
