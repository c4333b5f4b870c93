// Every profile against its section of docs/simulator.md: each parameter in the table, the prefill
// rate the table states, and the "Predicted" line (time to first token, decode rate), which the
// real engine recomputes in virtual time. A profile and its documentation cannot drift apart.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/sim/engine/clock.ts';
import { Engine } from '../../src/sim/engine/engine.ts';
import type { EngineRequestResult } from '../../src/sim/engine/request.ts';
import { listProfiles, type Profile } from '../../src/sim/profiles.ts';
import { REPO_ROOT } from '../support/processes.ts';

const DOC = readFileSync(join(REPO_ROOT, 'docs/simulator.md'), 'utf8');

const TABLE_PARAMS = [
  'blockSize',
  'numGpuBlocks',
  'maxModelLen',
  'maxNumSeqs',
  'maxNumBatchedTokens',
  'enablePrefixCaching',
  'stepBaseMs',
  'decodePerSeqMs',
  'decodePerContextTokenMs',
  'prefillPerTokenMs',
  'embeddingDim',
] as const;

/** The text under "### `name`" up to the next heading of the same or a higher level. */
function section(name: string): string {
  const start = DOC.indexOf(`### \`${name}\``);
  assert.ok(start >= 0, `docs/simulator.md has no "### \`${name}\`" section`);
  const rest = DOC.slice(start + 4);
  const end = rest.search(/^#{2,3} /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The value cell of each `| \`param\` | value | source |` row. */
function tableValues(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of text.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)) rows.set(m[1], m[2].trim());
  return rows;
}

/** The leading value of a cell: `27,000 (432k tokens)` → 27000, `1/3.1 ms (...)` → 1/3.1, `true`. */
function leadingValue(cell: string): number | boolean {
  if (/^(true|false)\b/.test(cell)) return cell.startsWith('true');
  const m = /^([\d,.]+)(?:\/([\d,.]+))?/.exec(cell);
  assert.ok(m, `no value at the start of "${cell}"`);
  const num = Number(m[1].replaceAll(',', ''));
  return m[2] === undefined ? num : num / Number(m[2].replaceAll(',', ''));
}

/** A figure as written (`30k`, `3.1k`, `0.204`, `214`) with the half-unit of its last digit it stands for. */
function figure(text: string): { value: number; tolerance: number } {
  const m = /^([\d,]+)(?:\.(\d+))?(k?)$/.exec(text);
  assert.ok(m, `not a figure: "${text}"`);
  const scale = m[3] === 'k' ? 1000 : 1;
  const decimals = m[2]?.length ?? 0;
  return { value: Number(`${m[1].replaceAll(',', '')}.${m[2] ?? '0'}`) * scale, tolerance: (0.5 * scale) / 10 ** decimals };
}

function assertFigure(written: string, actual: number, what: string): void {
  const { value, tolerance } = figure(written);
  // A hair of slack for binary floating point at the rounding boundary.
  assert.ok(Math.abs(actual - value) <= tolerance * 1.0001, `${what}: docs/simulator.md says ${written}, the profile gives ${actual}`);
}

let nextToken = 1;

/** One request alone on a fresh engine in virtual time. */
function runAlone(profile: Profile, promptTokens: number, outputTokens: number): EngineRequestResult {
  const clock = new ManualClock();
  const engine = new Engine(profile, clock);
  let result: EngineRequestResult | undefined;
  engine.submit({
    id: 'alone',
    promptTokenIds: Array.from({ length: promptTokens }, () => nextToken++),
    outputTokenIds: new Array<number>(outputTokens).fill(5),
    finishReason: 'length',
    onFinish: (r) => (result = r),
  });
  clock.run();
  assert.ok(result, 'the request finished');
  return result;
}

const PREDICTED =
  /Predicted \(one request alone, a cold ([\d.]+k)-token prompt, (\d+) output tokens\): first token after\s+([\d.]+) s, then ([\d.]+) ms per token \((\d+) tok\/s\); prefill runs at ([\d.]+k?) tok\/s\./;

describe('simulator profiles match docs/simulator.md', () => {
  for (const profile of listProfiles()) {
    describe(profile.name, () => {
      const text = section(profile.name);

      it('every parameter in the table has the profile value', () => {
        const values = tableValues(text);
        for (const param of TABLE_PARAMS) {
          const cell = values.get(param);
          assert.ok(cell, `the ${profile.name} table has no \`${param}\` row`);
          const written = leadingValue(cell);
          const actual = profile[param];
          if (typeof actual === 'boolean') assert.equal(written, actual, param);
          else assert.ok(Math.abs((written as number) - actual) <= 1e-9 * Math.abs(actual), `${param}: docs/simulator.md says ${cell}, the profile has ${actual}`);
        }
      });

      it('the prefill rate in the table is the rate the profile runs at', () => {
        const cell = tableValues(text).get('prefillPerTokenMs') ?? '';
        const rate = /\(([\d.]+k?) tok\/s\)/.exec(cell);
        assert.ok(rate, `the prefillPerTokenMs row states no "(N tok/s)" rate: "${cell}"`);
        assertFigure(rate[1], 1000 / profile.prefillPerTokenMs, 'prefill tokens/s');
      });

      it('the engine gives the predicted time to first token and decode rate', () => {
        const m = PREDICTED.exec(text);
        assert.ok(m, `the ${profile.name} section has no "Predicted (one request alone, ...)" line in the expected form`);
        const [, prompt, outputs, ttftS, itlMs, decodeRate, prefillRate] = m;
        const r = runAlone(profile, figure(prompt).value, Number(outputs));
        const itl = (r.finishedMs - r.firstTokenMs) / (Number(outputs) - 1);
        assertFigure(ttftS, (r.firstTokenMs - r.arrivalMs) / 1000, 'time to first token (s)');
        assertFigure(itlMs, itl, 'ms per output token');
        assertFigure(decodeRate, 1000 / itl, 'output tokens/s');
        assertFigure(prefillRate, 1000 / profile.prefillPerTokenMs, 'prefill tokens/s');
      });
    });
  }
});
