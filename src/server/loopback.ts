// What counts as "this machine only", for the two rules that depend on it: without a master key
// the gateway binds a loopback address only, and answers only requests whose Host names one (a
// DNS-rebinding page reaches 127.0.0.1 under its own host name, which this refuses).

import { isIPv4 } from 'node:net';

/** A bind address or host name that reaches only this machine: localhost, *.localhost, 127.0.0.0/8, ::1. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  if (name.startsWith('::ffff:')) return isLoopbackAddress(name.slice(7));
  return isIPv4(name) && name.startsWith('127.');
}

/** A Host header (name, optional port; IPv6 in brackets) that names this machine. No Host (HTTP/1.0) passes: browsers always send one. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return true;
  let name = host;
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    if (end === -1) return false;
    name = name.slice(1, end);
  } else {
    const colon = name.indexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return isLoopbackAddress(name.endsWith('.') ? name.slice(0, -1) : name);
}
