import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeastTokensPolicy } from '../../../src/routing/policies/least-tokens.ts';
import { countBy, replica, request, seeded } from '../helpers.ts';

describe('least-tokens', () => {
  it('picks the least outstanding work, not the fewest requests', () => {
    const p = new LeastTokensPolicy({ random: seeded(1) });
    // One 8k-token request outweighs three short ones.
    const rs = [replica('long', { inFlight: 1, inFlightTokens: 8_200 }), replica('short', { inFlight: 3, inFlightTokens: 900 })];
    assert.equal(p.pick(rs, request())!.id, 'short');
  });

  it('breaks ties at random', () => {
    const p = new LeastTokensPolicy({ random: seeded(4) });
    const rs = [replica('a', { inFlightTokens: 10 }), replica('b', { inFlightTokens: 10 }), replica('c', { inFlightTokens: 11 })];
    const counts = countBy(Array.from({ length: 2_000 }, () => p.pick(rs, request())!.id));
    assert.equal(counts.get('c'), undefined);
    assert.ok(counts.get('a')! > 900 && counts.get('b')! > 900);
  });
});
