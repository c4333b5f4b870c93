// Deterministic tool-call arguments generated from a function's JSON-schema `parameters`.
// Required properties are always present, optional ones about half of the time; enums, consts,
// numeric bounds, string formats and local $refs are honoured, so the arguments validate against
// the kind of schemas clients actually send.

import type { Rng } from '../util/rng.ts';
import { Prose } from './prose.ts';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 6;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function resolveRef(ref: string, root: Schema): Schema | undefined {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const defs = root[m[1]];
  if (!isSchema(defs)) return undefined;
  const target = defs[m[2]];
  return isSchema(target) ? target : undefined;
}

function schemaType(s: Schema): string | undefined {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x) => typeof x === 'string' && x !== 'null') ?? 'null';
  if (isSchema(s.properties)) return 'object';
  if (s.items !== undefined) return 'array';
  return undefined;
}

function stringValue(s: Schema, rng: Rng): string {
  switch (s.format) {
    case 'date':
      return `2024-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
    case 'date-time':
      return `2024-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}T${String(rng.int(0, 23)).padStart(2, '0')}:00:00Z`;
    case 'time':
      return `${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:00`;
    case 'email':
      return `user${rng.int(1, 999)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${new Prose(rng).next().toLowerCase()}`;
    case 'uuid': {
      const hex = Array.from({ length: 4 }, () => rng.nextU32().toString(16).padStart(8, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    }
  }
  let text = new Prose(rng).words(rng.int(1, 3));
  const min = num(s.minLength) ?? 0;
  const max = num(s.maxLength);
  while (text.length < min) text += 'x';
  if (max !== undefined && text.length > max) text = text.slice(0, max);
  return text;
}

function numberValue(s: Schema, rng: Rng, integer: boolean): number {
  const exMin = num(s.exclusiveMinimum);
  const exMax = num(s.exclusiveMaximum);
  let lo = num(s.minimum) ?? (exMin !== undefined ? exMin + (integer ? 1 : 0.01) : 0);
  let hi = num(s.maximum) ?? (exMax !== undefined ? exMax - (integer ? 1 : 0.01) : Math.max(lo, 0) + 100);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (integer) return rng.int(Math.ceil(lo), Math.max(Math.ceil(lo), Math.floor(hi)));
  return Math.round((lo + rng.next() * (hi - lo)) * 100) / 100;
}

function valueFor(schema: unknown, rng: Rng, root: Schema, depth: number): unknown {
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') return valueFor(resolveRef(schema.$ref, root), rng, root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return rng.pick(schema.enum);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const nonNull = options.filter((o) => !(isSchema(o) && o.type === 'null'));
      return valueFor(rng.pick(nonNull.length > 0 ? nonNull : options), rng, root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      const p = isSchema(part) && typeof part.$ref === 'string' ? resolveRef(part.$ref, root) : part;
      if (!isSchema(p)) continue;
      Object.assign(merged.properties as Schema, isSchema(p.properties) ? p.properties : {});
      if (Array.isArray(p.required)) (merged.required as unknown[]).push(...p.required);
    }
    return valueFor(merged, rng, root, depth + 1);
  }
  switch (schemaType(schema)) {
    case 'object':
      return objectValue(schema, rng, root, depth);
    case 'array': {
      const min = num(schema.minItems) ?? 1;
      const max = Math.max(min, Math.min(num(schema.maxItems) ?? 3, 3));
      return Array.from({ length: rng.int(min, max) }, () => valueFor(schema.items ?? { type: 'string' }, rng, root, depth + 1));
    }
    case 'integer':
      return numberValue(schema, rng, true);
    case 'number':
      return numberValue(schema, rng, false);
    case 'boolean':
      return rng.chance(0.5);
    case 'null':
      return null;
    default:
      return stringValue(schema, rng);
  }
}

function objectValue(schema: Schema, rng: Rng, root: Schema, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = isSchema(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);
  for (const [name, propSchema] of Object.entries(props)) {
    if (required.has(name) || rng.chance(0.5)) out[name] = valueFor(propSchema, rng, root, depth + 1);
  }
  // Required names without a property schema still get a value.
  for (const name of required) if (!(name in out)) out[name] = stringValue({}, rng);
  return out;
}

/** Arguments (a JSON object) for a function whose JSON-schema parameters are `parameters`. */
export function argumentsFromSchema(parameters: unknown, rng: Rng): Record<string, unknown> {
  if (!isSchema(parameters)) return {};
  return objectValue(parameters, rng, parameters, 0);
}
