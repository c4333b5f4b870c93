#!/usr/bin/env node
// Runs the built CLI in dist/ (`npm run build`, which `npm ci` runs through `prepare`), so the
// gateway and the simulator replicas it starts are plain JavaScript under plain `node`.
// From the TypeScript sources, with no build: `npm run switchyard -- <command>`.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('switchyard: the build is missing (dist/cli/main.js): run `npm run build`, or `npm run switchyard -- <command>` to run the sources');
  process.exit(1);
}
await import(entry.href);
