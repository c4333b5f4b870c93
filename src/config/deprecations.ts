// Settings that still work but have a newer spelling: one line each for `check-config` and
// `serve` to show, saying exactly what to write instead.

import { scorersAsYaml } from '../routing/scheduler-config.ts';
import type { SwitchyardConfig } from './schema.ts';

export function deprecationNotes(config: SwitchyardConfig): string[] {
  const notes: string[] = [];
  config.models.forEach((model, i) => {
    if (model.routing.scheduler_weights === undefined) return;
    notes.push(
      `models[${i}].routing.scheduler_weights is deprecated (it still works): write routing.scheduler.scorers: ${scorersAsYaml(model.routing.scheduler.scorers)} instead, the same weights.`,
    );
  });
  return notes;
}
