// Loads switchyard.yaml: YAML parse, ${ENV} interpolation, schema validation. Every problem is
// reported with its path in the file, all at once, so a user fixes the file in one pass.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type SwitchyardConfig } from './schema.ts';
import { DEFAULT_CONFIG } from './defaults.ts';
import { formatPath } from '../util/format-path.ts';

export { formatPath };

export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly source: string;
  constructor(source: string, problems: ConfigProblem[]) {
    super(`${source}: ${problems.length} problem(s)\n` + problems.map((p) => `  ${formatProblem(p)}`).join('\n'));
    this.name = 'ConfigError';
    this.source = source;
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string of the tree; records unset variables as problems. */
export function interpolateEnv(node: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblem[], path: (string | number)[] = []): unknown {
  if (typeof node === 'string') {
    return node.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((item, i) => interpolateEnv(item, env, problems, [...path, i]));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = interpolateEnv(value, env, problems, [...path, key]);
    return out;
  }
  return node;
}

function zodProblems(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

function namesOf(list: unknown, key: string): (string | undefined)[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (item && typeof item === 'object' && typeof (item as Record<string, unknown>)[key] === 'string' ? ((item as Record<string, string>)[key]) : undefined));
}

function unknownFallbacks(models: unknown): ConfigProblem[] {
  if (!Array.isArray(models)) return [];
  const names = new Set(namesOf(models, 'name').filter((n): n is string => n !== undefined));
  const problems: ConfigProblem[] = [];
  models.forEach((m, i) => {
    const fallbacks = (m as { fallbacks?: unknown })?.fallbacks;
    if (!Array.isArray(fallbacks)) return;
    fallbacks.forEach((f, j) => {
      if (typeof f !== 'string') return;
      if (f === (m as { name?: unknown }).name) problems.push({ path: `models[${i}].fallbacks[${j}]`, message: 'a model cannot fall back to itself' });
      else if (!names.has(f)) problems.push({ path: `models[${i}].fallbacks[${j}]`, message: `no model named "${f}" is configured` });
    });
  });
  return problems;
}

/** Model names and, within a model, deployment ids must be unique. Checked on the raw tree so
 *  these problems are reported alongside schema problems, not only once the rest is fixed. */
function duplicateNames(raw: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const models = (raw as { models?: unknown })?.models;
  const check = (names: (string | undefined)[], path: (i: number) => string, what: string) => {
    const first = new Map<string, number>();
    names.forEach((name, i) => {
      if (name === undefined) return;
      const earlier = first.get(name);
      if (earlier === undefined) first.set(name, i);
      else problems.push({ path: path(i), message: `duplicate ${what} "${name}" (first at index ${earlier})` });
    });
  };
  check(namesOf(models, 'name'), (i) => `models[${i}].name`, 'model name');
  problems.push(...unknownFallbacks(models));
  if (Array.isArray(models)) {
    models.forEach((m, i) => check(namesOf((m as { deployments?: unknown })?.deployments, 'id'), (j) => `models[${i}].deployments[${j}].id`, 'deployment id'));
  }
  return problems;
}

/** Validates an already-parsed config object. Throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): SwitchyardConfig {
  const problems: ConfigProblem[] = [];
  const interpolated = interpolateEnv(raw, env, problems);
  // An unset variable leaves its field empty; the schema's complaint about that empty value
  // would report the same cause a second time.
  const unset = new Set(problems.map((p) => p.path));
  const result = configSchema.safeParse(interpolated);
  if (!result.success) problems.push(...zodProblems(result.error).filter((p) => !unset.has(p.path)));
  problems.push(...duplicateNames(interpolated));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return (result as { data: SwitchyardConfig }).data;
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<SwitchyardConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(err as Error).message}` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '', message: e.message.split('\n')[0] })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, [{ path: '', message: 'expected a YAML mapping at the top level (server:, models:, ...)' }]);
  }
  return validateConfig(raw, file, env);
}

export interface ConfigSource {
  config: SwitchyardConfig;
  /** File path, or 'built-in default'. */
  source: string;
}

/** --config, then $SWITCHYARD_CONFIG, then ./switchyard.yaml, then the built-in embedded default. */
export async function resolveConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ConfigSource> {
  const file = explicitPath ?? env.SWITCHYARD_CONFIG ?? (existsSync('switchyard.yaml') ? 'switchyard.yaml' : undefined);
  if (file) return { config: await loadConfigFile(file, env), source: file };
  return { config: validateConfig(DEFAULT_CONFIG, 'built-in default', env), source: 'built-in default' };
}
