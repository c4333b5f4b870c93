// Zod fields shared by the deployment schemas of several kinds. Field meanings are documented in
// docs/configuration.md (deployments) and docs/finops.md (GPU cost).

import { z } from 'zod';

const positiveInt = z.number().int().positive();
const usd = z.number().min(0);

export const deploymentUrl = z.url({ error: 'expected a URL such as http://127.0.0.1:8000/v1' });

/** Every deployment, whatever its kind, has these. */
export const commonDeploymentFields = {
  id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits, ".", "_", ":" or "-"').optional(),
  weight: z.number().positive().default(1),
  headers: z.record(z.string(), z.string()).default({}),
  /** Requests beyond this wait in the model's gateway queue instead of piling onto the deployment. */
  max_concurrency: positiveInt.optional(),
};

/** Self-hosted (not `hosted`) kinds have these: what the hardware behind the deployment costs. */
export const selfHostedCostFields = {
  /** Hourly price of one GPU (cloud list price or amortised purchase plus power). */
  gpu_hourly_usd: usd.optional(),
  /** GPUs serving this deployment (per replica for launched kinds). Default 1. */
  gpus: positiveInt.optional(),
};
