// The three workloads of the routing benchmark, generated from a fixed seed. A workload is a
// sequence of requests in arrival order with unit-mean exponential gaps; the offered load only
// stretches or squeezes the gaps (gap / rate), so every policy and both loads see the same
// requests in the same order, and the lower load's requests are a prefix of the higher one's.
//
//  (a) multi-tenant chat: 150 tenants, each with its own ~6k-token system prompt, 4 users each;
//      a user's session is 4-8 turns, each turn appending a ~1.2k-token question (and the previous
//      answer) to the conversation. 900k tokens of distinct system prompts alone are twice one
//      replica's KV cache (432k tokens), so only a router that keeps tenants (and conversations)
//      on the replica that already holds them gets the cache's benefit.
//  (b) independent prompts: random text of 300-4,000 tokens, nothing shared.
//  (c) mixed long and short: a quarter of the prompts are 7-8k tokens, the rest 100-500.
// Every request streams and asks for exactly its output length (ignore_eos), 32-112 tokens.

import { Rng } from './rng.ts';
import { templateTokens, words } from './text.ts';

export type WorkloadId = 'a' | 'b' | 'c';

export interface PlannedRequest {
  /** Arrival, in units of the mean inter-arrival gap (divide by the rate in requests/ms for model ms). */
  at: number;
  body: Buffer;
  /** Prompt tokens as the simulator counts them (by construction, within a few tokens). */
  promptTokens: number;
  outputTokens: number;
}

export interface Workload {
  id: WorkloadId;
  title: string;
  description: string;
  requests: PlannedRequest[];
}

export const MODEL = 'sim-llama-3.1-8b';

const OUTPUT_MIN = 16;
const OUTPUT_MAX = 48;

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function chatBody(messages: Message[], maxTokens: number, user?: string): Buffer {
  const body: Record<string, unknown> = { model: MODEL, messages, max_tokens: maxTokens, ignore_eos: true, stream: true };
  if (user !== undefined) body.user = user;
  return Buffer.from(JSON.stringify(body));
}

export interface MultiTenantOptions {
  tenants: number;
  usersPerTenant: number;
  systemTokens: number;
  queryTokens: [number, number];
  turns: [number, number];
  /** Sessions in progress at once; a new session starts when fewer are open. */
  openSessions: number;
  /** A session's next turn waits at least this many arrivals (so turns of one conversation do not overlap). */
  minTurnGap: number;
}

export const MULTI_TENANT_DEFAULTS: MultiTenantOptions = {
  tenants: 150,
  usersPerTenant: 4,
  systemTokens: 6000,
  queryTokens: [960, 1440],
  turns: [4, 8],
  openSessions: 100,
  minTurnGap: 30,
};

interface Session {
  user: number;
  tenant: number;
  turns: number;
  messages: Message[];
  tokens: number;
  lastArrival: number;
}

/** (a) Multi-tenant multi-turn chat. */
export function multiTenantChat(seed: number, count: number, o: MultiTenantOptions = MULTI_TENANT_DEFAULTS): Workload {
  const rng = Rng.derive(seed, 'a');
  const systems: string[] = [];
  for (let t = 0; t < o.tenants; t++) {
    const head = `You are the assistant of tenant ${t}.`;
    systems.push(head + words(Rng.derive(seed, `tenant-${t}`), o.systemTokens - 10));
  }
  const users = o.tenants * o.usersPerTenant;
  const busyUsers = new Set<number>();
  const open: Session[] = [];
  const requests: PlannedRequest[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += rng.exponential(1);
    // Continue a random open session whose last turn is far enough back; else start a new one.
    let session: Session | undefined;
    if (open.length >= o.openSessions) {
      const ready = open.filter((s) => i - s.lastArrival >= o.minTurnGap);
      if (ready.length > 0) session = rng.pick(ready);
    }
    if (session === undefined) {
      let user = rng.int(0, users - 1);
      while (busyUsers.has(user)) user = (user + 1) % users;
      busyUsers.add(user);
      const tenant = Math.floor(user / o.usersPerTenant);
      session = { user, tenant, turns: rng.int(o.turns[0], o.turns[1]), messages: [{ role: 'system', content: systems[tenant] }], tokens: o.systemTokens, lastArrival: i };
      open.push(session);
    }
    const query = rng.int(o.queryTokens[0], o.queryTokens[1]);
    const output = rng.int(OUTPUT_MIN, OUTPUT_MAX);
    session.messages.push({ role: 'user', content: words(rng, query) });
    session.tokens += query;
    session.lastArrival = i;
    requests.push({
      at,
      body: chatBody(session.messages, output, `user-${session.user}`),
      promptTokens: session.tokens + templateTokens(session.messages.length),
      outputTokens: output,
    });
    // The client appends the answer before its next turn. The simulator's answer is not read back
    // (the driver does not parse chunks), so a stand-in of the same length is appended: the next
    // turn recomputes those few dozen tokens instead of hitting the answer's cached blocks.
    session.messages.push({ role: 'assistant', content: words(rng, output) });
    session.tokens += output;
    if (session.messages.length >= 1 + 2 * session.turns) {
      open.splice(open.indexOf(session), 1);
      busyUsers.delete(session.user);
    }
  }
  return {
    id: 'a',
    title: 'multi-tenant chat',
    description:
      `${o.tenants} tenants, each with its own ${o.systemTokens}-token system prompt; ${o.usersPerTenant} users per tenant; sessions of ${o.turns[0]}-${o.turns[1]} turns, ` +
      `each adding a ${o.queryTokens[0]}-${o.queryTokens[1]}-token question and the previous answer to the conversation; ${o.openSessions} sessions open at a time`,
    requests,
  };
}

/** (b) Independent random prompts: no two share more than the chat template's first tokens. */
export function independentPrompts(seed: number, count: number): Workload {
  const rng = Rng.derive(seed, 'b');
  const requests: PlannedRequest[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += rng.exponential(1);
    const prompt = rng.int(300, 4000);
    const output = rng.int(OUTPUT_MIN, OUTPUT_MAX);
    requests.push({ at, body: chatBody([{ role: 'user', content: words(rng, prompt) }], output), promptTokens: prompt + templateTokens(1), outputTokens: output });
  }
  return { id: 'b', title: 'independent prompts', description: 'random prompts of 300-4,000 tokens, no shared prefixes', requests };
}

/** (c) Mixed long (7-8k tokens, a quarter of requests) and short (100-500 tokens) prompts. */
export function mixedLengths(seed: number, count: number): Workload {
  const rng = Rng.derive(seed, 'c');
  const requests: PlannedRequest[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    at += rng.exponential(1);
    const long = rng.next() < 0.25;
    const prompt = long ? rng.int(7000, 8000) : rng.int(100, 500);
    const output = rng.int(OUTPUT_MIN, OUTPUT_MAX);
    requests.push({ at, body: chatBody([{ role: 'user', content: words(rng, prompt) }], output), promptTokens: prompt + templateTokens(1), outputTokens: output });
  }
  return { id: 'c', title: 'mixed long and short', description: 'a quarter of the prompts 7,000-8,000 tokens, the rest 100-500 tokens; no shared prefixes', requests };
}

export function generateWorkload(id: WorkloadId, seed: number, count: number): Workload {
  switch (id) {
    case 'a':
      return multiTenantChat(seed, count);
    case 'b':
      return independentPrompts(seed, count);
    case 'c':
      return mixedLengths(seed, count);
  }
}
