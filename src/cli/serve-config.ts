// The config `switchyard serve` runs with, and the one place it is validated: `check-config`
// calls the same function, so it accepts exactly what `serve` accepts.

import { ConfigError, formatProblem, resolveConfig, type ConfigProblem, type ConfigSource } from '../config/load.ts';
import { masterKeyProblem } from '../config/master-key.ts';
import { LOG_LEVELS, type SwitchyardConfig } from '../config/schema.ts';

export interface ServeFlags {
  config?: string;
  /** Already checked by the option parser (parsePort). */
  port?: number;
  host?: string;
  dataDir?: string;
  /** Already checked against LOG_LEVELS by the option parser. */
  logLevel?: SwitchyardConfig['log_level'];
}

type LogLevel = SwitchyardConfig['log_level'];

/** A TCP port number 0-65535, or undefined. */
export function parsePort(text: string): number | undefined {
  const n = Number(text);
  return text.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

const isPostgresUrl = (text: string) => URL.canParse(text) && ['postgres:', 'postgresql:'].includes(new URL(text).protocol);

const isLogLevel = (value: string): value is LogLevel => (LOG_LEVELS as readonly string[]).includes(value);

/** Flags beat environment variables, which beat the file. Bad environment values are problems
 *  named after their variable, reported like the file's. */
export function applyOverrides(config: SwitchyardConfig, flags: ServeFlags, env: NodeJS.ProcessEnv): SwitchyardConfig {
  const problems: ConfigProblem[] = [];
  const server = { ...config.server };
  let logLevel = config.log_level;
  if (flags.port !== undefined) server.port = flags.port;
  else if (env.PORT !== undefined) {
    const port = parsePort(env.PORT);
    if (port === undefined) problems.push({ path: 'PORT', message: `expected a port number 0-65535, got "${env.PORT}"` });
    else server.port = port;
  }
  const host = flags.host ?? env.HOST;
  if (host) server.host = host;
  if (env.SWITCHYARD_MASTER_KEY) {
    // One rule for every source of the key; the message names the rule only, as the value is a secret.
    const problem = masterKeyProblem(env.SWITCHYARD_MASTER_KEY);
    if (problem) problems.push({ path: 'SWITCHYARD_MASTER_KEY', message: problem });
    else server.master_key = env.SWITCHYARD_MASTER_KEY;
  }
  if (flags.logLevel !== undefined) logLevel = flags.logLevel;
  else if (env.LOG_LEVEL) {
    if (isLogLevel(env.LOG_LEVEL)) logLevel = env.LOG_LEVEL;
    else problems.push({ path: 'LOG_LEVEL', message: `expected one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"` });
  }
  // Read by the store, not part of the config, but checked here so check-config reports it too.
  if (env.DATABASE_URL && !isPostgresUrl(env.DATABASE_URL)) problems.push({ path: 'DATABASE_URL', message: 'expected a PostgreSQL URL such as postgres://user:password@db.internal:5432/switchyard' });
  if (problems.length > 0) throw new ConfigError('environment', problems);
  return { ...config, server, data_dir: flags.dataDir ?? env.SWITCHYARD_DATA_DIR ?? config.data_dir, log_level: logLevel };
}

/** --config, else $SWITCHYARD_CONFIG, else ./switchyard.yaml, else the built-in default; with
 *  flags and environment applied. Throws ConfigError listing every problem. */
export async function loadServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Promise<ConfigSource> {
  const { config, source } = await resolveConfig(flags.config, env);
  return { config: applyOverrides(config, flags, env), source };
}

/** A ConfigError for the terminal: one line for one problem, else a count and one line each. */
export function formatConfigError(err: ConfigError): string {
  if (err.problems.length === 1) return `${err.source}: ${formatProblem(err.problems[0])}\n`;
  return `${err.source}: ${err.problems.length} problems\n` + err.problems.map((p) => `  ${formatProblem(p)}\n`).join('');
}
