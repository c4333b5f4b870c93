// Money helpers. Budget counters hold integer micro-dollars (1e-6 USD): integer counters are exact
// and atomic on every counter backend, where summing floats would drift.

export const MICROS_PER_USD = 1_000_000;

/** Rounded to the nearest micro-dollar (spend already incurred). */
export function toMicros(usd: number): number {
  return Math.max(0, Math.round(usd * MICROS_PER_USD));
}

/** Rounded up (a reservation must never be smaller than the cost it stands for). */
export function toMicrosCeil(usd: number): number {
  return Math.max(0, Math.ceil(usd * MICROS_PER_USD - 1e-6));
}

export function fromMicros(micros: number): number {
  return micros / MICROS_PER_USD;
}

/** `$12.34`, or more digits for amounts under a cent (`$0.00042`). */
export function formatUsd(usd: number): string {
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toPrecision(2)}`;
  return `$${usd.toFixed(2)}`;
}
