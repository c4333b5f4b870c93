// Deprecated settings: one note per use, saying where it is and exactly what to write instead.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deprecationNotes } from '../../src/config/deprecations.ts';
import { validateConfig } from '../../src/config/load.ts';

const deployments = [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1' }];

describe('deprecationNotes', () => {
  it('names each model using scheduler_weights and gives the scorers list that means the same', () => {
    const config = validateConfig(
      {
        models: [
          { name: 'a', deployments },
          { name: 'b', routing: { scheduler_weights: { queue: 5, kv_cache: 0 } }, deployments },
          { name: 'c', routing: { scheduler: { scorers: [{ name: 'queue', weight: 1 }] } }, deployments },
        ],
      },
      'test.yaml',
      {},
    );
    assert.deepEqual(deprecationNotes(config), [
      'models[1].routing.scheduler_weights is deprecated (it still works): write routing.scheduler.scorers: ' +
        '[{ name: prefix-cache, weight: 3 }, { name: queue, weight: 5 }, { name: kv-cache, weight: 0 }, { name: in-flight-tokens, weight: 1 }] instead, the same weights.',
    ]);
  });

  it('has nothing to say about a config without deprecated settings', () => {
    assert.deepEqual(deprecationNotes(validateConfig({ models: [{ name: 'a', deployments }] }, 'test.yaml', {})), []);
  });
});
