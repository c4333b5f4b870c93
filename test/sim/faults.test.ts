// Every fault switch, set at start and at runtime through /sim/faults.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/sim/index.ts';
import { assertMatchesSchema } from '../support/openapi.ts';
import { chat, post, waitFor } from './helpers.ts';

const SHORT = chat('hello', { max_tokens: 3 });

describe('fault switches set at start', () => {
  const sims: RunningSimulator[] = [];
  const start = async (faults: SimulatorOptions['faults']) => {
    const sim = await startSimulator({ timeScale: 0, faults });
    sims.push(sim);
    return sim;
  };
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  it('errorRate answers with errorStatus and an OpenAI error body; health and metrics keep working', async () => {
    const sim = await start({ errorRate: 1 });
    const r = await post(`${sim.url}/v1/chat/completions`, SHORT);
    assert.equal(r.status, 500);
    assertMatchesSchema('ErrorResponse', r.json);
    assert.equal(r.json.error.type, 'server_error');
    assert.equal((await fetch(`${sim.url}/health`)).status, 200);
    assert.equal((await fetch(`${sim.url}/metrics`)).status, 200);
    const other = await start({ errorRate: 1, errorStatus: 503 });
    assert.equal((await post(`${other.url}/v1/embeddings`, { input: 'x' })).status, 503);
  });

  it('errorRate 0.5 fails about half of the requests', async () => {
    const sim = await start({ errorRate: 0.5 });
    const statuses = await Promise.all(Array.from({ length: 60 }, () => post(`${sim.url}/v1/chat/completions`, SHORT).then((r) => r.status)));
    const failed = statuses.filter((s) => s === 500).length;
    assert.ok(failed > 12 && failed < 48, `${failed} of 60 failed`);
    assert.ok(statuses.every((s) => s === 200 || s === 500));
  });

  it('addedLatencyMs delays the first byte', async () => {
    const sim = await start({ addedLatencyMs: 150 });
    const t0 = performance.now();
    const res = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...SHORT, stream: true }) });
    assert.ok(performance.now() - t0 >= 145, 'headers arrive after the added latency');
    await res.text();
  });

  it('dropMidStreamRate cuts streams after a few chunks and aborts the request in the engine', async () => {
    const sim = await start({ dropMidStreamRate: 1 });
    const res = await fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat('hello', { max_tokens: 500, ignore_eos: true, stream: true })),
    });
    assert.equal(res.status, 200);
    await assert.rejects(res.text(), 'the body ends in an error, not cleanly');
    assert.ok(await waitFor(() => sim.engine.numRunning === 0));
    assert.equal(sim.engine.counters.finished.abort, 1);
    // Non-streaming requests are not affected.
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 200);
  });

  it('hangRate never answers: no bytes, socket held open; close() still finishes', async () => {
    const sim = await start({ hangRate: 1 });
    const t0 = performance.now();
    await assert.rejects(fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SHORT), signal: AbortSignal.timeout(300) }), /timeout|aborted/i);
    assert.ok(performance.now() - t0 >= 290);
    assert.equal(sim.engine.counters.steps, 0, 'never reached the engine');
    const closing = performance.now();
    await sim.close();
    assert.ok(performance.now() - closing < 1000);
  });

  it('resetRate resets the connection before any response', async () => {
    const sim = await start({ resetRate: 1 });
    await assert.rejects(post(`${sim.url}/v1/chat/completions`, SHORT), (err: Error) => {
      const cause = (err as Error & { cause?: { code?: string } }).cause;
      return /fetch failed|other side closed|socket/i.test(err.message) || cause?.code === 'ECONNRESET';
    });
  });

  it('crashMarker: a request containing it brings the whole simulator down, like a query of death', async () => {
    let crashed = 0;
    const sim = await startSimulator({ timeScale: 0, faults: { crashMarker: 'QUERY-OF-DEATH' }, onCrash: () => crashed++ });
    sims.push(sim);
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 200, 'other requests are served');
    await assert.rejects(post(`${sim.url}/v1/chat/completions`, chat('QUERY-OF-DEATH', { max_tokens: 3 })));
    assert.ok(await waitFor(() => crashed === 1, 2_000), 'onCrash was called');
    await assert.rejects(fetch(`${sim.url}/health`), 'nothing listens any more');
  });
});

describe('fault switches at runtime: /sim/faults', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startSimulator({ timeScale: 0 });
  });
  afterEach(async () => {
    await fetch(`${sim.url}/sim/faults`, { method: 'DELETE' });
  });
  after(() => sim?.close());

  it('GET reads, POST changes and returns the faults in force, DELETE clears them', async () => {
    const initial = await (await fetch(`${sim.url}/sim/faults`)).json();
    assert.deepEqual(initial, { errorRate: 0, errorStatus: 500, addedLatencyMs: 0, dropMidStreamRate: 0, hangRate: 0, resetRate: 0, crashMarker: '' });
    const set = await post(`${sim.url}/sim/faults`, { errorRate: 1, errorStatus: 429 });
    assert.equal(set.status, 200);
    assert.deepEqual(set.json, { ...initial, errorRate: 1, errorStatus: 429 });
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 429);
    const cleared = await (await fetch(`${sim.url}/sim/faults`, { method: 'DELETE' })).json();
    assert.deepEqual(cleared, initial);
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 200);
  });

  it('rejects invalid faults with a 400 naming the field', async () => {
    for (const [body, param] of [
      [{ errorRate: 2 }, 'errorRate'],
      [{ errorStatus: 200 }, 'errorStatus'],
      [{ addedLatencyMs: -1 }, 'addedLatencyMs'],
      [{ crashMarker: 1 }, 'crashMarker'],
      [{ bogus: 1 }, 'bogus'],
    ] as const) {
      const r = await post(`${sim.url}/sim/faults`, body);
      assert.equal(r.status, 400);
      assert.equal(r.json.error.param, param);
    }
    assert.equal((await post(`${sim.url}/sim/faults`, '[]')).status, 400);
    assert.deepEqual((await (await fetch(`${sim.url}/sim/faults`)).json()).errorRate, 0, 'unchanged');
  });

  it('switches latency, hangs and resets on and off while running', async () => {
    sim.faults.update({ addedLatencyMs: 100 });
    const t0 = performance.now();
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 200);
    assert.ok(performance.now() - t0 >= 95);
    await post(`${sim.url}/sim/faults`, { addedLatencyMs: 0, resetRate: 1 });
    await assert.rejects(post(`${sim.url}/v1/chat/completions`, SHORT));
    await post(`${sim.url}/sim/faults`, { resetRate: 0, hangRate: 1 });
    await assert.rejects(post(`${sim.url}/v1/chat/completions`, SHORT, { signal: AbortSignal.timeout(150) }));
    await post(`${sim.url}/sim/faults`, { hangRate: 0 });
    assert.equal((await post(`${sim.url}/v1/chat/completions`, SHORT)).status, 200);
  });
});
