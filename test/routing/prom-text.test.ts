import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meanOf, parsePromValue, parsePrometheusText, sumOf } from '../../src/routing/prom-text.ts';
import { SGLANG_TEXT, VLLM_TEXT } from './metrics-fixtures.ts';

describe('parsePrometheusText', () => {
  it('reads vLLM exposition text by metric name with labels', () => {
    const m = parsePrometheusText(VLLM_TEXT);
    assert.deepEqual(m.get('vllm:num_requests_running'), [{ labels: { engine: '0', model_name: 'meta-llama/Llama-3.1-8B-Instruct' }, value: 7 }]);
    assert.equal(m.get('vllm:time_to_first_token_seconds_bucket')?.[1].labels.le, '+Inf');
    assert.equal(m.get('vllm:time_to_first_token_seconds_count')?.[0].value, 42);
    assert.equal(m.get('python_gc_objects_collected_total')?.[0].value, 12345);
    assert.equal(m.has('vllm:time_to_first_token_seconds'), false); // HELP/TYPE lines are not samples
  });

  it('reads SGLang exposition text', () => {
    const m = parsePrometheusText(SGLANG_TEXT);
    assert.equal(m.get('sglang:token_usage')?.[0].value, 0.62);
    assert.equal(m.get('sglang:cache_hit_rate')?.[0].labels.model_name, 'Qwen/Qwen2.5-7B-Instruct');
  });

  it('skips unwanted metrics when given a filter', () => {
    const m = parsePrometheusText(VLLM_TEXT, new Set(['vllm:num_requests_waiting']));
    assert.deepEqual([...m.keys()], ['vllm:num_requests_waiting']);
  });

  it('handles NaN, infinities, exponents, timestamps, labels-less lines and CRLF', () => {
    const m = parsePrometheusText('a NaN\r\nb +Inf\nc -Inf 1712345678901\nd 1.5e3\ne{} 2\n  f 3  \ng\t4\n');
    assert.ok(Number.isNaN(m.get('a')?.[0].value));
    assert.equal(m.get('b')?.[0].value, Infinity);
    assert.deepEqual(m.get('c'), [{ labels: {}, value: -Infinity, timestampMs: 1712345678901 }]);
    assert.equal(m.get('d')?.[0].value, 1500);
    assert.equal(m.get('e')?.[0].value, 2);
    assert.equal(m.get('f')?.[0].value, 3);
    assert.equal(m.get('g')?.[0].value, 4);
  });

  it('unescapes label values and tolerates spaces and a trailing comma', () => {
    const m = parsePrometheusText('x{path="C:\\\\dir",msg="say \\"hi\\"\\nbye", brace="}{" , } 1\n');
    assert.deepEqual(m.get('x')?.[0].labels, { path: 'C:\\dir', msg: 'say "hi"\nbye', brace: '}{' });
  });

  it('accepts the UTF-8 syntax with the metric name quoted inside the braces', () => {
    const m = parsePrometheusText('{"my.metric",job="a"} 5\n{"other.metric"} 6\n');
    assert.deepEqual(m.get('my.metric'), [{ labels: { job: 'a' }, value: 5 }]);
    assert.equal(m.get('other.metric')?.[0].value, 6);
  });

  it('never throws on garbage and keeps the good lines around it', () => {
    const garbage = [
      '',
      '#',
      '   ',
      'no_value',
      'bad_value abc',
      'unterminated{a="b} 1',
      'missing_eq{a"b"} 1',
      'unquoted{a=b} 1',
      '{} 1',
      '{"x"',
      '{"a","b"} 1',
      'name{"q"} 1',
      '}{ 1',
      'ts_garbage 1 notatime',
      'too_many 1 2 3',
      '\u0000\u0001\u0002',
      'x{a="\\',
      'ok_after 9',
    ].join('\n');
    const m = parsePrometheusText(garbage);
    assert.deepEqual([...m.keys()], ['ok_after']);
    for (let i = 0; i < 2_000; i++) {
      const random = Array.from({ length: 40 }, () => String.fromCharCode(32 + Math.floor(Math.random() * 95))).join('');
      parsePrometheusText(`${random}\nvalid 1\n${random.slice(5)}`);
    }
  });

  it('parses a value token strictly', () => {
    assert.equal(parsePromValue(''), undefined);
    assert.equal(parsePromValue('1,5'), undefined);
    assert.equal(parsePromValue('Inf'), Infinity);
    assert.equal(parsePromValue('-0.25'), -0.25);
  });
});

describe('sumOf / meanOf', () => {
  const m = parsePrometheusText('r{e="0"} 3\nr{e="1"} 5\nu{e="0"} 0.2\nu{e="1"} 0.6\nn NaN\n');
  it('sum counts and average fractions over label sets, ignoring NaN; undefined when absent', () => {
    assert.equal(sumOf(m, 'r'), 8);
    assert.ok(Math.abs((meanOf(m, 'u') ?? 0) - 0.4) < 1e-12);
    assert.equal(sumOf(m, 'n'), undefined);
    assert.equal(sumOf(m, 'missing'), undefined);
    assert.equal(meanOf(m, 'missing'), undefined);
  });
});
