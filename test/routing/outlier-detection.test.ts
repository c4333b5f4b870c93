// Outlier detection on a real pool of deployments, with time passed in: stalls count as failures,
// a deployment failing far more than its peers is ejected (never the last one), and an ejected
// deployment's stalled attempts are cancelled so they can be retried elsewhere.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createModelRegistry, type ModelRegistry } from '../../src/routing/registry.ts';
import { validateConfig } from '../../src/config/load.ts';
import { examinePool, stallThresholdMs } from '../../src/routing/outlier-detection.ts';
import type { Deployment, WorkTicket } from '../../src/routing/deployment.ts';

function registry(deployments: number, outlier: object = {}): ModelRegistry {
  const config = validateConfig(
    {
      models: [
        {
          name: 'm',
          outlier_detection: outlier,
          deployments: Array.from({ length: deployments }, (_, i) => ({ provider: 'openai-compatible', id: `d${i}`, url: `http://127.0.0.1:${9 + i}/v1` })),
        },
      ],
    },
    't',
    {},
  );
  return createModelRegistry(config.models);
}

/** A finished attempt: `ok` or failed, measured `ttftMs`. */
function finish(d: Deployment, ok: boolean, now: number, ttftMs = 50): void {
  const t = d.begin(1, 1, false, now);
  if (ok) d.firstToken(t, ttftMs);
  d.settle(t, ok ? 'success' : 'failure', now);
  d.end(t);
}

/** An attempt that never answers; `cancelled` records why outlier detection cancelled it. */
function hang(d: Deployment, sentAt: number): { ticket: WorkTicket; cancelled: unknown[] } {
  const cancelled: unknown[] = [];
  const ticket = d.begin(1, 1, false, sentAt);
  ticket.attempt = { cancel: (reason) => cancelled.push(reason) };
  return { ticket, cancelled };
}

describe('outlier detection', () => {
  const registries: ModelRegistry[] = [];
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
  });
  const pool = (n: number, outlier: object = {}) => {
    const r = registry(n, outlier);
    registries.push(r);
    return r.get('m')!;
  };

  it('has documented defaults: 1 s interval, stall at 10x the peers (at least 3 s), 20 points above peers over 20 outcomes', () => {
    assert.deepEqual(pool(1).outlierDetection, { interval_ms: 1000, stall_factor: 10, min_stall_ms: 3000, failure_percent_above_peers: 20, min_requests: 20 });
  });

  it('stalls are measured against the peers: max(min_stall_ms, stall_factor x their median time to first token)', () => {
    const p = pool(3);
    const [a, b, c] = p.deployments;
    assert.equal(stallThresholdMs(a, p.deployments, p.outlierDetection), 3000, 'no measurements yet: the floor');
    finish(b, true, 0, 200);
    finish(c, true, 0, 600);
    finish(a, true, 0, 5);
    assert.equal(stallThresholdMs(a, p.deployments, p.outlierDetection), 4000, 'median of 200 and 600 = 400, x 10');
    assert.equal(stallThresholdMs(b, p.deployments, p.outlierDetection), 3025, 'median of 5 and 600: its own slowness does not raise its bar');
  });

  it('ejects a replica that hangs 30 % of its requests, and cancels its stalled attempts; the healthy peer stays', () => {
    const p = pool(2);
    const [hung, healthy] = p.deployments;
    const hanging: ReturnType<typeof hang>[] = [];
    // Breakers read the real clock when asked for availability, so times are offsets from it.
    let now = Date.now();
    for (let i = 0; i < 40; i++) {
      finish(healthy, true, now);
      if (i % 10 < 3) hanging.push(hang(hung, now));
      else finish(hung, true, now);
    }
    // Before the stall threshold nothing looks wrong: the hung replica's successes are all that is known.
    examinePool(p, now + 1000, now + 1000);
    assert.equal(hung.breaker.state, 'closed');
    assert.equal(hanging[0].cancelled.length, 0);
    now += 3500;
    for (let i = 0; i < 40; i++) {
      finish(healthy, true, now);
      if (i % 10 < 3) hanging.push(hang(hung, now));
      else finish(hung, true, now);
    }
    examinePool(p, now, now);
    assert.equal(hung.breaker.state, 'open', '12 stalls in 40 outcomes: 30 points above a peer with none');
    assert.equal(healthy.breaker.state, 'closed');
    const stalled = hanging.slice(0, 12);
    for (const h of stalled) assert.deepEqual(h.cancelled, [{ timeout: 'stalled', ms: 3500 }]);
    for (const h of hanging.slice(12)) assert.equal(h.cancelled.length, 0, 'younger attempts may still answer');
    // A cancelled attempt's own failure is not counted a second time.
    for (const h of stalled) {
      hung.settle(h.ticket, 'failure', now);
      hung.end(h.ticket);
    }
    assert.equal(hung.windowFailures, 0);
  });

  it('does not eject when the whole pool fails alike, nor the last available deployment', () => {
    const p = pool(2);
    const [a, b] = p.deployments;
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      finish(a, i % 2 === 0, t0);
      finish(b, i % 2 === 0, t0);
    }
    examinePool(p, t0 + 1000, t0 + 1000);
    assert.equal(a.breaker.state, 'closed');
    assert.equal(b.breaker.state, 'closed');

    b.setHealth(false, 'test');
    for (let i = 0; i < 40; i++) {
      // Three failures in four: below the consecutive-failures rule, far above the peer.
      finish(a, i % 4 === 3, t0 + 2000);
      finish(b, true, t0 + 2000);
    }
    examinePool(p, t0 + 3000, t0 + 3000);
    assert.equal(a.breaker.state, 'closed', 'its only peer is out of rotation');
  });

  it('a hung half-open probe re-opens the circuit and is cancelled', () => {
    const p = pool(2, { min_requests: 1 });
    const [hung, healthy] = p.deployments;
    const t0 = Date.now();
    finish(healthy, true, t0);
    hung.breaker.forceOpen(t0, 'failure_rate_outlier');
    const ejectedUntil = hung.breaker.openUntil;
    assert.ok(hung.breaker.allowRequest(ejectedUntil), 'half-open: the probe goes');
    const probe = hang(hung, ejectedUntil);
    examinePool(p, ejectedUntil + 3000, ejectedUntil + 3000);
    assert.equal(hung.breaker.state, 'open');
    assert.equal(probe.cancelled.length, 1);
  });
});
