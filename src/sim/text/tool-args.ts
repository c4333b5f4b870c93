// Deterministic tool-call arguments generated from a function's JSON-schema `parameters`.
// Required properties are always present, optional ones about half of the time; enums, consts,
// numeric bounds, string formats and local $refs are honoured, so the arguments validate against
// the kind of schemas clients actually send.
//
// What one schema may make the generator produce is bounded (array sizes, string lengths, values
// in all, characters in all): a schema asking for more is refused with ToolSchemaTooLarge before
// anything that large is built, so no request can block or exhaust the process. Nesting past
// MAX_DEPTH generates null, which ends recursive schemas ($ref cycles) instead of refusing them.

import type { Rng } from '../util/rng.ts';
import { Prose } from './prose.ts';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 6;
/** Largest `minItems` honoured. */
export const MAX_ARRAY_ITEMS = 1_024;
/** Largest `minLength` honoured. */
export const MAX_STRING_LENGTH = 16_384;
/** Values (of any type, nested ones included) in one generated arguments object. */
export const MAX_VALUES = 10_000;
/** Characters of string values in one generated arguments object. */
export const MAX_STRING_CHARS = 1_000_000;

/** The schema asks for more than the generator's bounds; `message` says which bound and where. */
export class ToolSchemaTooLarge extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolSchemaTooLarge';
  }
}

/** What is left of one generation's budget. */
interface Budget {
  values: number;
  chars: number;
}

function spend(budget: Budget, chars: number): void {
  budget.values--;
  budget.chars -= chars;
  if (budget.values < 0) throw new ToolSchemaTooLarge(`the arguments it describes have more than ${MAX_VALUES} values`);
  if (budget.chars < 0) throw new ToolSchemaTooLarge(`the arguments it describes have more than ${MAX_STRING_CHARS} characters of strings`);
}

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

function stringValue(s: Schema, rng: Rng, budget: Budget): string {
  const text = unboundedStringValue(s, rng);
  spend(budget, text.length);
  return text;
}

function unboundedStringValue(s: Schema, rng: Rng): string {
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
  if (min > MAX_STRING_LENGTH) throw new ToolSchemaTooLarge(`minLength ${min} is above the largest supported, ${MAX_STRING_LENGTH}`);
  if (text.length < min) text += 'x'.repeat(min - text.length);
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

function valueFor(schema: unknown, rng: Rng, root: Schema, depth: number, budget: Budget): unknown {
  if (!isSchema(schema) || depth > MAX_DEPTH) return null;
  if (typeof schema.$ref === 'string') return valueFor(resolveRef(schema.$ref, root), rng, root, depth + 1, budget);
  if ('const' in schema) {
    spend(budget, 0);
    return schema.const;
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    spend(budget, 0);
    return rng.pick(schema.enum);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const nonNull = options.filter((o) => !(isSchema(o) && o.type === 'null'));
      return valueFor(rng.pick(nonNull.length > 0 ? nonNull : options), rng, root, depth + 1, budget);
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
    return valueFor(merged, rng, root, depth + 1, budget);
  }
  switch (schemaType(schema)) {
    case 'object':
      return objectValue(schema, rng, root, depth, budget);
    case 'array': {
      const min = Math.max(0, num(schema.minItems) ?? 1);
      if (min > MAX_ARRAY_ITEMS) throw new ToolSchemaTooLarge(`minItems ${min} is above the largest supported, ${MAX_ARRAY_ITEMS}`);
      const max = Math.max(min, Math.min(num(schema.maxItems) ?? 3, 3));
      spend(budget, 0);
      const items: unknown[] = [];
      for (let n = rng.int(Math.ceil(min), Math.ceil(max)); items.length < n; ) items.push(valueFor(schema.items ?? { type: 'string' }, rng, root, depth + 1, budget));
      return items;
    }
    case 'integer':
      spend(budget, 0);
      return numberValue(schema, rng, true);
    case 'number':
      spend(budget, 0);
      return numberValue(schema, rng, false);
    case 'boolean':
      spend(budget, 0);
      return rng.chance(0.5);
    case 'null':
      spend(budget, 0);
      return null;
    default:
      return stringValue(schema, rng, budget);
  }
}

function objectValue(schema: Schema, rng: Rng, root: Schema, depth: number, budget: Budget): Record<string, unknown> {
  spend(budget, 0);
  const out: Record<string, unknown> = {};
  const props = isSchema(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);
  for (const [name, propSchema] of Object.entries(props)) {
    if (required.has(name) || rng.chance(0.5)) {
      spend(budget, name.length);
      out[name] = valueFor(propSchema, rng, root, depth + 1, budget);
    }
  }
  // Required names without a property schema still get a value.
  for (const name of required) {
    if (name in out) continue;
    spend(budget, name.length);
    out[name] = stringValue({}, rng, budget);
  }
  return out;
}

/**
 * Arguments (a JSON object) for a function whose JSON-schema parameters are `parameters`.
 * Throws ToolSchemaTooLarge when the schema asks for more than the generator's bounds.
 */
export function argumentsFromSchema(parameters: unknown, rng: Rng): Record<string, unknown> {
  if (!isSchema(parameters)) return {};
  return objectValue(parameters, rng, parameters, 0, { values: MAX_VALUES, chars: MAX_STRING_CHARS });
}
