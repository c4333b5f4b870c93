import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, type BreakerTransition } from '../../src/routing/circuit-breaker.ts';

function failTimes(b: CircuitBreaker, n: number, now: number): void {
  for (let i = 0; i < n; i++) b.onFailure(now);
}

describe('CircuitBreaker', () => {
  it('has Envoy-like defaults', () => {
    const b = new CircuitBreaker();
    assert.equal(b.consecutiveFailureThreshold, 5);
    assert.equal(b.baseEjectionMs, 10_000);
    assert.equal(b.maxEjectionMs, 300_000);
    assert.equal(b.halfOpenProbes, 1);
    assert.equal(b.state, 'closed');
  });

  it('closed -> open after N consecutive failures; a success in between resets the count', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 3 });
    failTimes(b, 2, 0);
    b.onSuccess(0);
    failTimes(b, 2, 0);
    assert.equal(b.state, 'closed');
    assert.equal(b.allowRequest(0), true);
    b.onFailure(1);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, 10_001);
    assert.equal(b.allowRequest(5_000), false);
  });

  it('open -> half_open when the ejection elapses, with a limited number of probes', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, halfOpenProbes: 2 });
    b.onFailure(0);
    assert.equal(b.stateAt(9_999), 'open');
    assert.equal(b.allowRequest(10_000), true);
    assert.equal(b.state, 'half_open');
    assert.equal(b.allowRequest(10_001), true);
    assert.equal(b.allowRequest(10_002), false);
  });

  it('half_open -> closed on a probe success', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1 });
    b.onFailure(0);
    assert.equal(b.allowRequest(10_000), true);
    b.onSuccess(10_050);
    assert.equal(b.state, 'closed');
    assert.equal(b.allowRequest(10_051), true);
    assert.equal(b.allowRequest(10_051), true);
  });

  it('half_open -> open on a probe failure, with the ejection doubling up to the max', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, baseEjectionMs: 1_000, maxEjectionMs: 5_000 });
    let now = 0;
    b.onFailure(now);
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      lengths.push(b.openUntil - now);
      now = b.openUntil;
      assert.equal(b.allowRequest(now), true);
      b.onFailure(now);
      assert.equal(b.state, 'open');
    }
    assert.deepEqual(lengths, [1_000, 2_000, 4_000, 5_000, 5_000]);
    assert.equal(b.ejections, 6);
  });

  it('keeps the longer ejection for a quick relapse, and starts from the base after a long healthy period', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, baseEjectionMs: 1_000, backoffResetMs: 60_000 });
    b.onFailure(0);
    b.allowRequest(1_000);
    b.onSuccess(1_000); // closed again after one ejection
    b.onFailure(2_000); // relapse after 1 s: second ejection, 2 s
    assert.equal(b.openUntil, 4_000);
    b.allowRequest(4_000);
    b.onSuccess(4_000);
    b.onFailure(100_000); // 96 s healthy: back to the base length
    assert.equal(b.ejections, 1);
    assert.equal(b.openUntil, 101_000);
  });

  it('ignores outcomes of requests sent before the ejection while open', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1 });
    b.onFailure(0);
    b.onFailure(5_000);
    b.onSuccess(5_000);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, 10_000);
  });

  it('a lost probe frees its slot after probeTimeoutMs; a cancelled one at once', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1, probeTimeoutMs: 3_000 });
    b.onFailure(0);
    assert.equal(b.allowRequest(10_000), true);
    assert.equal(b.allowRequest(12_999), false);
    assert.equal(b.allowRequest(13_000), true);
    b.onCancelled(13_001);
    assert.equal(b.allowRequest(13_002), true);
  });

  it('forceOpen ejects from closed and half_open, and only extends an ejection already running', () => {
    const b = new CircuitBreaker({ baseEjectionMs: 1_000 });
    b.forceOpen(0);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, 1_000);
    b.forceOpen(500);
    assert.equal(b.openUntil, 1_500);
    assert.equal(b.ejections, 1);
    b.allowRequest(1_500);
    assert.equal(b.state, 'half_open');
    b.forceOpen(1_600);
    assert.equal(b.state, 'open');
    assert.equal(b.openUntil, 3_600);
  });

  it('forceClose un-ejects (active health check passed)', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 1 });
    b.onFailure(0);
    b.forceClose(1);
    assert.equal(b.state, 'closed');
    assert.equal(b.allowRequest(2), true);
  });

  it('notifies listeners of every transition, with reasons, until unsubscribed', () => {
    const b = new CircuitBreaker({ consecutiveFailures: 2, baseEjectionMs: 100 });
    const seen: BreakerTransition[] = [];
    const off = b.onStateChange((t) => seen.push(t));
    failTimes(b, 2, 0);
    b.allowRequest(100);
    b.onFailure(100);
    b.allowRequest(300);
    b.onSuccess(300);
    off();
    b.forceOpen(400);
    assert.deepEqual(seen, [
      { from: 'closed', to: 'open', reason: 'consecutive_failures', at: 0, openUntil: 100 },
      { from: 'open', to: 'half_open', reason: 'ejection_elapsed', at: 100 },
      { from: 'half_open', to: 'open', reason: 'probe_failed', at: 100, openUntil: 300 },
      { from: 'open', to: 'half_open', reason: 'ejection_elapsed', at: 300 },
      { from: 'half_open', to: 'closed', reason: 'probe_succeeded', at: 300 },
    ]);
  });
});
