import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyPolicy } from '../../../src/routing/policies/latency.ts';
import { countBy, replica, request, seeded } from '../helpers.ts';

describe('latency (power of two choices on TTFT EWMA)', () => {
  it('prefers lower EWMA statistically but never starves others completely', () => {
    const p = new LatencyPolicy({ random: seeded(7), penalizeInFlight: false });
    const rs = [replica('fast', { ttftEwmaMs: 50 }), replica('mid', { ttftEwmaMs: 100 }), replica('slow', { ttftEwmaMs: 400 })];
    const counts = countBy(Array.from({ length: 6_000 }, () => p.pick(rs, request())!.id));
    // P2C over 3: the best wins both pairs it is drawn in (2/3), the middle one 1/3, the worst never.
    assert.ok(Math.abs(counts.get('fast')! - 4_000) < 200, `fast ${counts.get('fast')}`);
    assert.ok(Math.abs(counts.get('mid')! - 2_000) < 200, `mid ${counts.get('mid')}`);
    assert.equal(counts.get('slow'), undefined);
  });

  it('treats an unknown EWMA as best so new replicas get explored', () => {
    const p = new LatencyPolicy({ random: seeded(8) });
    const rs = [replica('known', { ttftEwmaMs: 10 }), replica('new')];
    for (let i = 0; i < 20; i++) assert.equal(p.pick(rs, request())!.id, 'new');
  });

  it('on equal EWMA prefers fewer in flight', () => {
    const p = new LatencyPolicy({ random: seeded(9), penalizeInFlight: false });
    const rs = [replica('busy', { ttftEwmaMs: 80, inFlight: 5 }), replica('idle', { ttftEwmaMs: 80, inFlight: 0 })];
    for (let i = 0; i < 20; i++) assert.equal(p.pick(rs, request())!.id, 'idle');
  });

  it('by default weighs the EWMA by load, so a fast replica stops winning once it is swamped', () => {
    const p = new LatencyPolicy({ random: seeded(10) });
    const rs = [replica('fast', { ttftEwmaMs: 50, inFlight: 10 }), replica('slower', { ttftEwmaMs: 200, inFlight: 0 })];
    assert.equal(p.pick(rs, request())!.id, 'slower');
  });

  it('handles one and zero candidates', () => {
    const p = new LatencyPolicy();
    assert.equal(p.pick([replica('only')], request())!.id, 'only');
    assert.equal(p.pick([], request()), undefined);
  });
});
