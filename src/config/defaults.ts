// The embedded default: one simulated model on two simulator replicas, no file needed.

export const DEFAULT_MODEL_NAME = 'sim-llama-3.1-8b';

export const DEFAULT_CONFIG = {
  models: [
    {
      name: DEFAULT_MODEL_NAME,
      deployments: [{ provider: 'simulator', replicas: 2, profile: 'h100-llama-3.1-8b' }],
    },
  ],
};
