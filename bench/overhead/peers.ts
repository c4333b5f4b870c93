// The third-party contenders, found or installed at run time and never made dependencies of
// Switchyard: nginx from the Debian package, Portkey's gateway from npm into a git-ignored folder
// beside this file (bench/overhead/.peers/).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = fileURLToPath(new URL('./.peers/', import.meta.url));
export const PORTKEY_VERSION = process.env.BENCH_PORTKEY_VERSION ?? '1.15.2';
const PORTKEY_ENTRY = `${PEERS_DIR}node_modules/@portkey-ai/gateway/build/start-server.js`;

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status === 0) return found.stdout.trim();
  // Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
  return existsSync(`/usr/sbin/${command}`) ? `/usr/sbin/${command}` : undefined;
}

/** nginx's path; installs the Debian package when running as root. Undefined (with why) otherwise. */
export function findNginx(log: (line: string) => void): { path?: string; note?: string } {
  const present = which('nginx');
  if (present) return { path: present };
  if (process.getuid?.() !== 0) {
    return { note: 'nginx is not installed; install it with `sudo apt-get install -y nginx` and re-run (its rows are left out).' };
  }
  log('nginx not found: installing the Debian package (apt-get install -y nginx)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], { stdio: 'inherit', env }).status === 0;
  if (!install()) {
    // A fresh machine may not have read the package lists yet.
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  const installed = which('nginx');
  return installed ? { path: installed } : { note: 'nginx could not be installed (apt-get failed); its rows are left out.' };
}

/** The entry script of Portkey's gateway, installed into bench/overhead/.peers/ on first use. */
export function findPortkey(log: (line: string) => void): { entry?: string; version: string; note?: string } {
  if (!existsSync(PORTKEY_ENTRY)) {
    log(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${PEERS_DIR} (not a Switchyard dependency)`);
    try {
      execFileSync('npm', ['install', '--prefix', PEERS_DIR, '--no-save', '--no-audit', '--no-fund', `@portkey-ai/gateway@${PORTKEY_VERSION}`], { stdio: 'inherit' });
    } catch {
      return { version: PORTKEY_VERSION, note: `npm could not install @portkey-ai/gateway@${PORTKEY_VERSION}; its rows are left out.` };
    }
  }
  if (!existsSync(PORTKEY_ENTRY)) return { version: PORTKEY_VERSION, note: 'Portkey gateway entry script not found after install; its rows are left out.' };
  return { entry: PORTKEY_ENTRY, version: PORTKEY_VERSION };
}
