// Line splitting across chunk boundaries (multi-byte characters too) and the batch line checks.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatchFileChecker, LineSplitter, LineTooLongError, jsonlLines } from '../../../src/batch/files/jsonl.ts';

describe('LineSplitter', () => {
  it('joins lines cut across chunks, including inside a multi-byte character', async () => {
    const text = '{"a":"é"}\r\n{"b":"日本"}\n\n{"c":1}';
    const bytes = Buffer.from(text);
    const chunks = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)); // one byte at a time
    const lines = [];
    for await (const l of jsonlLines((async function* () { yield* chunks; })(), 1_000)) lines.push(l);
    assert.deepEqual(lines, [
      { line: 1, text: '{"a":"é"}' },
      { line: 2, text: '{"b":"日本"}' },
      { line: 3, text: '' },
      { line: 4, text: '{"c":1}' },
    ]);
  });

  it('refuses a line longer than the limit, naming it', () => {
    const splitter = new LineSplitter(10);
    splitter.push(Buffer.from('short\n'));
    assert.throws(() => splitter.push(Buffer.from('x'.repeat(20))), (err: unknown) => err instanceof LineTooLongError && err.line === 2);
  });
});

describe('BatchFileChecker', () => {
  const line = (o: Record<string, unknown>) => JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] }, ...o });

  it('accepts good lines and names what is wrong with bad ones', () => {
    const checker = new BatchFileChecker(100);
    assert.ok(checker.check(1, line({})));
    assert.equal(checker.check(2, ''), undefined);
    checker.check(3, line({}));
    checker.check(4, line({ custom_id: 'b', body: { model: 'm', stream: true } }));
    checker.check(5, line({ custom_id: 'c', body: [] }));
    assert.equal(checker.requestLines, 4);
    assert.deepEqual(checker.problems.map((p) => p.line), [3, 4, 5]);
    assert.match(checker.summary(), /line 3: custom_id "a" is used by an earlier line \(custom_id must be unique within the file\); line 4: body.stream is not supported/);
  });

  it('enforces the line limit', () => {
    const checker = new BatchFileChecker(2);
    for (let i = 1; i <= 3; i++) checker.check(i, line({ custom_id: `id-${i}` }));
    assert.match(checker.summary(), /line 3: the file has more than 2 requests/);
  });
});
