// One rule for the master key, whichever source it comes from: the file's server.master_key and
// SWITCHYARD_MASTER_KEY are held to the same length and character rule, and a gateway given a bad
// key refuses to start (instead of accepting it and binding beyond loopback).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import { applyOverrides } from '../../src/cli/serve-config.ts';
import { startGateway } from '../support/processes.ts';

const BAD_KEYS = ['a', 'short77', 'has space in it', 'tab\there-long', 'newline\nkey-long'];
const GOOD_KEY = 'sk-good-master-key';

function fileProblem(key: string): string | undefined {
  try {
    validateConfig({ ...DEFAULT_CONFIG, server: { master_key: key } }, 'test.yaml', {});
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  }
}

function envProblem(key: string): string | undefined {
  const config = validateConfig(DEFAULT_CONFIG, 'default', {});
  try {
    applyOverrides(config, {}, { SWITCHYARD_MASTER_KEY: key });
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  }
}

describe('master key rule', () => {
  it('refuses the same keys from the file and from the environment, naming the source', () => {
    for (const key of BAD_KEYS) {
      const file = fileProblem(key) ?? '';
      const env = envProblem(key) ?? '';
      assert.ok(file?.startsWith('server.master_key: the master key must'), `file refuses ${JSON.stringify(key)}: ${file}`);
      assert.ok(env?.startsWith('SWITCHYARD_MASTER_KEY: the master key must'), `env refuses ${JSON.stringify(key)}: ${env}`);
      assert.equal(file.slice('server.master_key: '.length), env.slice('SWITCHYARD_MASTER_KEY: '.length), 'one rule, one message');
      if (key.length > 1) assert.ok(!env.includes(key), 'the message never repeats the key');
    }
  });

  it('accepts a good key from either source', () => {
    assert.equal(fileProblem(GOOD_KEY), undefined);
    assert.equal(envProblem(GOOD_KEY), undefined);
    const config = applyOverrides(validateConfig(DEFAULT_CONFIG, 'default', {}), {}, { SWITCHYARD_MASTER_KEY: GOOD_KEY });
    assert.equal(config.server.master_key, GOOD_KEY);
  });

  it('a gateway given SWITCHYARD_MASTER_KEY=a does not start, with one line saying why', async () => {
    const outcome = await startGateway({ env: { SWITCHYARD_MASTER_KEY: 'a' }, args: ['--host', '0.0.0.0'] }).catch((err: Error) => err);
    if (!(outcome instanceof Error)) {
      await outcome.stop();
      assert.fail(`the gateway started with a one-character master key, on ${outcome.url}`);
    }
    assert.match(outcome.message, /exited with 1 before listening/);
    const output = outcome.message.split('\n').slice(1).join('\n').trim();
    assert.equal(output, 'environment: SWITCHYARD_MASTER_KEY: the master key must be at least 8 characters (got 1)');
  });
});
