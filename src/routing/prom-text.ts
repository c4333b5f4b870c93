// A small, tolerant reader of the Prometheus text exposition format, enough to pull a handful of
// gauges and counters out of an inference engine's /metrics every few hundred milliseconds.
// Lines look like `name{label="value",...} value [timestamp]`; `#` lines are comments or metadata.
// Anything it cannot read is skipped, never thrown: one odd line from a newer engine version must
// not blind the router to the rest. Also accepts the UTF-8 form with the name quoted inside the
// braces (`{"metric.name",label="v"} 1`).

export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries a timestamp. */
  readonly timestampMs?: number;
}

/** Samples by metric name (as written, e.g. `vllm:prefix_cache_hits_total`), in file order. */
export type PromSamples = Map<string, PromSample[]>;

// Character codes the parser compares against.
const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQUALS = 61;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}

function skipSpaces(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  return i;
}

/** Reads a double-quoted string starting at the opening quote; returns [text, index after the closing quote] or undefined. */
function readQuoted(s: string, i: number, end: number): [string, number] | undefined {
  let out = '';
  let from = i + 1;
  for (let j = from; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) return [out + s.slice(from, j), j + 1];
    if (c === BACKSLASH && j + 1 < end) {
      out += s.slice(from, j);
      const next = s[j + 1];
      out += next === 'n' ? '\n' : next; // \\ -> \, \" -> ", \n -> newline; others kept literally
      j++;
      from = j + 1;
    }
  }
  return undefined;
}

export function parsePromValue(token: string): number | undefined {
  switch (token) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
    case '-inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (token.length === 0) return undefined;
  const v = Number(token);
  return Number.isNaN(v) ? undefined : v;
}

interface ParsedLabels {
  labels: Record<string, string>;
  /** Metric name given inside the braces (UTF-8 syntax). */
  quotedName?: string;
  next: number;
}

function readLabels(s: string, i: number, end: number): ParsedLabels | undefined {
  const labels: Record<string, string> = {};
  let quotedName: string | undefined;
  i++; // past '{'
  for (;;) {
    i = skipSpaces(s, i, end);
    if (i >= end) return undefined;
    let c = s.charCodeAt(i);
    if (c === CLOSE_BRACE) return { labels, quotedName, next: i + 1 };
    let key: string;
    if (c === QUOTE) {
      const q = readQuoted(s, i, end);
      if (!q) return undefined;
      [key, i] = q;
    } else {
      const start = i;
      while (i < end && isNameChar(s.charCodeAt(i))) i++;
      if (i === start) return undefined;
      key = s.slice(start, i);
    }
    i = skipSpaces(s, i, end);
    c = s.charCodeAt(i);
    if (c === EQUALS) {
      i = skipSpaces(s, i + 1, end);
      if (s.charCodeAt(i) !== QUOTE) return undefined;
      const q = readQuoted(s, i, end);
      if (!q) return undefined;
      labels[key] = q[0];
      i = skipSpaces(s, q[1], end);
      c = s.charCodeAt(i);
    } else if (quotedName === undefined) {
      quotedName = key; // `{"name", ...}`: a bare quoted string is the metric name
    } else {
      return undefined;
    }
    if (c === COMMA) i++;
    else if (c !== CLOSE_BRACE) return undefined;
  }
}

function readToken(s: string, i: number, end: number): [string, number] {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === SPACE || c === TAB) break;
    i++;
  }
  return [s.slice(start, i), i];
}

function parseLine(s: string, start: number, end: number, only: ReadonlySet<string> | undefined, out: PromSamples): void {
  let i = skipSpaces(s, start, end);
  if (i >= end || s.charCodeAt(i) === HASH) return;
  let name = '';
  if (s.charCodeAt(i) !== OPEN_BRACE) {
    const nameStart = i;
    while (i < end && isNameChar(s.charCodeAt(i))) i++;
    if (i === nameStart) return;
    name = s.slice(nameStart, i);
    // Cheap rejection before reading labels: most of an engine's /metrics is histogram buckets
    // the router does not want.
    if (only && !only.has(name)) return;
    i = skipSpaces(s, i, end);
  }
  let labels: Record<string, string> = {};
  if (i < end && s.charCodeAt(i) === OPEN_BRACE) {
    const parsed = readLabels(s, i, end);
    if (!parsed) return;
    if (parsed.quotedName !== undefined) {
      if (name !== '') return; // a name both before and inside the braces
      name = parsed.quotedName;
    }
    if (name === '' || (only && !only.has(name))) return;
    labels = parsed.labels;
    i = skipSpaces(s, parsed.next, end);
  }
  if (name === '') return;
  const [valueToken, afterValue] = readToken(s, i, end);
  const value = parsePromValue(valueToken);
  if (value === undefined) return;
  i = skipSpaces(s, afterValue, end);
  let timestampMs: number | undefined;
  if (i < end) {
    const [tsToken, afterTs] = readToken(s, i, end);
    const ts = Number(tsToken);
    if (!Number.isFinite(ts) || skipSpaces(s, afterTs, end) < end) return;
    timestampMs = ts;
  }
  const sample: PromSample = timestampMs === undefined ? { labels, value } : { labels, value, timestampMs };
  const list = out.get(name);
  if (list) list.push(sample);
  else out.set(name, [sample]);
}

/**
 * Parses exposition text into samples by metric name. With `only`, every other metric is skipped
 * before its labels are read. Garbage lines are ignored.
 */
export function parsePrometheusText(text: string, only?: ReadonlySet<string>): PromSamples {
  const out: PromSamples = new Map();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13) lineEnd--; // CRLF
    parseLine(text, start, lineEnd, only, out);
    start = end + 1;
  }
  return out;
}

/** Sum of a metric's finite values across all label sets, or undefined when absent. */
export function sumOf(samples: PromSamples, name: string): number | undefined {
  const list = samples.get(name);
  if (!list) return undefined;
  let sum = 0;
  let n = 0;
  for (const s of list) {
    if (Number.isFinite(s.value)) {
      sum += s.value;
      n++;
    }
  }
  return n > 0 ? sum : undefined;
}

/** Mean of a metric's finite values across label sets (for fractions such as cache usage). */
export function meanOf(samples: PromSamples, name: string): number | undefined {
  const list = samples.get(name);
  if (!list) return undefined;
  let sum = 0;
  let n = 0;
  for (const s of list) {
    if (Number.isFinite(s.value)) {
      sum += s.value;
      n++;
    }
  }
  return n > 0 ? sum / n : undefined;
}
