// Validates values (our HTTP response bodies) against the official OpenAI OpenAPI description.
//
// The schemas come from test/fixtures/openai-openapi/schemas.json: the entries of the spec's
// `components.schemas` the tests use, with everything they reference, extracted by extract.ts beside
// it (README.md there gives the provenance and the MIT licence). The repository needs nothing outside it.
//
// The spec is OpenAPI 3.1 (JSON Schema 2020-12) with OpenAPI 3.0 leftovers, which are rewritten
// before compiling (see normalizeOpenApiSchema). The fixture is read once per process; each schema is
// compiled once.

import { AssertionError } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type Format, type ValidateFunction } from 'ajv/dist/2020.js';

const FIXTURE_PATH = fileURLToPath(new URL('../fixtures/openai-openapi/schemas.json', import.meta.url));
const SPEC_ID = 'https://switchyard.invalid/openai-openapi.json';

type JsonObject = Record<string, unknown>;

/** Where the extracted schemas are read from (inside the repository). */
export function openApiSchemasPath(): string {
  return FIXTURE_PATH;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 leftovers -> JSON Schema 2020-12

const SCHEMA_KEYWORDS = [
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'additionalItems',
] as const;
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const;
const SCHEMA_ARRAY_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
/** Keywords that only describe; a schema made of nothing else constrains nothing. */
const ANNOTATION_KEYWORDS = new Set([
  'description',
  'title',
  'default',
  'deprecated',
  'example',
  'examples',
  'readOnly',
  'writeOnly',
]);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{nullable: true}` with at most annotations: the 3.0 idiom `allOf: [{$ref: X}, {nullable: true}]`. */
function isBareNullable(s: unknown): boolean {
  return isObject(s) && s.nullable === true && Object.keys(s).every((k) => k === 'nullable' || k.startsWith('x-') || ANNOTATION_KEYWORDS.has(k));
}

/**
 * Returns a copy of an OpenAPI 3.1 schema (tree) rewritten into plain JSON Schema 2020-12:
 * - `nullable: true` becomes `anyOf: [<the schema without nullable>, {type: 'null'}]`, which also
 *   makes `enum` + nullable and `$ref` + nullable accept null; `nullable: false` is dropped;
 * - `allOf: [A, {nullable: true}]` makes the whole schema nullable (the 3.0 idiom for a nullable ref);
 * - boolean `exclusiveMinimum`/`exclusiveMaximum` (3.0 style) become the 2020-12 numeric form;
 * - `#/components/schemas/X` refs become `refPrefix + X` (default: unchanged).
 * Only schema positions are rewritten, so `example`/`default`/`enum` values are left alone.
 */
export function normalizeOpenApiSchema(schema: unknown, refPrefix = '#/components/schemas/'): unknown {
  if (typeof schema === 'boolean') return schema;
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((SCHEMA_KEYWORDS as readonly string[]).includes(key)) {
      out[key] = Array.isArray(value) ? value.map((s) => normalizeOpenApiSchema(s, refPrefix)) : normalizeOpenApiSchema(value, refPrefix);
    } else if ((SCHEMA_MAP_KEYWORDS as readonly string[]).includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, s]) => [k, normalizeOpenApiSchema(s, refPrefix)]));
    } else if ((SCHEMA_ARRAY_KEYWORDS as readonly string[]).includes(key) && Array.isArray(value)) {
      out[key] = value.map((s) => normalizeOpenApiSchema(s, refPrefix));
    } else if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
      out[key] = refPrefix + encodePointerToken(value.slice('#/components/schemas/'.length));
    } else {
      out[key] = value;
    }
  }

  let nullable = out.nullable === true;
  delete out.nullable;

  if (Array.isArray(schema.allOf) && schema.allOf.some(isBareNullable)) {
    const rest = (out.allOf as unknown[]).filter((_, i) => !isBareNullable((schema.allOf as unknown[])[i]));
    nullable = true;
    if (rest.length > 0) out.allOf = rest;
    else delete out.allOf;
  }

  for (const [bound, exclusive] of [
    ['minimum', 'exclusiveMinimum'],
    ['maximum', 'exclusiveMaximum'],
  ] as const) {
    if (typeof out[exclusive] !== 'boolean') continue;
    if (out[exclusive] === true && typeof out[bound] === 'number') {
      out[exclusive] = out[bound];
      delete out[bound];
    } else {
      delete out[exclusive];
    }
  }

  if (!nullable) return out;
  // Keep annotations on the outside (readable error paths), move every constraint inside the anyOf.
  const outer: JsonObject = {};
  const inner: JsonObject = {};
  for (const [k, v] of Object.entries(out)) (ANNOTATION_KEYWORDS.has(k) || k.startsWith('x-') ? outer : inner)[k] = v;
  outer.anyOf = [inner, { type: 'null' }];
  return outer;
}

function encodePointerToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

// ---------------------------------------------------------------------------------------------
// Loading (once per process) and compiling (once per schema)

interface Compiled {
  path: string;
  schemaNames: Set<string>;
  ajv: Ajv2020;
  validators: Map<string, ValidateFunction>;
}

let compiled: Compiled | undefined;

function readComponentSchemas(path: string): JsonObject {
  if (!existsSync(path)) throw new Error(`OpenAI schemas not found at ${path}: regenerate them with npm run fixtures:openapi (see the README beside it).`);
  const doc: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isObject(doc) || !isObject(doc.schemas)) throw new Error(`${path} has no schemas object`);
  return doc.schemas;
}

/** Collects every `format` used in schema positions, so unknown ones are registered as annotations. */
function collectFormats(schema: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(schema)) {
    for (const s of schema) collectFormats(s, into);
  } else if (isObject(schema)) {
    if (typeof schema.format === 'string') into.add(schema.format);
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'enum' || k === 'const' || k === 'default' || k === 'example' || k === 'examples') continue;
      collectFormats(v, into);
    }
  }
  return into;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Seconds; anything at or above this (year 5138) is almost certainly a millisecond timestamp. */
const MAX_UNIX_SECONDS = 1e11;

const KNOWN_FORMATS: Record<string, Format> = {
  // Integer seconds since the epoch (the `type: integer` next to it checks integrality).
  unixtime: { type: 'number', validate: (n: number) => n >= 0 && n < MAX_UNIX_SECONDS },
  // Numeric annotations.
  int32: true,
  int64: true,
  float: true,
  double: true,
  // Upload bodies; annotation only.
  binary: true,
  date: {
    type: 'string',
    validate: (s: string) => {
      const m = DATE_RE.exec(s);
      if (!m) return false;
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
    },
  },
  uri: { type: 'string', validate: (s: string) => URL.canParse(s) },
};

function load(): Compiled {
  const path = openApiSchemasPath();
  if (compiled) return compiled;
  const rawSchemas = readComponentSchemas(path);
  const $defs = Object.fromEntries(Object.entries(rawSchemas).map(([name, s]) => [name, normalizeOpenApiSchema(s, '#/$defs/')]));

  const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: true, validateSchema: false });
  for (const format of collectFormats($defs, new Set())) ajv.addFormat(format, KNOWN_FORMATS[format] ?? true);
  ajv.addSchema({ $id: SPEC_ID, $defs });

  compiled = { path, schemaNames: new Set(Object.keys(rawSchemas)), ajv, validators: new Map() };
  return compiled;
}

function validatorFor(schemaName: string): ValidateFunction {
  const c = load();
  let validate = c.validators.get(schemaName);
  if (validate) return validate;
  if (!c.schemaNames.has(schemaName)) {
    throw new Error(`Schema "${schemaName}" is not among the extracted OpenAI schemas (${c.path}); add it to ROOT_SCHEMAS in test/fixtures/openai-openapi/extract.ts and re-run it`);
  }
  validate = c.ajv.compile({ $ref: `${SPEC_ID}#/$defs/${encodePointerToken(schemaName)}` });
  c.validators.set(schemaName, validate);
  return validate;
}

// ---------------------------------------------------------------------------------------------
// Public API

function excerpt(v: unknown, max = 120): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  let detail = e.message ?? e.keyword;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'enum') detail += ` ${excerpt(params.allowedValues, 400)}`;
  if (e.keyword === 'const') detail += ` ${excerpt(params.allowedValue)}`;
  if (e.keyword !== 'required' && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') detail += `, got ${excerpt(e.data)}`;
  return `  ${where}: ${detail}  [${e.schemaPath.replace(`${SPEC_ID}#/$defs/`, '')}]`;
}

/**
 * Throws an AssertionError listing every validation error (with its instance path) when `value`
 * does not match `components.schemas[schemaName]` of the OpenAI OpenAPI spec. `value` is not mutated.
 */
export function assertMatchesSchema(schemaName: string, value: unknown): void {
  const validate = validatorFor(schemaName);
  if (validate(value)) return;
  const errors = validate.errors ?? [];
  const message =
    `value does not match OpenAI schema ${schemaName} (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
    errors.map(describeError).join('\n') +
    `\nvalue: ${excerpt(value, 2000)}`;
  throw new AssertionError({ message, actual: value, expected: schemaName, operator: 'assertMatchesSchema' });
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * An embedding as sent on the wire: a number array (`encoding_format: "float"`) is returned as is;
 * a string (`encoding_format: "base64"`, what the official SDK requests by default) is decoded as
 * little-endian float32.
 */
export function embeddingFromWire(value: number[] | string): number[] {
  if (Array.isArray(value)) {
    const bad = value.findIndex((n) => typeof n !== 'number' || !Number.isFinite(n));
    if (bad !== -1) throw new TypeError(`embedding[${bad}] is not a finite number: ${excerpt(value[bad])}`);
    return value;
  }
  if (typeof value !== 'string') throw new TypeError(`embedding must be a number array or a base64 string, got ${excerpt(value)}`);
  if (!BASE64_RE.test(value)) throw new TypeError(`embedding is not valid (standard, padded) base64: ${excerpt(value)}`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 4 !== 0) throw new TypeError(`base64 embedding is ${bytes.length} bytes, not a whole number of float32s`);
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
