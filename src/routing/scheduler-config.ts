// The `routing.scheduler` block of a model's config: which scorers (with weights) and filters the
// scheduler policy runs, by their names in scorers/index.ts. The deprecated
// `routing.scheduler_weights` means the same list with some default weights replaced.

import { z } from 'zod';
import {
  DEFAULT_SCHEDULER_FILTERS,
  DEFAULT_SCORERS,
  SCHEDULER_FILTER_NAMES,
  SCORER_NAMES,
  scorersFromLegacyWeights,
  type LegacySchedulerWeights,
  type SchedulerFilterName,
  type WeightedScorer,
} from './scorers/index.ts';

const scorerName = z.enum(SCORER_NAMES, { error: (issue) => `unknown scorer ${JSON.stringify(issue.input)}; expected one of ${SCORER_NAMES.join(', ')}` });
const filterName = z.enum(SCHEDULER_FILTER_NAMES, {
  error: (issue) => `unknown scheduler filter ${JSON.stringify(issue.input)}; expected one of ${SCHEDULER_FILTER_NAMES.join(', ')}`,
});

function noDuplicates(names: readonly string[], what: string, ctx: z.RefinementCtx, at: (i: number) => (string | number)[]): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: at(i), message: `${what} "${name}" is listed twice` });
    seen.add(name);
  });
}

export const schedulerSchema = z
  .strictObject({
    /** Summed in this order; a scorer left out is not used. Default: prefix-cache 3, queue 2, kv-cache 1, in-flight-tokens 1. */
    scorers: z
      .array(z.strictObject({ name: scorerName, weight: z.number().min(0) }))
      .refine((list) => list.some((s) => s.weight > 0), 'give at least one scorer a weight above 0 (with none, every pick would be at random)')
      .optional(),
    /** Applied in this order. Default: at-capacity, long-queue. */
    filters: z.array(filterName).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.scorers) noDuplicates(s.scorers.map((x) => x.name), 'scorer', ctx, (i) => ['scorers', i, 'name']);
    if (s.filters) noDuplicates(s.filters, 'filter', ctx, (i) => ['filters', i]);
  });

export const legacySchedulerWeightsSchema = z.strictObject({
  prefix_cache: z.number().min(0).optional(),
  queue: z.number().min(0).optional(),
  kv_cache: z.number().min(0).optional(),
  in_flight_tokens: z.number().min(0).optional(),
});

export interface ResolvedScheduler {
  scorers: WeightedScorer[];
  filters: SchedulerFilterName[];
}

/** The scheduler block with its defaults filled in, the deprecated weights mapped onto scorers. */
export function resolveScheduler(scheduler: z.infer<typeof schedulerSchema> | undefined, legacyWeights: LegacySchedulerWeights | undefined): ResolvedScheduler {
  return {
    scorers: scheduler?.scorers ?? (legacyWeights ? scorersFromLegacyWeights(legacyWeights) : DEFAULT_SCORERS.map((s) => ({ ...s }))),
    filters: scheduler?.filters ?? [...DEFAULT_SCHEDULER_FILTERS],
  };
}

/** The scorer list written as YAML, for telling a user what to put in place of scheduler_weights. */
export function scorersAsYaml(scorers: readonly WeightedScorer[]): string {
  return `[${scorers.map((s) => `{ name: ${s.name}, weight: ${s.weight} }`).join(', ')}]`;
}
