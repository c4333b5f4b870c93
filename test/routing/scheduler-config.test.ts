// routing.scheduler in config: scorers and filters by their registry names, each mistake reported
// with its path and the names that exist; the deprecated scheduler_weights mapped onto scorers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { SCHEDULER_FILTER_NAMES, SCORER_NAMES } from '../../src/routing/scorers/index.ts';
import { createModelRegistry } from '../../src/routing/registry.ts';
import type { SchedulerPolicy } from '../../src/routing/policies/index.ts';

function model(routing: unknown) {
  return { models: [{ name: 'm', routing, deployments: [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1' }] }] };
}

function problems(routing: unknown): string[] {
  try {
    validateConfig(model(routing), 'test.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

const resolved = (routing: unknown) => validateConfig(model(routing), 'test.yaml', {}).models[0].routing.scheduler;

describe('routing.scheduler config', () => {
  it('takes scorers with weights and filters, by registry name', () => {
    assert.deepEqual(resolved({ scheduler: { scorers: [{ name: 'queue', weight: 1 }, { name: 'prefix-cache', weight: 0.5 }], filters: ['long-queue'] } }), {
      scorers: [
        { name: 'queue', weight: 1 },
        { name: 'prefix-cache', weight: 0.5 },
      ],
      filters: ['long-queue'],
    });
    assert.deepEqual(resolved({ scheduler: { filters: [] } }).filters, [], 'no filters is allowed');
  });

  it('names the unknown scorer or filter, where it is, and what exists', () => {
    assert.deepEqual(problems({ scheduler: { scorers: [{ name: 'latency', weight: 1 }], filters: ['healthy'] } }), [
      `models[0].routing.scheduler.scorers[0].name: unknown scorer "latency"; expected one of ${SCORER_NAMES.join(', ')}`,
      `models[0].routing.scheduler.filters[0]: unknown scheduler filter "healthy"; expected one of ${SCHEDULER_FILTER_NAMES.join(', ')}`,
    ]);
  });

  it('refuses a scorer listed twice, negative weights, and a list where nothing weighs', () => {
    assert.deepEqual(problems({ scheduler: { scorers: [{ name: 'queue', weight: 1 }, { name: 'queue', weight: 2 }], filters: ['at-capacity', 'at-capacity'] } }), [
      'models[0].routing.scheduler.scorers[1].name: scorer "queue" is listed twice',
      'models[0].routing.scheduler.filters[1]: filter "at-capacity" is listed twice',
    ]);
    assert.match(problems({ scheduler: { scorers: [{ name: 'queue', weight: -1 }] } }).join('\n'), /^models\[0\]\.routing\.scheduler\.scorers\[0\]\.weight: /);
    assert.deepEqual(problems({ scheduler: { scorers: [{ name: 'queue', weight: 0 }] } }), [
      'models[0].routing.scheduler.scorers: give at least one scorer a weight above 0 (with none, every pick would be at random)',
    ]);
    assert.match(problems({ scheduler: { scorers: [{ name: 'queue' }] } }).join('\n'), /scorers\[0\]\.weight: /);
    assert.match(problems({ scheduler: { scorer: [] } }).join('\n'), /models\[0\]\.routing\.scheduler: Unrecognized key: "scorer"/);
  });

  it('maps the deprecated scheduler_weights onto the default list, each weight given replacing its default', () => {
    assert.deepEqual(resolved({ scheduler_weights: { queue: 5, in_flight_tokens: 0 } }).scorers, [
      { name: 'prefix-cache', weight: 3 },
      { name: 'queue', weight: 5 },
      { name: 'kv-cache', weight: 1 },
      { name: 'in-flight-tokens', weight: 0 },
    ]);
    assert.deepEqual(resolved({ scheduler_weights: { queue: 5 }, scheduler: { filters: ['at-capacity'] } }).filters, ['at-capacity'], 'filters beside the alias');
  });

  it('refuses scheduler.scorers and scheduler_weights together', () => {
    assert.deepEqual(problems({ scheduler: { scorers: [{ name: 'queue', weight: 1 }] }, scheduler_weights: { queue: 1 } }), [
      'models[0].routing.scheduler_weights: give routing.scheduler.scorers or the deprecated routing.scheduler_weights, not both',
    ]);
  });

  it('reaches the pool: the registry builds the scheduler with the configured parts', async () => {
    const config = validateConfig(model({ scheduler: { scorers: [{ name: 'kv-cache', weight: 2 }], filters: ['at-capacity'] } }), 'test.yaml', {});
    const registry = createModelRegistry(config.models);
    try {
      const policy = registry.get('m')!.policy as SchedulerPolicy;
      assert.deepEqual(policy.scorers, [{ name: 'kv-cache', weight: 2 }]);
      assert.deepEqual(policy.filterNames, ['at-capacity']);
    } finally {
      await registry.close();
    }
  });
});
