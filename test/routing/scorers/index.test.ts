// The registry of scheduler parts: every entry builds, under the name it is registered by.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { POOL_FILTERS, QueueEstimate, SCHEDULER_FILTER_NAMES, SCHEDULER_FILTERS, SCORER_NAMES, SCORERS, scorersFromLegacyWeights } from '../../../src/routing/scorers/index.ts';
import { replicas, request } from '../helpers.ts';

describe('scorer and filter registry', () => {
  it('builds every scorer under its registered name, each able to score', () => {
    const rs = replicas(3);
    for (const name of SCORER_NAMES) {
      const scorer = SCORERS[name]({ queue: new QueueEstimate() });
      assert.equal(scorer.name, name);
      const out = new Float64Array(3);
      scorer.score(rs, request(), { now: 0, staleAfterMs: 2_000 }, out);
      for (const s of out) assert.ok(s >= 0 && s <= 1, `${name}: ${s}`);
    }
  });

  it('builds every scheduler filter under its registered name, and names every pool filter by its key', () => {
    for (const name of SCHEDULER_FILTER_NAMES) assert.equal(SCHEDULER_FILTERS[name]({ queue: new QueueEstimate() }).name, name);
    for (const [key, filter] of Object.entries(POOL_FILTERS)) assert.equal(filter.name, key);
  });

  it('reads each deprecated weight key as the scorer of the same name', () => {
    const weights = Object.fromEntries(SCORER_NAMES.map((n, i) => [n.replaceAll('-', '_'), i + 10]));
    assert.deepEqual(
      scorersFromLegacyWeights(weights).map((s) => [s.name, s.weight]),
      SCORER_NAMES.map((n, i) => [n, i + 10]),
    );
  });
});
