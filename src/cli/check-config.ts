// `switchyard check-config`: the validation `serve` runs (loadServeConfig: the file, the flags
// and the environment), without starting anything. Problems `serve` would refuse to start with
// exit 1.

import { ConfigError } from '../config/load.ts';
import { formatConfigError, loadServeConfig } from './serve-config.ts';

export interface CheckConfigFlags {
  dataDir?: string;
}

/** Prints the outcome; returns the exit code. */
export async function checkConfig(file: string | undefined, flags: CheckConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let loaded;
  try {
    loaded = await loadServeConfig({ config: file, dataDir: flags.dataDir }, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(formatConfigError(err));
    return 1;
  }
  const { config, source } = loaded;
  const deployments = config.models.reduce((n, m) => n + m.deployments.length, 0);
  process.stdout.write(`${source}: OK (${config.models.length} model(s), ${deployments} deployment(s))\n`);
  return 0;
}
