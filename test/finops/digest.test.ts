// The daily digest: the previous UTC day's totals and top spenders, sent once per day across
// replicas, at the configured UTC time.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DigestScheduler, nextDigestAt } from '../../src/finops/digest.ts';
import type { Notification } from '../../src/finops/notifications.ts';
import { slackPayload } from '../../src/finops/notifications.ts';
import { finopsStores, type FinopsStores } from '../../src/store/finops/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { sqliteStore, usageRecord } from './support.ts';

let store: OpenedStore;
let stores: FinopsStores;
before(async () => {
  store = await sqliteStore();
  stores = finopsStores(store.sql);
});
after(async () => {
  await store.close();
});

describe('spend digest', () => {
  it('computes the next send time in UTC', () => {
    assert.equal(new Date(nextDigestAt(Date.parse('2026-11-23T08:59:00Z'), '09:00')).toISOString(), '2026-11-23T09:00:00.000Z');
    assert.equal(new Date(nextDigestAt(Date.parse('2026-11-23T09:00:00Z'), '09:00')).toISOString(), '2026-11-24T09:00:00.000Z');
    assert.equal(new Date(nextDigestAt(Date.parse('2026-12-31T23:30:00Z'), '00:15')).toISOString(), '2027-01-01T00:15:00.000Z');
  });

  it('summarises the previous UTC day and is sent by one replica only', async () => {
    await stores.ledger.insertBatch([
      usageRecord({ time: Date.parse('2026-11-22T00:00:00Z'), teamId: 'eng', keyId: 'k-eng', model: 'gpt-4o', costUsd: 1.5, promptTokens: 1000, cachedTokens: 400, completionTokens: 200 }),
      usageRecord({ time: Date.parse('2026-11-22T13:00:00Z'), teamId: 'eng', keyId: 'k-eng', model: 'gpt-4o-mini', costUsd: 0.25, promptTokens: 500, completionTokens: 100 }),
      usageRecord({ time: Date.parse('2026-11-22T23:59:59Z'), teamId: 'ops', keyId: 'k-ops', model: 'gpt-4o', costUsd: 2, promptTokens: 100, completionTokens: 50 }),
      usageRecord({ time: Date.parse('2026-11-23T00:00:00Z'), teamId: 'ops', costUsd: 99 }), // today: not in the digest
    ]);
    const sent: Notification[] = [];
    const at = Date.parse('2026-11-23T09:00:00Z');
    const mk = () => new DigestScheduler({ ledger: stores.ledger, log: stores.alerts, notify: (n) => sent.push(n), timeUtc: '09:00', now: () => at });
    const results = await Promise.all([mk().runOnce(at), mk().runOnce(at)]);
    assert.equal(results.filter((r) => r !== null).length, 1);
    assert.equal(sent.length, 1);
    const event = sent[0].event as Record<string, unknown>;
    assert.equal(event.type, 'spend_digest');
    assert.equal(event.day, '2026-11-22');
    assert.equal(event.from, '2026-11-22T00:00:00.000Z');
    assert.equal(event.to, '2026-11-23T00:00:00.000Z');
    assert.deepEqual(event.total, { requests: 3, prompt_tokens: 1600, cached_tokens: 400, cache_creation_tokens: 0, completion_tokens: 350, cost_usd: 3.75 });
    assert.deepEqual((event.by_team as { team: string; cost_usd: number }[]).map((t) => [t.team, t.cost_usd]), [['ops', 2], ['eng', 1.75]]);
    assert.deepEqual((event.by_model as { model: string; cost_usd: number }[]).map((t) => [t.model, t.cost_usd]), [['gpt-4o', 3.5], ['gpt-4o-mini', 0.25]]);
    assert.deepEqual((event.by_key as { key: string }[]).map((t) => t.key), ['k-ops', 'k-eng']);
    const slack = slackPayload(sent[0]);
    assert.equal(slack.text, 'Switchyard spend digest for 2026-11-22: $3.75 over 3 requests');
    assert.match(JSON.stringify(slack.blocks), /Top teams:\* ops \$2\.00, eng \$1\.75/);
  });

  it('catches up a missed digest at start, but never twice', async () => {
    const sent: Notification[] = [];
    const at = Date.parse('2026-11-25T15:00:00Z');
    const scheduler = new DigestScheduler({ ledger: stores.ledger, log: stores.alerts, notify: (n) => sent.push(n), timeUtc: '09:00', now: () => at });
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    scheduler.stop();
    assert.deepEqual(sent.map((n) => n.event.day), ['2026-11-24']);
    const again = new DigestScheduler({ ledger: stores.ledger, log: stores.alerts, notify: (n) => sent.push(n), timeUtc: '09:00', now: () => at });
    again.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    again.stop();
    assert.equal(sent.length, 1);
  });
});
