// Start-up, health, readiness, metrics, graceful shutdown and check-config, as a user meets them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { REPO_ROOT, startGateway, startSimulatorProcess, writeConfig } from '../support/processes.ts';

const run = promisify(execFile);
const MODEL = 'sim-llama-3.1-8b';

describe('gateway lifecycle', () => {
  it('starts on the embedded default with no config: two simulator replicas, a data dir, a helpful banner', async () => {
    const gateway = await startGateway({ args: ['--log-level', 'warn'] });
    try {
      const out = gateway.output();
      assert.match(out, /Models: sim-llama-3\.1-8b/);
      assert.match(out, /curl http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
      assert.match(out, /loopback only/);
      const dataDir = /Data: (\S+)switchyard\.db/.exec(out)?.[1];
      assert.ok(dataDir && existsSync(join(dataDir, 'switchyard.db')), 'SQLite database created in the data dir');

      const ready = await fetch(`${gateway.url}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as { models: Record<string, { healthy: number; total: number }> };
      assert.deepEqual(body.models[MODEL], { healthy: 2, total: 2 });

      const health = await fetch(`${gateway.url}/healthz`);
      assert.equal(health.status, 200);

      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200, 'curl-style request without content-type works');
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
  });

  it('exposes Prometheus metrics for requests, latency, TTFT, tokens, upstream errors and in-flight', async () => {
    const gateway = await startGateway({
      config: { models: [{ name: MODEL, deployments: [{ provider: 'simulator', replicas: 1, time_scale: 0 }] }] },
    });
    try {
      for (const stream of [false, true]) {
        const res = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream }),
        });
        await res.text();
      }
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      assert.match(text, /switchyard_requests_total\{model="sim-llama-3\.1-8b",endpoint="\/v1\/chat\/completions",status="200"\} 2/);
      assert.match(text, /switchyard_request_duration_seconds_count\{model="sim-llama-3\.1-8b",endpoint="\/v1\/chat\/completions"\} 2/);
      assert.match(text, /switchyard_time_to_first_token_seconds_count\{model="sim-llama-3\.1-8b"\} 1/);
      assert.match(text, /switchyard_tokens_total\{model="sim-llama-3\.1-8b",direction="out"\} (\d+)/);
      assert.match(text, /# TYPE switchyard_upstream_errors_total counter/);
      assert.match(text, /switchyard_requests_in_flight\{model="sim-llama-3\.1-8b"\} 0/);
      assert.match(text, /switchyard_deployment_healthy\{model="sim-llama-3\.1-8b",deployment="[^"]+"\} 1/);
    } finally {
      await gateway.stop();
    }
  });

  it('reports not ready when every deployment of a model is down', async () => {
    const sim = await startSimulatorProcess(['--model', MODEL]);
    const gateway = await startGateway({
      config: {
        health_check_interval_ms: 200,
        models: [{ name: MODEL, deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: `${sim.url}/v1` }] }],
      },
    });
    try {
      assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
      await sim.stop('SIGKILL');
      const deadline = Date.now() + 5000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await fetch(`${gateway.url}/readyz`)).status;
      }
      assert.equal(status, 503);
      assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200, 'the process itself is alive');
    } finally {
      await gateway.stop();
    }
  });

  it('finishes in-flight streams on SIGTERM, refuses new connections, and exits 0', async () => {
    const gateway = await startGateway({
      config: { models: [{ name: MODEL, deployments: [{ provider: 'simulator', replicas: 1, time_scale: 1 }] }] },
    });
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 150, ignore_eos: true, stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    const exit = gateway.stop('SIGTERM');
    let body = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += decoder.decode(value);
    }
    assert.match(body, /data: \[DONE\]\n\n$/, 'the in-flight stream completed');
    assert.equal(await exit, 0);
    await assert.rejects(fetch(`${gateway.url}/healthz`));
  });
});

describe('switchyard check-config', () => {
  const cli = (file: string) => run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'check-config', file], { cwd: REPO_ROOT });

  it('accepts a valid file', async () => {
    const file = writeConfig({
      models: [
        { name: 'llama', deployments: [{ provider: 'openai-compatible', engine: 'vllm', url: 'http://10.0.0.5:8000/v1', weight: 2 }] },
        { name: 'gpt-4o-mini', deployments: [{ provider: 'openai', api_key: '${TEST_OPENAI_KEY:-sk-placeholder}' }] },
      ],
    });
    const { stdout } = await cli(file);
    assert.match(stdout, /OK \(2 model\(s\), 2 deployment\(s\)\)/);
  });

  it('accepts the deprecated scheduler_weights with a warning that says what to write instead, as serve does at start-up', async () => {
    const config = {
      models: [{ name: 'llama', routing: { scheduler_weights: { queue: 4 } }, deployments: [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1', metrics_path: null }] }],
    };
    const expected = /models\[0\]\.routing\.scheduler_weights is deprecated \(it still works\): write routing\.scheduler\.scorers: \[\{ name: prefix-cache, weight: 3 \}, \{ name: queue, weight: 4 \}/;
    const { stdout, stderr } = await cli(writeConfig(config));
    assert.match(stdout, /OK \(1 model\(s\), 1 deployment\(s\)\)/);
    assert.match(stderr, new RegExp(`: warning: ${expected.source}`));
    const gateway = await startGateway({ config: { ...config, log_level: 'warn' } });
    try {
      assert.match(gateway.output(), new RegExp(`^  ${expected.source}`, 'm'), 'in the banner');
      // Log lines are written at least every second.
      const logged = new RegExp(`"msg":"${expected.source}`);
      for (let i = 0; i < 100 && !logged.test(gateway.output()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(gateway.output(), logged, 'in the log');
    } finally {
      await gateway.stop();
    }
  });

  it('names an unknown scorer and the ones that exist', async () => {
    const file = writeConfig({
      models: [{ name: 'llama', routing: { scheduler: { scorers: [{ name: 'prefix_cache', weight: 3 }] } }, deployments: [{ provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1' }] }],
    });
    const err = await cli(file).then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /models\[0\]\.routing\.scheduler\.scorers\[0\]\.name: unknown scorer "prefix_cache"; expected one of prefix-cache, queue, kv-cache, in-flight-tokens/);
  });

  it('reports every problem with its path and exits non-zero', async () => {
    const file = writeConfig({
      server: { port: 'eighty' },
      models: [
        { name: 'a', deployments: [{ provider: 'openai-compatible', url: 'http://h:1/v1' }] },
        { name: 'b', deployments: [{ provider: 'openai-compatible', url: 'http://h:1/v1' }] },
        { name: 'c', deployments: [{ provider: 'openai-compatible', url: 'not a url' }, { provider: 'mystery' }] },
        { name: 'd', deployments: [{ provider: 'anthropic', api_key: '${SWITCHYARD_TEST_UNSET_VAR}' }] },
      ],
    });
    const err = await cli(file).then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /server\.port: /);
    assert.match(err.stderr, /models\[2\]\.deployments\[0\]\.url: expected a URL/);
    assert.match(err.stderr, /models\[2\]\.deployments\[1\]\.provider: expected provider to be one of/);
    assert.match(err.stderr, /models\[3\]\.deployments\[0\]\.api_key: environment variable SWITCHYARD_TEST_UNSET_VAR is not set/);
  });

  it('reports YAML syntax errors with line numbers', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'sy-')), 'bad.yaml');
    writeFileSync(file, 'models:\n  - name: a\n   deployments: [\n');
    const err = await cli(file).then(
      () => assert.fail('expected a non-zero exit'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /line \d+, column \d+/);
  });
});
