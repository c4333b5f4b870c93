// The provider registry: one definition per deployment kind, and config, routing and finops
// reading it instead of lists of their own.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEPLOYMENT_DEFINITIONS, DEPLOYMENT_KINDS, deploymentDefinition, isHosted, launchOf, resolveUpstream } from '../../src/providers/registry.ts';
import { deploymentSchema } from '../../src/config/schema.ts';
import { validateConfig } from '../../src/config/load.ts';
import { createModelRegistry, defaultPolicyName, type ModelRegistry } from '../../src/routing/registry.ts';
import { deploymentCostsFromModels } from '../../src/finops/deployments.ts';
import { CostModel } from '../../src/finops/cost-model.ts';
import { PriceBook } from '../../src/finops/pricing.ts';
import { SelfHostedRates } from '../../src/finops/self-hosted.ts';
import { finopsStores } from '../../src/store/finops/index.ts';
import { sqliteStore } from '../finops/support.ts';
import { ENGINES } from '../../src/providers/openai-compatible/quirks.ts';
import { deploymentId } from '../../src/routing/deployment-id.ts';

/** The smallest valid deployment of each kind. */
const MINIMAL: Record<string, Record<string, unknown>> = {
  'openai-compatible': { provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1' },
  openai: { provider: 'openai', api_key: 'sk-test' },
  anthropic: { provider: 'anthropic', api_key: 'sk-ant-test' },
  simulator: { provider: 'simulator' },
};

const config = (deployments: Record<string, unknown>[]) => validateConfig({ models: [{ name: 'm', deployments }] }, 'test', {});

describe('provider registry', () => {
  const registries: ModelRegistry[] = [];
  after(async () => {
    await Promise.all(registries.map((r) => r.close()));
  });

  it('has exactly one definition per kind, and the config union has exactly the registry kinds, in order', () => {
    const kinds = DEPLOYMENT_DEFINITIONS.map((d) => d.kind);
    assert.equal(new Set(kinds).size, kinds.length, 'a kind defined twice');
    assert.deepEqual([...DEPLOYMENT_KINDS], kinds);
    const unionKinds = deploymentSchema.options.map((o) => o.shape.provider.value);
    assert.deepEqual(unionKinds, kinds);
    for (const d of DEPLOYMENT_DEFINITIONS) assert.equal(d.schema.shape.provider.value, d.kind, `${d.kind}: its schema names another provider`);
    assert.deepEqual(Object.keys(MINIMAL).sort(), [...kinds].sort(), 'this test has no minimal deployment for some kind');
  });

  it('config accepts every registry kind and refuses any other, naming the registry kinds', () => {
    for (const kind of DEPLOYMENT_KINDS) assert.equal(config([MINIMAL[kind]]).models[0].deployments[0].provider, kind);
    assert.throws(() => config([{ provider: 'bedrock', url: 'http://127.0.0.1:9' }]), (err: Error) => {
      assert.match(err.message, new RegExp(`expected provider to be one of: ${DEPLOYMENT_KINDS.join(', ')}`));
      return true;
    });
    assert.throws(() => deploymentDefinition('bedrock'), /unknown deployment provider "bedrock"/);
  });

  it('gives self-hosted kinds the GPU cost fields and refuses them on hosted ones', () => {
    for (const kind of DEPLOYMENT_KINDS) {
      const parsed = deploymentSchema.safeParse({ ...MINIMAL[kind], gpu_hourly_usd: 2.49, gpus: 8 });
      assert.equal(parsed.success, !isHosted(kind), `${kind}: GPU cost fields ${parsed.success ? 'accepted' : 'refused'}`);
      if (parsed.success) assert.deepEqual([(parsed.data as { gpu_hourly_usd?: number }).gpu_hourly_usd, (parsed.data as { gpus?: number }).gpus], [2.49, 8]);
    }
    assert.equal(deploymentSchema.safeParse({ ...MINIMAL['openai-compatible'], gpus: 0 }).success, false);
    assert.deepEqual(DEPLOYMENT_KINDS.filter(isHosted), ['openai', 'anthropic']);
  });

  it('builds deployments from their definitions: the adapter, the target and the probes', () => {
    const registry = createModelRegistry(
      config([
        { provider: 'openai-compatible', engine: 'vllm', url: 'http://10.0.0.5:8000/v1/', model: 'meta/llama', api_key: 'k', headers: { 'x-org': 'o' } },
        { provider: 'openai-compatible', engine: 'ollama', url: 'http://10.0.0.6:11434/v1' },
        { provider: 'openai-compatible', engine: 'vllm', url: 'http://10.0.0.7:8000/v1', health_path: '/ready', metrics_path: null },
        { provider: 'openai', api_key: 'sk-test', id: 'hosted' },
        { provider: 'anthropic', api_key: 'sk-ant-test' },
      ]).models,
    );
    registries.push(registry);
    const seen = registry.get('m')!.deployments.map((d) => ({ id: d.id, kind: d.adapter.kind, url: d.target.baseUrl, model: d.target.upstreamModel, health: d.healthUrl, metrics: d.metricsUrl }));
    assert.deepEqual(seen, [
      { id: 'm#0', kind: 'openai-compatible', url: 'http://10.0.0.5:8000/v1/', model: 'meta/llama', health: 'http://10.0.0.5:8000/health', metrics: 'http://10.0.0.5:8000/metrics' },
      { id: 'm#1', kind: 'openai-compatible', url: 'http://10.0.0.6:11434/v1', model: 'm', health: 'http://10.0.0.6:11434/v1/models', metrics: null },
      { id: 'm#2', kind: 'openai-compatible', url: 'http://10.0.0.7:8000/v1', model: 'm', health: 'http://10.0.0.7:8000/ready', metrics: null },
      { id: 'hosted', kind: 'openai', url: 'https://api.openai.com/v1', model: 'm', health: null, metrics: null },
      { id: 'm#4', kind: 'anthropic', url: 'https://api.anthropic.com', model: 'm', health: null, metrics: null },
    ]);
    const first = registry.get('m')!.deployments[0];
    assert.deepEqual([first.target.apiKey, first.target.headers], ['k', { 'x-org': 'o' }]);
  });

  it('every engine gets a probe at its server root', () => {
    for (const engine of ENGINES) {
      const upstream = resolveUpstream(config([{ provider: 'openai-compatible', engine, url: 'http://h:1/v1' }]).models[0].deployments[0])!;
      assert.ok(upstream.probes.health?.startsWith('http://h:1/'), `${engine}: ${upstream.probes.health}`);
      assert.ok(upstream.probes.metrics === null || upstream.probes.metrics.startsWith('http://h:1/'), `${engine}: ${upstream.probes.metrics}`);
    }
  });

  it('serves a launched kind as replicas of the upstream provider its definition names, with valid configs', () => {
    const [simulator] = config([{ provider: 'simulator', id: 'sim', replicas: 2, gpu_hourly_usd: 1.5, gpus: 2, weight: 3, max_concurrency: 8 }]).models[0].deployments;
    assert.equal(resolveUpstream(simulator), undefined);
    assert.throws(() => createModelRegistry(config([simulator]).models), /simulator deployments must be launched/);
    const launch = launchOf('simulator')!;
    assert.equal(launchOf('openai-compatible'), undefined);
    const replica = (launch.replica as (d: unknown, r: { id: string; url: string }, model: string) => unknown)(simulator, { id: deploymentId('m', 0, 'sim', 1), url: 'http://127.0.0.1:4321' }, 'm');
    // What the launcher puts in the simulator's place is a valid config of the provider it is served as.
    const parsed = deploymentSchema.parse(replica);
    assert.equal(parsed.provider, launch.servedAs);
    const upstream = resolveUpstream(parsed)!;
    assert.deepEqual(
      { id: parsed.id, url: upstream.config.url, health: upstream.probes.health, metrics: upstream.probes.metrics, weight: parsed.weight, max: parsed.max_concurrency },
      { id: 'sim-sim1', url: 'http://127.0.0.1:4321/v1', health: 'http://127.0.0.1:4321/health', metrics: 'http://127.0.0.1:4321/metrics', weight: 3, max: 8 },
    );
    assert.deepEqual([(parsed as { gpu_hourly_usd?: number }).gpu_hourly_usd, (parsed as { gpus?: number }).gpus], [1.5, 2]);
  });

  it('picks the scheduler by default only when no deployment is hosted', () => {
    const model = (...kinds: string[]) => config(kinds.map((k) => MINIMAL[k])).models[0];
    assert.equal(defaultPolicyName(model('openai-compatible', 'simulator')), 'scheduler');
    assert.equal(defaultPolicyName(model('openai-compatible', 'anthropic')), 'weighted');
    assert.equal(defaultPolicyName(model('openai')), 'weighted');
  });

  it('finops reads hosted-ness from the registry and names replicas as the launcher does', async () => {
    const models = DEPLOYMENT_KINDS.map((kind) => ({ name: `on-${kind}`, deployments: [kind === 'simulator' ? MINIMAL[kind] : { ...MINIMAL[kind], model: 'no-such-priced-model' }] }));
    const specs = deploymentCostsFromModels(validateConfig({ models }, 'test', {}).models);
    assert.deepEqual(
      specs.map((s) => [s.id, s.provider, s.hosted]),
      DEPLOYMENT_KINDS.map((kind) => {
        const launch = launchOf(kind);
        return [deploymentId(`on-${kind}`, 0, undefined, launch ? 0 : undefined), launch ? launch.servedAs : kind, isHosted(kind)];
      }),
    );
    const store = await sqliteStore();
    try {
      const costs = new CostModel(new PriceBook(), new SelfHostedRates(finopsStores(store.sql).ledger, specs), specs);
      // An unpriced model escapes budgets only when it is hosted; a self-hosted one without GPU costs is free.
      assert.deepEqual(costs.unpricedHostedModels(), DEPLOYMENT_KINDS.filter(isHosted).map((k) => `on-${k}`));
    } finally {
      await store.close();
    }
  });
});
