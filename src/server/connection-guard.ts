// Caps on open client connections, so that many connections which send nothing, or send their
// headers slowly (slowloris), can neither use up the process's file descriptors (every fd is also
// needed for upstream sockets, the database and files) nor lock legitimate clients out.
// - At most `maxConnections` are open, and at most `maxPerClient` from one address when set.
// - A connection that is not in the middle of a request (just opened, idle between requests, or
//   still sending its request headers) is waiting. When a new connection would pass a cap, the
//   connection that has been waiting longest in the cap's scope is closed to make room: a client
//   with something to ask sends its headers at once, so the longest waiter is the one with the
//   least claim to its slot. Only when every connection in scope is busy with a request is the new
//   one refused, with a 503 in the JSON error shape.
// - A new connection must complete its first request's headers within `firstRequestTimeoutMs`
//   (Node's own headers timeout only starts with the first byte, so a silent one would stay).
// Per request this is two list operations on the connection's own entry: no allocation.

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { GatewayError } from '../api/errors.ts';
import { openAIErrorBody } from '../api/openai/errors.ts';

export interface ConnectionLimits {
  maxConnections: number;
  /** Unset: no per-address cap below maxConnections. */
  maxPerClient?: number;
  firstRequestTimeoutMs: number;
}

/** Connections closed or refused to stay within the caps, reported at most every PRESSURE_REPORT_MS. */
export interface ConnectionPressure {
  evicted: number;
  refused: number;
  open: number;
}

const PRESSURE_REPORT_MS = 10_000;
const MAX_DEFAULT_CONNECTIONS = 16_384;
const FALLBACK_DEFAULT_CONNECTIONS = 4_096;

/** The process's soft limit on open files (Linux), or undefined where it cannot be read. */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === 'unlimited') return Infinity;
  const n = Number(soft);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The default cap: half the process's open-file limit (each proxied request holds a client and an
 * upstream socket), at most 16,384; 4,096 where the limit cannot be read.
 */
export function defaultMaxConnections(limitsFile?: string): number {
  const limit = openFileLimit(limitsFile);
  if (limit === undefined) return FALLBACK_DEFAULT_CONNECTIONS;
  return Math.max(1, Math.min(MAX_DEFAULT_CONNECTIONS, Math.floor(limit / 2)));
}

interface Tracked {
  socket: Socket;
  address: string;
  /** Requests in progress on the connection (more than one when pipelined). */
  busy: number;
  /** Its first request has begun (the first-request timeout is then off). */
  served: boolean;
  closed: boolean;
  /** Neighbours in the list of waiting connections, longest-waiting first. */
  prev: Tracked | undefined;
  next: Tracked | undefined;
  waiting: boolean;
}

const TRACKED = Symbol('switchyard.connection');
type GuardedSocket = Socket & { [TRACKED]?: Tracked };

function refusal(setting: string): Buffer {
  const error = new GatewayError('overloaded', `The gateway has too many open connections (${setting}); retry shortly.`, { code: 'too_many_connections' });
  const body = JSON.stringify(openAIErrorBody(error));
  return Buffer.from(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
    'latin1',
  );
}

export class ConnectionGuard {
  private open = 0;
  private head: Tracked | undefined;
  private tail: Tracked | undefined;
  private readonly perClient: Map<string, number> | undefined;
  private readonly refuseGlobal = refusal('server.max_connections');
  private readonly refuseClient = refusal('server.max_connections_per_client');
  private pressure: ConnectionPressure = { evicted: 0, refused: 0, open: 0 };
  private lastReport = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly onPressure: (pressure: ConnectionPressure) => void = () => {},
  ) {
    this.perClient = limits.maxPerClient === undefined ? undefined : new Map();
  }

  /** Open connections now. */
  get size(): number {
    return this.open;
  }

  /** The server's 'connection' listener. */
  readonly accept = (socket: Socket): void => {
    const address = socket.remoteAddress ?? '';
    if (this.perClient && (this.perClient.get(address) ?? 0) >= this.limits.maxPerClient! && !this.evictWaiting(address)) {
      this.refuse(socket, this.refuseClient);
      return;
    }
    if (this.open >= this.limits.maxConnections && !this.evictWaiting(undefined)) {
      this.refuse(socket, this.refuseGlobal);
      return;
    }
    const tracked: Tracked = { socket, address, busy: 0, served: false, closed: false, prev: undefined, next: undefined, waiting: false };
    (socket as GuardedSocket)[TRACKED] = tracked;
    this.open += 1;
    if (this.perClient) this.perClient.set(address, (this.perClient.get(address) ?? 0) + 1);
    this.append(tracked);
    socket.setTimeout(this.limits.firstRequestTimeoutMs);
    socket.once('close', () => this.release(tracked));
  };

  /** A request's headers arrived on `socket`. False for a socket the guard refused (ignore the request). */
  requestStarted(socket: Socket): boolean {
    const tracked = (socket as GuardedSocket)[TRACKED];
    if (!tracked || tracked.closed) return false;
    if (tracked.busy++ === 0) this.unlink(tracked);
    if (!tracked.served) {
      tracked.served = true;
      socket.setTimeout(0);
    }
    return true;
  }

  /** A response on `socket` finished (or the connection went away). */
  requestEnded(socket: Socket): void {
    const tracked = (socket as GuardedSocket)[TRACKED];
    if (!tracked || tracked.closed || tracked.busy === 0) return;
    if (--tracked.busy === 0) this.append(tracked);
  }

  /** Closes the longest-waiting connection (from `address` when given); false when none is waiting. */
  private evictWaiting(address: string | undefined): boolean {
    let victim = this.head;
    while (victim && address !== undefined && victim.address !== address) victim = victim.next;
    if (!victim) return false;
    this.release(victim);
    victim.socket.destroy();
    this.note('evicted');
    return true;
  }

  private refuse(socket: Socket, answer: Buffer): void {
    socket.end(answer, () => socket.destroy());
    // Should its request arrive before the socket is gone, requestStarted finds no entry.
    this.note('refused');
  }

  private release(tracked: Tracked): void {
    if (tracked.closed) return;
    tracked.closed = true;
    this.unlink(tracked);
    this.open -= 1;
    if (this.perClient) {
      const left = (this.perClient.get(tracked.address) ?? 1) - 1;
      if (left === 0) this.perClient.delete(tracked.address);
      else this.perClient.set(tracked.address, left);
    }
  }

  private append(tracked: Tracked): void {
    tracked.waiting = true;
    tracked.prev = this.tail;
    tracked.next = undefined;
    if (this.tail) this.tail.next = tracked;
    else this.head = tracked;
    this.tail = tracked;
  }

  private unlink(tracked: Tracked): void {
    if (!tracked.waiting) return;
    tracked.waiting = false;
    if (tracked.prev) tracked.prev.next = tracked.next;
    else this.head = tracked.next;
    if (tracked.next) tracked.next.prev = tracked.prev;
    else this.tail = tracked.prev;
    tracked.prev = undefined;
    tracked.next = undefined;
  }

  private note(what: 'evicted' | 'refused'): void {
    this.pressure[what] += 1;
    const now = Date.now();
    if (now - this.lastReport < PRESSURE_REPORT_MS) return;
    this.lastReport = now;
    this.onPressure({ ...this.pressure, open: this.open });
    this.pressure = { evicted: 0, refused: 0, open: 0 };
  }
}
