// Webhook delivery to a real local HTTP receiver: retries with backoff on 500 then success, every
// attempt in the delivery log, permanent errors and exhausted retries handed to onGiveUp, and the
// Slack and JSON payload shapes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookDispatcher, webhookTargets, type UndeliveredWebhook } from '../../src/finops/webhooks.ts';
import { budgetAlert, type Notification } from '../../src/finops/notifications.ts';
import { periodKeys } from '../../src/finops/budgets.ts';
import { finopsStores, type FinopsStores } from '../../src/store/finops/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { sqliteStore } from './support.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

let store: OpenedStore;
let stores: FinopsStores;
let receiver: Receiver;

before(async () => {
  store = await sqliteStore();
  stores = finopsStores(store.sql);
  receiver = await startReceiver();
});
after(async () => {
  await receiver.close();
  await store.close();
});

function alert(): Notification {
  const budget = { id: 'team-eng', name: 'Engineering', scope: 'team' as const, scopeId: 'eng', period: 'monthly' as const, limitUsd: 100, thresholds: null, source: 'api' as const, createdAt: 0 };
  return budgetAlert({ period: periodKeys(budget, Date.parse('2026-11-23T12:00:00Z')), threshold: 80, spentUsd: 81.5, refused: false, firedAt: Date.parse('2026-11-23T12:00:00Z') });
}

describe('WebhookDispatcher', () => {
  it('retries a 500 with backoff until it succeeds, recording each attempt', async () => {
    receiver.received.length = 0;
    receiver.script = [500, 500, 200];
    const gaveUp: UndeliveredWebhook[] = [];
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([{ name: 'ops-slack', url: `${receiver.url}/slack`, format: 'slack', headers: { 'x-token': 't0k' } }]),
      log: stores.alerts,
      backoffBaseMs: 40,
      random: () => 1,
      onGiveUp: (d) => gaveUp.push(d),
    });
    const started = Date.now();
    const [id] = dispatcher.send(alert());
    await dispatcher.idle();
    assert.equal(receiver.received.length, 3);
    const gaps = [receiver.received[1].at - receiver.received[0].at, receiver.received[2].at - receiver.received[1].at];
    assert.ok(gaps[0] >= 35 && gaps[1] >= 75, `exponential backoff, got gaps ${gaps.join(', ')} ms`);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(receiver.received[0].headers['x-token'], 't0k');
    assert.equal(receiver.received[0].headers['content-type'], 'application/json');
    const attempts = await stores.alerts.listDeliveries(id);
    assert.deepEqual(attempts.map((a) => [a.attempt, a.statusCode, a.outcome, a.webhook]), [
      [1, 500, 'retrying', 'ops-slack'],
      [2, 500, 'retrying', 'ops-slack'],
      [3, 200, 'delivered', 'ops-slack'],
    ]);
    assert.ok(attempts.every((a) => !JSON.stringify(a).includes(receiver.url)), 'the delivery log never stores the URL');
    assert.deepEqual(gaveUp, []);
    await dispatcher.close();
  });

  it('sends a Slack-compatible payload and a typed JSON payload', async () => {
    receiver.received.length = 0;
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([
        { url: `${receiver.url}/slack`, format: 'slack', headers: {} },
        { url: `${receiver.url}/json`, format: 'json', headers: {} },
      ]),
      log: stores.alerts,
    });
    dispatcher.send(alert());
    await dispatcher.idle();
    const slack = receiver.received.find((r) => r.path === '/slack')!.body as { text: string; blocks: { type: string; text: { type: string; text: string } }[] };
    assert.match(slack.text, /team eng monthly budget "Engineering" \(team-eng\) reached 80% \(\$81\.50 of \$100\.00\)/);
    assert.equal(slack.blocks[0].type, 'section');
    assert.equal(slack.blocks[0].text.type, 'mrkdwn');
    assert.match(slack.blocks[1].text.text, /81\.5%/);
    const json = receiver.received.find((r) => r.path === '/json')!.body as Record<string, unknown>;
    assert.deepEqual(json, {
      type: 'budget_alert',
      budget: { id: 'team-eng', name: 'Engineering', scope: 'team', scope_id: 'eng', period: 'monthly', limit_usd: 100 },
      threshold_percent: 80,
      spent_usd: 81.5,
      percent_used: 81.5,
      requests_refused: false,
      period_start: '2026-11-01T00:00:00.000Z',
      period_end: '2026-12-01T00:00:00.000Z',
      fired_at: '2026-11-23T12:00:00.000Z',
    });
    await dispatcher.close();
  });

  it('gives up at once on a permanent 4xx and after max attempts on 5xx, via onGiveUp', async () => {
    receiver.received.length = 0;
    receiver.script = [404, 503, 503];
    const gaveUp: UndeliveredWebhook[] = [];
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([{ name: 'a', url: `${receiver.url}/a`, format: 'json', headers: {} }]),
      log: stores.alerts,
      backoffBaseMs: 10,
      maxAttempts: 2,
      concurrency: 1,
      onGiveUp: (d) => gaveUp.push(d),
    });
    const [first] = dispatcher.send(alert());
    await dispatcher.idle();
    const [second] = dispatcher.send(alert());
    await dispatcher.idle();
    assert.deepEqual(gaveUp.map((d) => [d.deliveryId, d.reason, d.attempts, d.lastError]), [
      [first, 'permanent_error', 1, 'HTTP 404'],
      [second, 'attempts_exhausted', 2, 'HTTP 503'],
    ]);
    assert.equal(JSON.parse(gaveUp[0].body).type, 'budget_alert', 'the DLQ gets the exact body to resend');
    assert.equal((await stores.alerts.listDeliveries(second)).at(-1)?.outcome, 'gave_up');
    await dispatcher.close();
  });

  it('retries a receiver that is down and never blocks the sender', async () => {
    const gaveUp: UndeliveredWebhook[] = [];
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([{ name: 'down', url: 'http://127.0.0.1:9/hook', format: 'json', headers: {} }]),
      log: stores.alerts,
      // Backoffs long enough (at least 50 + 100 ms with jitter) that a send() waiting for the attempts could not pass
      // for one that only queues, even on a loaded CI machine.
      backoffBaseMs: 100,
      maxAttempts: 3,
      onGiveUp: (d) => gaveUp.push(d),
    });
    const t0 = performance.now();
    const [id] = dispatcher.send(alert());
    assert.ok(performance.now() - t0 < 100, 'send() only queues');
    await dispatcher.idle();
    assert.equal(gaveUp[0]?.reason, 'attempts_exhausted');
    const attempts = await stores.alerts.listDeliveries(id);
    assert.equal(attempts.length, 3);
    assert.ok(attempts.every((a) => a.statusCode === null && a.error));
    await dispatcher.close();
  });

  it('hands pending retries to onGiveUp on close', async () => {
    receiver.script = [500];
    const gaveUp: UndeliveredWebhook[] = [];
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([{ url: `${receiver.url}/x`, format: 'json', headers: {} }]),
      log: stores.alerts,
      backoffBaseMs: 60_000,
      onGiveUp: (d) => gaveUp.push(d),
    });
    dispatcher.send(alert());
    while ((await stores.alerts.listDeliveries()).filter((a) => a.outcome === 'retrying' && a.webhook === 'webhook-1').length === 0) await new Promise((r) => setTimeout(r, 5));
    await dispatcher.close();
    assert.deepEqual(gaveUp.map((d) => d.reason), ['shutdown']);
  });
});
