// Usage-alert webhooks the gateway gave up on land in the dead-letter queue (nothing owed is lost
// silently), and a replay delivers the same body again to a real local receiver.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebhookDispatcher, webhookTargets } from '../../src/finops/webhooks.ts';
import { budgetAlert } from '../../src/finops/notifications.ts';
import { periodKeys } from '../../src/finops/budgets.ts';
import { finopsStores } from '../../src/store/finops/index.ts';
import { batchStores } from '../../src/store/batch/index.ts';
import type { OpenedStore } from '../../src/store/open.ts';
import { BatchesService } from '../../src/batch/batches.ts';
import { DeadLetterQueue } from '../../src/batch/dlq.ts';
import { FilesService } from '../../src/batch/files/service.ts';
import { DatabaseStorage, DirectoryStorage, FileContents } from '../../src/batch/files/storage.ts';
import { sqliteStore } from '../finops/support.ts';
import { startReceiver, type Receiver } from '../finops/webhook-receiver.ts';

let store: OpenedStore;
let receiver: Receiver;

before(async () => {
  store = await sqliteStore();
  receiver = await startReceiver();
});
after(async () => {
  await receiver.close();
  await store.close();
});

describe('webhook deliveries in the dead-letter queue', () => {
  it('records a given-up delivery and delivers it again on replay', async () => {
    const stores = batchStores(store.sql);
    const contents = new FileContents(new DatabaseStorage(stores.files), {
      database: new DatabaseStorage(stores.files),
      directory: new DirectoryStorage(mkdtempSync(join(tmpdir(), 'switchyard-files-'))),
    });
    const files = new FilesService({ files: stores.files, contents, maxFileBytes: 1e6, maxLines: 10, maxLineBytes: 1e5 });
    const batchesService = new BatchesService({ batches: stores.batches, files, startIngest: () => {} });
    const late: { dispatcher?: WebhookDispatcher } = {};
    const dlq = new DeadLetterQueue({
      deadLetters: stores.deadLetters,
      batches: stores.batches,
      batchesService,
      files,
      resendWebhook: (name, kind, body) => late.dispatcher!.resend(name, kind, body),
    });
    const recorded: Promise<void>[] = [];
    const dispatcher = new WebhookDispatcher({
      targets: webhookTargets([{ name: 'finance', url: `${receiver.url}/hook`, format: 'json', headers: {} }]),
      log: finopsStores(store.sql).alerts,
      maxAttempts: 2,
      backoffBaseMs: 10,
      onGiveUp: (u) => recorded.push(dlq.recordWebhook(u)),
    });
    late.dispatcher = dispatcher;
    const budget = { id: 'global', name: 'All', scope: 'global' as const, scopeId: null, period: 'monthly' as const, limitUsd: 10, thresholds: null, source: 'api' as const, createdAt: 0 };
    receiver.script = [503, 503];
    dispatcher.send(budgetAlert({ period: periodKeys(budget, Date.now()), threshold: 90, spentUsd: 9.5, refused: false, firedAt: Date.now() }));
    await dispatcher.idle();
    await Promise.all(recorded);
    assert.equal(receiver.received.length, 2);

    const [entry] = await dlq.list({ kind: 'webhook' }, undefined, 10);
    assert.ok(entry, 'the undelivered webhook is in the DLQ');
    assert.equal(entry.webhook, 'finance');
    assert.equal(entry.errorCode, 'attempts_exhausted');
    assert.equal(entry.statusCode, 503);
    assert.equal(entry.attempts, 2);

    const result = await dlq.replay({ filter: { kind: 'webhook' } });
    assert.equal(result.webhooks, 1);
    await dispatcher.idle();
    assert.equal(receiver.received.length, 3);
    assert.deepEqual(receiver.received[2].body, receiver.received[0].body, 'the same notification is delivered');
    assert.equal((await dlq.list({ kind: 'webhook' }, undefined, 10)).length, 0);
    await dispatcher.close();
  });
});
