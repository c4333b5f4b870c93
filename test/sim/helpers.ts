// HTTP helpers for the simulator tests: JSON posts and SSE streams read the way clients read them.

// Response bodies are inspected field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export const MODEL = 'sim-llama-3.1-8b';

export async function post(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string; json: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // not JSON; callers look at text
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface SseResult {
  status: number;
  headers: Headers;
  /** Parsed `data:` events before [DONE]. */
  events: Json[];
  /** Raw `data:` payloads, [DONE] included. */
  data: string[];
  done: boolean;
  /** Milliseconds from sending the request to the first event. */
  firstEventMs: number;
  raw: string;
}

/** Posts a streaming request and reads the whole SSE body (rejects if the stream breaks). */
export async function stream(url: string, body: unknown, init: RequestInit = {}): Promise<SseResult> {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  let firstEventMs = -1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (firstEventMs < 0) firstEventMs = performance.now() - started;
    raw += decoder.decode(value, { stream: true });
  }
  const data = raw
    .split('\n\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      if (!block.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(block)}`);
      return block.slice('data: '.length);
    });
  const done = data.at(-1) === '[DONE]';
  const events = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Json);
  return { status: res.status, headers: res.headers, events, data, done, firstEventMs, raw };
}

export function chat(content: string, extra: Json = {}): Json {
  return { model: MODEL, messages: [{ role: 'user', content }], ...extra };
}

/** A text of exactly `n` tokens (short words are one token each) that no other call returns. */
let uniq = 0;
export function uniqueText(n: number): string {
  const tag = [...(uniq++).toString(26)].map((c) => String.fromCharCode(97 + parseInt(c, 26))).join('');
  return Array.from({ length: n }, (_, i) => (i === 0 ? `q${tag}` : ` ${String.fromCharCode(97 + (i % 26))}`)).join('');
}

export async function metricValue(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3000, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}
