// The floor for any Node.js gateway: node:http in, one undici Pool out, bodies passed through
// untouched (no parsing, no auth, no metrics, no logs). A reference contender of the overhead
// benchmark, so Switchyard's added latency can be split into "Node's HTTP stack" and "ours".
// argv[2]: upstream port. Prints `ready <port>` once listening.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = new Pool(`http://127.0.0.1:${process.argv[2]}`, { connections: null, pipelining: 1, keepAliveTimeout: 120_000 });

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    upstream
      .request({ path: req.url ?? '/', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
      .then(async (up) => {
        res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
        for await (const chunk of up.body) res.write(chunk);
        res.end();
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 8192 }, () => process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`));
