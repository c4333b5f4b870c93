// Budget periods start on UTC boundaries, whatever the local time zone.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { periodBounds } from '../../src/finops/periods.ts';
import { parseDuration, parseInstant } from '../../src/finops/time-args.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const bounds = (p: 'daily' | 'weekly' | 'monthly', at: string) => {
  const b = periodBounds(p, Date.parse(at));
  return [iso(b.start), iso(b.end)];
};

describe('periodBounds', () => {
  it('daily runs midnight to midnight UTC, the last millisecond included', () => {
    assert.deepEqual(bounds('daily', '2026-11-23T23:59:59.999Z'), ['2026-11-23T00:00:00.000Z', '2026-11-24T00:00:00.000Z']);
    assert.deepEqual(bounds('daily', '2026-11-24T00:00:00.000Z'), ['2026-11-24T00:00:00.000Z', '2026-11-25T00:00:00.000Z']);
    // 23:30 in New York on the 23rd is already the 24th in UTC.
    assert.deepEqual(bounds('daily', '2026-11-23T23:30:00-05:00'), ['2026-11-24T00:00:00.000Z', '2026-11-25T00:00:00.000Z']);
  });

  it('weekly starts Monday 00:00 UTC (ISO week)', () => {
    assert.deepEqual(bounds('weekly', '2026-11-23T00:00:00Z'), ['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z'], 'a Monday');
    assert.deepEqual(bounds('weekly', '2026-11-29T23:59:59.999Z'), ['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z'], 'the Sunday after');
    assert.deepEqual(bounds('weekly', '2027-01-01T12:00:00Z'), ['2026-12-28T00:00:00.000Z', '2027-01-04T00:00:00.000Z'], 'across a year end');
  });

  it('monthly runs from the 1st, handling month lengths and leap years', () => {
    assert.deepEqual(bounds('monthly', '2026-12-31T23:59:59.999Z'), ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    assert.deepEqual(bounds('monthly', '2028-02-29T10:00:00Z'), ['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    assert.deepEqual(bounds('monthly', '2026-03-01T00:00:00Z'), ['2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  });
});

describe('time arguments', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');

  it('parses durations and instants', () => {
    assert.equal(parseDuration('7d'), 7 * 86_400_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('0d'), undefined);
    assert.equal(parseDuration('7 days'), undefined);
    assert.equal(parseInstant('7d', now), Date.parse('2026-11-16T12:00:00Z'));
    assert.equal(parseInstant('2026-11-01', now), Date.parse('2026-11-01T00:00:00Z'));
    assert.equal(parseInstant('2026-11-01T08:00:00', now), Date.parse('2026-11-01T08:00:00Z'), 'no zone means UTC');
    assert.equal(parseInstant('2026-11-01T08:00:00+02:00', now), Date.parse('2026-11-01T06:00:00Z'));
    assert.equal(parseInstant('now', now), now);
    assert.equal(parseInstant('last tuesday', now), undefined);
    assert.equal(parseInstant('2026-13-45', now), undefined);
  });
});
