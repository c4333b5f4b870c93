import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Ewma } from '../../src/routing/ewma.ts';

describe('Ewma', () => {
  it('starts undefined, takes the first sample as is, then moves by alpha', () => {
    const e = new Ewma({ alpha: 0.5 });
    assert.equal(e.value, undefined);
    assert.equal(e.update(100), 100);
    assert.equal(e.update(200), 150);
    assert.equal(e.update(150), 150);
    assert.equal(e.count, 3);
  });

  it('defaults to alpha 0.2', () => {
    const e = new Ewma();
    e.update(0);
    assert.ok(Math.abs(e.update(10) - 2) < 1e-12);
  });

  it('with a half-life, a sample after a long quiet period dominates', () => {
    const e = new Ewma({ alpha: 0.1, halfLifeMs: 1_000 });
    e.update(1_000, 0);
    // Same instant: plain alpha.
    assert.ok(Math.abs(e.update(0, 0) - 900) < 1e-9);
    // One half-life later: weight = 1 - 0.9 * 0.5 = 0.55.
    assert.ok(Math.abs(e.update(0, 1_000) - 405) < 1e-9);
    // A minute later: the old average is essentially gone.
    assert.ok(e.update(50, 61_000) > 49.99);
  });

  it('ignores non-finite samples and can be reset', () => {
    const e = new Ewma();
    assert.ok(Number.isNaN(e.update(Number.NaN)));
    e.update(5);
    assert.equal(e.update(Number.POSITIVE_INFINITY), 5);
    e.reset();
    assert.equal(e.value, undefined);
    assert.equal(e.count, 0);
  });

  it('rejects invalid options', () => {
    assert.throws(() => new Ewma({ alpha: 0 }), RangeError);
    assert.throws(() => new Ewma({ alpha: 1.5 }), RangeError);
    assert.throws(() => new Ewma({ halfLifeMs: 0 }), RangeError);
  });
});
