import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicy, POLICY_NAMES, PrefixAffinityPolicy, SchedulerPolicy, type PolicyName } from '../../../src/routing/policies/index.ts';
import { replicas, request, seeded } from '../helpers.ts';

describe('createPolicy', () => {
  it('builds every named policy, each able to pick', () => {
    const rs = replicas(3);
    for (const name of POLICY_NAMES) {
      const p = createPolicy(name);
      assert.equal(p.name, name);
      const chosen = p.pick(rs, request({ prefixHashes: ['a', 'b'] }));
      assert.ok(chosen !== undefined && rs.some((r) => r === chosen), name);
      assert.equal(p.pick([], request()), undefined, name);
    }
  });

  it('passes options through', () => {
    const p = createPolicy('scheduler', { scorers: [{ name: 'prefix-cache', weight: 10 }], random: seeded(1) });
    assert.ok(p instanceof SchedulerPolicy);
    assert.deepEqual(p.scorers, [{ name: 'prefix-cache', weight: 10 }]);
    const a = createPolicy('prefix-affinity', { keyBlock: 3, epsilon: 0.5 });
    assert.ok(a instanceof PrefixAffinityPolicy);
    assert.equal(a.keyBlock, 3);
    assert.equal(a.epsilon, 0.5);
  });

  it('rejects unknown names', () => {
    assert.throws(() => createPolicy('fastest' as PolicyName), /unknown routing policy "fastest"/);
  });
});
