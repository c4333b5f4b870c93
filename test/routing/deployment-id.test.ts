// One deployment-id scheme: the registry (after the simulator launcher has expanded its replicas)
// and FinOps give every deployment the same id, so usage is priced against the right deployment.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { deploymentCostsFromModels } from '../../src/finops/deployments.ts';
import { deploymentId } from '../../src/routing/deployment-id.ts';
import { createModelRegistry, type ModelRegistry } from '../../src/routing/registry.ts';
import { launchSimulatorDeployments, stopSimulators, type SimulatorReplica } from '../../src/cli/simulator-replicas.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

describe('deploymentId', () => {
  it('is the configured id, else model#index, with -sim<r> for a simulator replica', () => {
    assert.equal(deploymentId('llama', 2), 'llama#2');
    assert.equal(deploymentId('llama', 2, 'gpu-a'), 'gpu-a');
    assert.equal(deploymentId('llama', 0, undefined, 1), 'llama#0-sim1');
    assert.equal(deploymentId('llama', 0, 'gpu-a', 3), 'gpu-a-sim3');
  });

  describe('registry and FinOps agree', () => {
    let replicas: SimulatorReplica[] = [];
    let registry: ModelRegistry | undefined;
    after(async () => {
      stopSimulators(replicas);
      await registry?.close();
    });

    it('for a model mixing simulator replicas and other deployments', async () => {
      // Two simulator replicas before a plain deployment: its position in the expanded list (2) is
      // not its position in the config (1), which is what its id is made of.
      const config = validateConfig(
        {
          models: [
            {
              name: 'm',
              deployments: [
                { provider: 'simulator', replicas: 2, time_scale: 0 },
                { provider: 'openai-compatible', url: 'http://127.0.0.1:9/v1', metrics_path: null },
                { provider: 'openai-compatible', id: 'named', url: 'http://127.0.0.1:9/v1', metrics_path: null },
              ],
            },
          ],
        },
        'test',
        {},
      );
      const launched = await launchSimulatorDeployments(config.models, createLogger('silent'));
      replicas = launched.replicas;
      registry = createModelRegistry(launched.models);
      const routed = registry.allDeployments().map((d) => d.id);
      assert.deepEqual(routed, ['m#0-sim0', 'm#0-sim1', 'm#1', 'named']);
      assert.deepEqual(
        deploymentCostsFromModels(config.models).map((d) => d.id),
        routed,
      );
    });
  });
});
