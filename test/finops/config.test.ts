// The FinOps config additions: defaults, budgets, webhooks, digest time, and the deployment
// fields merging into a strict deployment schema.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { finopsSchema } from '../../src/finops/config.ts';

describe('finops config', () => {
  it('defaults every field', () => {
    const c = finopsSchema.parse({});
    assert.deepEqual(c.alerts.thresholds, [50, 80, 100]);
    assert.equal(c.alerts.digest.time_utc, '09:00');
    assert.equal(c.ledger.flush_interval_ms, 200);
    assert.equal(c.self_hosted.window_ms, 3_600_000);
    assert.equal(c.budget_enforcement.default_max_output_tokens, 4_096);
    assert.deepEqual(c.budgets, []);
    assert.deepEqual(finopsSchema.parse(c), c, 'parsing a parsed config changes nothing');
  });

  it('accepts a full section', () => {
    const c = finopsSchema.parse({
      prices: { 'my-llama': { input_per_1m: 0.1, output_per_1m: 0.2, cached_input_per_1m: 0.01 } },
      budgets: [
        { id: 'eng-monthly', scope: 'team', scope_id: 'eng', period: 'monthly', limit_usd: 500, thresholds: [100, 75] },
        { id: 'all', scope: 'global', period: 'daily', limit_usd: 100 },
      ],
      alerts: { webhooks: [{ name: 'ops', url: 'https://hooks.slack.com/services/T/B/X', format: 'slack' }], digest: { time_utc: '23:45' } },
    });
    assert.deepEqual(c.budgets[0].thresholds, [75, 100]);
    assert.equal(c.alerts.webhooks[0].format, 'slack');
  });

  it('names the field at fault', () => {
    const paths = (input: unknown) => finopsSchema.safeParse(input).error?.issues.map((i) => i.path.join('.'));
    assert.deepEqual(paths({ budgets: [{ id: 'x', scope: 'team', period: 'monthly', limit_usd: 5 }] }), ['budgets.0.scope_id']);
    assert.deepEqual(paths({ budgets: [{ id: 'x', scope: 'global', period: 'monthly', limit_usd: 0 }] }), ['budgets.0.limit_usd']);
    assert.deepEqual(paths({ alerts: { digest: { time_utc: '9am' } } }), ['alerts.digest.time_utc']);
    assert.deepEqual(paths({ alerts: { webhooks: [{ url: 'not a url' }] } }), ['alerts.webhooks.0.url']);
    assert.deepEqual(paths({ prices: { m: { input_per_1m: -1, output_per_1m: 1 } } }), ['prices.m.input_per_1m']);
    assert.deepEqual(paths({ budget: [] }), ['']);
  });
});
