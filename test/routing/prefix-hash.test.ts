import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanonicalRequest, ChatMessage } from '../../src/api/canonical.ts';
import { estimateTokens, hashString32, prefixHashes, renderForRouting, routingRequestFor } from '../../src/routing/prefix-hash.ts';

function chat(messages: ChatMessage[], extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return {
    kind: 'chat',
    model: 'm',
    stream: false,
    includeUsage: false,
    messages,
    params: {},
    extra: {},
    meta: { requestId: 'r', edge: 'openai' },
    ...extra,
  };
}

/** Reference FNV-1a 64 over bytes with BigInt, for ASCII text (one byte per UTF-16 unit). */
function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

const SYSTEM = 'You are the support assistant of ACME. '.repeat(40);
const TOOLS = [{ type: 'function' as const, function: { name: 'lookup', description: 'Find an order', parameters: { type: 'object', properties: { id: { type: 'string' } } } } }];

describe('prefixHashes', () => {
  it('is FNV-1a 64, chained: hash i equals the hash of the first i+1 blocks', () => {
    const text = 'abcdefgh'.repeat(100);
    const hashes = prefixHashes(text, 64, 128);
    assert.equal(hashes.length, 12); // 800 chars / 64 = 12 full blocks, the partial one ignored
    for (let i = 0; i < hashes.length; i++) assert.equal(hashes[i], fnv1a64(text.slice(0, (i + 1) * 64)));
  });

  it('only counts full blocks and stops at maxBlocks', () => {
    assert.deepEqual(prefixHashes('x'.repeat(255), 256), []);
    assert.equal(prefixHashes('x'.repeat(256), 256).length, 1);
    assert.equal(prefixHashes('x'.repeat(100_000), 256, 128).length, 128);
  });

  it('differs as soon as one character of a block differs, and from then on', () => {
    const a = 'a'.repeat(1024);
    const b = 'a'.repeat(600) + 'b' + 'a'.repeat(423);
    const ha = prefixHashes(a, 256);
    const hb = prefixHashes(b, 256);
    assert.deepEqual(hb.slice(0, 2), ha.slice(0, 2));
    assert.notEqual(hb[2], ha[2]);
    assert.notEqual(hb[3], ha[3]);
  });

  it('handles non-ASCII text', () => {
    const h = prefixHashes('héllo wörld 日本語 🙂 '.repeat(50), 64);
    assert.equal(h.length, Math.floor('héllo wörld 日本語 🙂 '.repeat(50).length / 64));
    assert.equal(new Set(h).size, h.length);
  });

  it('is cheap: a 32 KB prompt hashes well under 1 ms', () => {
    // Measured 0.27-0.35 ms per 32 KB prompt (FNV-1a 64 in 16-bit limbs) on a busy 2-vCPU box with Node 20,
    // about 3x the cost of a bare charCodeAt loop over the same text; the 1 ms bound leaves room for slow CI.
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(730).slice(0, 32 * 1024);
    for (let i = 0; i < 50; i++) prefixHashes(text); // warm up the JIT
    // Best of several batches, so a neighbour process stealing the CPU does not fail the test.
    let perCallMs = Number.POSITIVE_INFINITY;
    for (let batch = 0; batch < 5; batch++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 40; i++) prefixHashes(text);
      perCallMs = Math.min(perCallMs, Number(process.hrtime.bigint() - t0) / 1e6 / 40);
    }
    assert.ok(perCallMs < 1, `prefixHashes took ${perCallMs.toFixed(3)} ms per 32 KB prompt`);
  });
});

describe('renderForRouting', () => {
  const turn1: ChatMessage[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: 'Where is order 42?' },
  ];
  const turn2: ChatMessage[] = [
    ...turn1,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":"42"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"status":"shipped"}' },
    { role: 'assistant', content: 'It shipped yesterday.' },
    { role: 'user', content: [{ type: 'text', text: 'And this one?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,' + 'A'.repeat(5000) } }] },
  ];

  it('is deterministic and renders tools before messages', () => {
    const req = chat(turn2, { tools: TOOLS });
    const text = renderForRouting(req);
    assert.equal(text, renderForRouting(structuredClone(req)));
    assert.ok(text.indexOf('lookup') < text.indexOf('ACME'));
  });

  it('includes every earlier turn: tool calls, tool results, assistant replies, images', () => {
    const text = renderForRouting(chat(turn2, { tools: TOOLS }));
    for (const part of ['{"id":"42"}', '{"status":"shipped"}', 'It shipped yesterday.', 'And this one?', '<image:5022:']) assert.ok(text.includes(part), part);
    assert.ok(text.length < 5000, 'long data URLs are fingerprinted, not copied');
  });

  it('appending a turn keeps the earlier rendering as a prefix and the earlier block hashes equal', () => {
    const a = renderForRouting(chat(turn1, { tools: TOOLS }));
    const b = renderForRouting(chat(turn2, { tools: TOOLS }));
    assert.ok(b.startsWith(a));
    const ha = prefixHashes(a);
    const hb = prefixHashes(b);
    assert.ok(ha.length >= 4);
    assert.deepEqual(hb.slice(0, ha.length), ha);
  });

  it('different system prompts or tools give different first blocks', () => {
    const base = prefixHashes(renderForRouting(chat(turn1, { tools: TOOLS })));
    const otherSystem = prefixHashes(renderForRouting(chat([{ role: 'system', content: 'Other. ' + SYSTEM }, turn1[1]], { tools: TOOLS })));
    const noTools = prefixHashes(renderForRouting(chat(turn1)));
    assert.notEqual(otherSystem[0], base[0]);
    assert.notEqual(noTools[0], base[0]);
  });

  it('different images give different renderings', () => {
    const img = (fill: string) => chat([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,' + fill.repeat(4000) } }] }]);
    assert.notEqual(renderForRouting(img('A')), renderForRouting(img('B')));
  });

  it('renders audio and file parts, telling different ones apart', () => {
    const audio = (fill: string) => chat([{ role: 'user', content: [{ type: 'text', text: 'Transcribe' }, { type: 'input_audio', input_audio: { data: fill.repeat(3000), format: 'wav' } }] }]);
    const file = (file: { file_id?: string; file_data?: string }) => chat([{ role: 'user', content: [{ type: 'file', file }] }]);
    assert.match(renderForRouting(audio('A')), /^<\|user\|>Transcribe<audio:3000:[0-9a-f]+><\|end\|>\n$/);
    assert.notEqual(renderForRouting(audio('A')), renderForRouting(audio('B')));
    assert.match(renderForRouting(file({ file_id: 'file-abc' })), /<file:file-abc>/);
    assert.notEqual(renderForRouting(file({ file_data: 'data:application/pdf;base64,' + 'A'.repeat(4000) })), renderForRouting(file({ file_data: 'data:application/pdf;base64,' + 'B'.repeat(4000) })));
  });

  it('renders completion prompts', () => {
    const req: CanonicalRequest = { ...chat([]), kind: 'completion', messages: undefined, prompt: 'Once upon a time' };
    assert.equal(renderForRouting(req), 'Once upon a time');
  });
});

describe('routingRequestFor and helpers', () => {
  it('builds hashes, token estimates and the session key', () => {
    const req = chat([{ role: 'system', content: SYSTEM }], { params: { max_tokens: 50, n: 2 } });
    req.meta.user = 'alice';
    const r = routingRequestFor(req);
    const text = renderForRouting(req);
    assert.deepEqual(r.prefixHashes, prefixHashes(text));
    assert.equal(r.estimatedPromptTokens, estimateTokens(text));
    assert.equal(r.expectedOutputTokens, 100);
    assert.equal(r.sessionKey, 'alice');
    assert.equal(routingRequestFor(chat([]), { defaultOutputTokens: 77 }).expectedOutputTokens, 77);
  });

  it('estimateTokens is about chars / 4', () => {
    assert.equal(estimateTokens(''), 0);
    assert.equal(estimateTokens('abcd'), 1);
    assert.equal(estimateTokens('abcde'), 2);
  });

  it('hashString32 spreads similar short strings', () => {
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 1600; i++) buckets[hashString32(`replica-1#${i}`) % 16]++;
    for (const b of buckets) assert.ok(b > 60 && b < 140, `bucket ${b}`);
  });
});
