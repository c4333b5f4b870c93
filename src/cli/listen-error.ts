// A socket that could not listen, said as what to change: for `serve` and `sim`, whose --host
// and --port decide where they listen.

const code = (err: unknown) => (err as { code?: unknown }).code;

/** True for the errors listening on host:port can fail with (as opposed to any other failure). */
export function isListenError(err: unknown): boolean {
  return ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(String(code(err)));
}

/** One line, naming the address and the flag that changes it. */
export function describeListenError(err: unknown, host: string, port: number): string {
  switch (code(err)) {
    case 'EADDRINUSE':
      return `${host}:${port} is already in use: stop what listens there, or choose another port with --port (0 picks a free one)`;
    case 'EACCES':
      return `not allowed to listen on ${host}:${port} (ports below 1024 need privileges): choose another port with --port`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${host}: not an address of this machine; set --host to one, e.g. 127.0.0.1 (or 0.0.0.0 for every interface)`;
    default:
      return `cannot listen on ${host}:${port}: ${(err as Error).message}`;
  }
}
