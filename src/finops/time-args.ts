// Time arguments of reports and the CLI: durations (`30m`, `24h`, `7d`, `2w`) and instants
// (ISO date = UTC midnight, ISO date-time, `now`, or a duration meaning "that long ago").

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*([smhdw])$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Milliseconds in `7d`, `24h`, ...; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms > 0 ? ms : undefined;
}

/** Epoch ms for an instant argument; undefined when it is none of the accepted forms. */
export function parseInstant(text: string, now: number): number | undefined {
  const t = text.trim();
  if (t === 'now') return now;
  const ago = parseDuration(t);
  if (ago !== undefined) return now - ago;
  if (ISO_DATE.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  // Date-times need an explicit zone or are read as UTC, never as the server's local time.
  if (/^\d{4}-\d{2}-\d{2}T/.test(t)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t : `${t}Z`;
    const ms = Date.parse(zoned);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export const INSTANT_HELP = 'an ISO date (2026-11-01), an ISO date-time, "now", or a duration ago such as 7d, 24h, 30m';
