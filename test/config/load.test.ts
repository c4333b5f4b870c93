import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, interpolateEnv, validateConfig } from '../../src/config/load.ts';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';

function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(raw, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('config', () => {
  it('the built-in default is valid and fills every default', () => {
    const config = validateConfig(DEFAULT_CONFIG, 'default', {});
    assert.equal(config.server.port, 8080);
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.max_body_bytes, 10 * 1024 * 1024);
    assert.equal(config.data_dir, './.switchyard');
    const model = config.models[0];
    assert.equal(model.name, 'sim-llama-3.1-8b');
    assert.deepEqual(model.timeouts, { connect_ms: 5000, first_token_ms: 60000, idle_ms: 60000, total_ms: 600000 });
    assert.equal(model.deployments[0].provider, 'simulator');
    assert.equal(model.deployments[0].provider === 'simulator' && model.deployments[0].replicas, 2);
  });

  it('interpolates ${VAR} and ${VAR:-default}, reporting unset variables by path', () => {
    const problems: { path: string; message: string }[] = [];
    const out = interpolateEnv({ a: ['x-${A}-y', '${B:-fallback}', '${C}'] }, { A: '1' }, problems);
    assert.deepEqual(out, { a: ['x-1-y', 'fallback', ''] });
    assert.deepEqual(problems, [{ path: 'a[2]', message: 'environment variable C is not set' }]);
  });

  it('reports an unset ${VAR} once, not again as the empty value it leaves', () => {
    const hosted = (api_key: string) => ({ models: [{ name: 'gpt', deployments: [{ provider: 'openai', api_key }] }] });
    assert.deepEqual(problemsOf(hosted('${UNSET_KEY}')), ['models[0].deployments[0].api_key: environment variable UNSET_KEY is not set']);
    assert.deepEqual(problemsOf({ models: [{ name: 'm', deployments: [{ provider: 'openai-compatible', url: 'http://${UNSET_HOST}:8000/v1' }] }] }), [
      'models[0].deployments[0].url: environment variable UNSET_HOST is not set',
    ]);
    assert.deepEqual(problemsOf(hosted('')), ['models[0].deployments[0].api_key: an OpenAI deployment needs api_key, e.g. ${OPENAI_API_KEY}'], 'an empty value set in the file is still reported');
  });

  it('knows the simulator profiles', () => {
    assert.deepEqual(problemsOf({ models: [{ name: 'm', deployments: [{ provider: 'simulator', profile: 'nosuch' }] }] }), [
      'models[0].deployments[0].profile: unknown simulator profile "nosuch"; known profiles: h100-llama-3.1-8b, a10g-llama-3.1-8b, tiny',
    ]);
    assert.deepEqual(problemsOf({ models: [{ name: 'm', deployments: [{ provider: 'simulator', profile: 'tiny' }] }] }), []);
  });

  it('resolves secrets from the environment', () => {
    const config = validateConfig(
      { models: [{ name: 'gpt', deployments: [{ provider: 'openai', api_key: '${OPENAI_API_KEY}' }] }] },
      't',
      { OPENAI_API_KEY: 'sk-real' },
    );
    const d = config.models[0].deployments[0];
    assert.equal(d.provider === 'openai' && d.api_key, 'sk-real');
    assert.equal(d.provider === 'openai' && d.url, 'https://api.openai.com/v1');
  });

  it('reports every problem with its path, all at once', () => {
    const problems = problemsOf({
      server: { port: 70000, surprise: true },
      models: [
        { name: 'a', deployments: [{ provider: 'openai-compatible', url: 'http://h/v1' }] },
        { name: 'a', deployments: [] },
        { name: 'c', deployments: [{ provider: 'openai-compatible', url: 'nope', weight: -1 }, { provider: 'openai-compatible', engine: 'tensorflow', url: 'http://x/v1' }] },
      ],
    });
    const text = problems.join('\n');
    assert.match(text, /^server\.port: /m);
    assert.match(text, /^server: Unrecognized key: "surprise"/m);
    assert.match(text, /^models\[1\]\.deployments: a model needs at least one deployment/m);
    assert.match(text, /^models\[1\]\.name: duplicate model name "a"/m);
    assert.match(text, /^models\[2\]\.deployments\[0\]\.url: expected a URL/m);
    assert.match(text, /^models\[2\]\.deployments\[0\]\.weight: /m);
    assert.match(text, /^models\[2\]\.deployments\[1\]\.engine: /m);
  });

  it('requires at least one model', () => {
    assert.match(problemsOf({ models: [] }).join('\n'), /models: configure at least one model/);
    assert.match(problemsOf({}).join('\n'), /models: /);
  });

  it('checks fallback chains name configured models other than their own', () => {
    const text = problemsOf({
      models: [
        { name: 'a', fallbacks: ['b', 'a', 'ghost'], deployments: [{ provider: 'openai-compatible', url: 'http://h/v1' }] },
        { name: 'b', deployments: [{ provider: 'openai-compatible', url: 'http://h/v1' }] },
      ],
    }).join('\n');
    assert.match(text, /^models\[0\]\.fallbacks\[1\]: a model cannot fall back to itself/m);
    assert.match(text, /^models\[0\]\.fallbacks\[2\]: no model named "ghost" is configured/m);
    assert.doesNotMatch(text, /fallbacks\[0\]/);
  });

  it('accepts routing, breaker, retry and admission settings and rejects unknown policies', () => {
    const config = validateConfig(
      {
        models: [
          {
            name: 'a',
            routing: { policy: 'prefix-affinity', sticky_sessions: true },
            circuit_breaker: { consecutive_failures: 2 },
            admission: { max_queue: 10 },
            deployments: [{ provider: 'openai-compatible', url: 'http://h/v1', max_concurrency: 4 }],
          },
        ],
      },
      't',
      {},
    );
    const m = config.models[0];
    assert.equal(m.routing.policy, 'prefix-affinity');
    assert.equal(m.routing.scrape_interval_ms, 250);
    assert.equal(m.circuit_breaker.ejection_ms, 10000);
    assert.equal(m.admission.max_queue_wait_ms, 10000);
    assert.match(problemsOf({ models: [{ name: 'a', routing: { policy: 'random' }, deployments: [{ provider: 'openai-compatible', url: 'http://h/v1' }] }] }).join('\n'), /^models\[0\]\.routing\.policy: /m);
  });
});
